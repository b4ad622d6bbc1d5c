package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// TestAccTenant_lifecycle: a tenant's namespace, phase and effective quota,
// and import.
func TestAccTenant_lifecycle(t *testing.T) {
	testAccPreCheck(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: platformConfig(researchTenant),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("namespace"), knownvalue.StringExact("research")),
					statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("phase"), knownvalue.StringExact("Active")),
					statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("effective_gpu_quota"), knownvalue.MapExact(map[string]knownvalue.Check{
						"NVIDIA-H100": effective(8, 4, "tenant", "tenant"),
						"NVIDIA-A100": effective(4, 2, "tenant-default", "tenant-default"),
					})),
				},
				Check: checkLabelled(t, "research", map[string]string{"cost-center": "r-42", platform.LabelTenant: "research"}),
			},
			{ResourceName: "gpuplane_tenant.research", ImportState: true, ImportStateId: "research", ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
		},
	})
}

// TestAccTenant_deletionPolicy: restrict refuses to destroy a tenant that
// still has projects (here one made by another configuration, which
// Terraform cannot order before the tenant); cascade destroys them with it,
// leaving nothing labelled.
func TestAccTenant_deletionPolicy(t *testing.T) {
	testAccPreCheck(t)
	tenant := func(policy string) string { return platformConfig(fmt.Sprintf("  deletion_policy = %q", policy)) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: tenant("restrict")},
			{
				PreConfig:   func() { createForeignProject(t, "research", "stray") },
				Config:      tenant("restrict"),
				Destroy:     true,
				ExpectError: wrapped(`Tenant "research" still has projects stray`, `deletion_policy = "cascade"`),
			},
			{
				Config: tenant("restrict"),
				Check: func(*terraform.State) error {
					if !exists(t, namespaceGVR, "", "research") || !exists(t, crds.Projects, "research-stray", "stray") {
						return fmt.Errorf("a refused destroy deleted something")
					}
					return nil
				},
			},
			// The last destroy cascades to the stray project.
			{Config: tenant("cascade")},
		},
	})
}

// createForeignProject makes a project of tenant the way another gpuplane
// configuration would: labelled namespace and Project object.
func createForeignProject(t *testing.T, tenant, name string) {
	t.Helper()
	c := testClient(t)
	ctx := context.Background()
	ns := tenant + "-" + name
	labels := platform.ProjectLabels(tenant, name, nil, nil)
	if err := platform.ApplyNamespace(ctx, c, ns, labels); err != nil {
		t.Fatal(err)
	}
	obj, err := crds.New("Project", ns, name, labels, &crds.ProjectSpec{Tenant: tenant, Project: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, crds.Projects, obj); err != nil {
		t.Fatal(err)
	}
}
