package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

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
	tenant := func(policy string, extra ...string) string {
		return platformConfig(fmt.Sprintf("  deletion_policy = %q\n%s", policy, strings.Join(extra, "\n")))
	}
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
			{Config: tenant("cascade")},
			{
				// With cascade, deletion protection counts the projects' workloads too.
				PreConfig: func() {
					if err := createGPUPod(testClient(t).Typed, "research-stray", "notebook", "", 0); err != nil {
						t.Fatal(err)
					}
				},
				Config:      tenant("cascade"),
				Destroy:     true,
				ExpectError: wrapped("Deletion protection", `Deleting tenant "research"`, "research-stray/notebook"),
			},
			// The last destroy cascades to the stray project, its pod included.
			{Config: tenant("cascade", "  deletion_protection = false")},
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

// TestAccTenant_valuesKnownOnlyAtApply: a tenant whose admin groups and
// labels come from another resource of the same apply (an identity
// provider's group) is still checked, and its projects against it; so is a
// catalog some of whose families are known only at apply.
func TestAccTenant_valuesKnownOnlyAtApply(t *testing.T) {
	testAccPreCheck(t)
	config := func(group string, tenantLimit, projectLimit int) string {
		return fmt.Sprintf(`
resource "terraform_data" "idp_group" { input = %[1]q }
`, group) + platformConfig(fmt.Sprintf(`
  admin_groups = [terraform_data.idp_group.output]
  labels       = { "team" = terraform_data.idp_group.output }
  gpu_quota    = { limits = { "NVIDIA-H100" = %d } }
`, tenantLimit)) + projectConfig("vision", fmt.Sprintf(`gpu_quota = { limits = { "NVIDIA-H100" = %d } }`, projectLimit))
	}
	partlyKnownCatalog := `
resource "terraform_data" "resource_name" { input = "nvidia.com/gpu-b200" }
resource "gpuplane_dataplane" "main" {
  name = "main"
  gpu_families = {
    "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100" }
    "NVIDIA-B200" = { resource_name = terraform_data.resource_name.output }
  }
}
resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
  gpu_quota = { limits = { "NVIDIA-V100" = 1 } }
}`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				// Before: "Tenant research does not exist and is not planned".
				Config:      config("research-admins", 8, 16),
				PlanOnly:    true,
				ExpectError: wrapped(`project "vision", family NVIDIA-H100: gpu_quota.limits["NVIDIA-H100"] = 16 (from project) exceeds tenant "research"'s limit of 8`),
			},
			{
				Config: config("research-admins", 8, 4),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectKnownValue("gpuplane_project.vision",
						tfjsonpath.New("effective_gpu_quota").AtMapKey("NVIDIA-H100").AtMapKey("limit"), knownvalue.Int64Exact(4))},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: checkLabelled(t, "research-vision", map[string]string{"team": "research-admins"}),
			},
			{
				// An existing tenant lowered while its groups change: the
				// project is checked against the planned limit (2), not the
				// live one (8).
				Config:      config("research-admins-v2", 2, 4),
				PlanOnly:    true,
				ExpectError: wrapped(`gpu_quota.limits["NVIDIA-H100"] = 4 (from project) exceeds tenant "research"'s limit of 2`),
			},
			{
				// Families are known, their resources not yet: keys are checked.
				Config:      partlyKnownCatalog,
				PlanOnly:    true,
				ExpectError: wrapped(`gpu_quota.limits["NVIDIA-V100"] names "NVIDIA-V100", which is not a GPU family of the dataplane`),
			},
		},
	})
}

// TestAccTenant_computeCapacityPlannedWithCatalog: a tenant planned with its
// dataplane in one run counts its computes' GPUs with the families' node
// selectors, as apply does (no "inconsistent result after apply").
func TestAccTenant_computeCapacityPlannedWithCatalog(t *testing.T) {
	testAccPreCheck(t)
	fakeGPUNode(t, "cap-h100", map[string]string{"pool": "cap", "gpu": "h100"}, map[string]int64{"nvidia.com/gpu-h100": 8})
	fakeGPUNode(t, "cap-other", map[string]string{"pool": "cap"}, map[string]int64{"nvidia.com/gpu-h100": 8})
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{{
			Config: `
resource "gpuplane_dataplane" "main" {
  name         = "main"
  gpu_families = { "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100", node_selector = { "gpu" = "h100" } } }
}
resource "gpuplane_compute" "cap" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "cap-pool"
  node_selector = { "pool" = "cap" }
}
resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
  computes  = [gpuplane_compute.cap.name]
}`,
			ConfigStateChecks: []statecheck.StateCheck{
				statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("compute_gpu_capacity"),
					knownvalue.MapExact(map[string]knownvalue.Check{"NVIDIA-H100": knownvalue.Int64Exact(8)})),
			},
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		}},
	})
}

// TestAccTenant_changeReachesProjectsManagedElsewhere: a tenant's apply
// rewrites what its projects derive from it (quota, per-pod cap, labels),
// also for a project another configuration manages.
func TestAccTenant_changeReachesProjectsManagedElsewhere(t *testing.T) {
	testAccPreCheck(t)
	tenant := func(limit, costCenter string) string {
		return platformConfig(fmt.Sprintf(`
  deletion_policy = "cascade"
  labels          = { "cost-center" = %q }
  gpu_quota       = { limits = { "NVIDIA-H100" = %s }, requests = { "NVIDIA-H100" = 2 } }
`, costCenter, limit))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: tenant("8", "r-42")},
			{
				PreConfig: func() { createForeignProject(t, "research", "stray") },
				Config:    tenant("6", "r-43"),
				Check: resource.ComposeAggregateTestCheckFunc(
					checkH100Quota(t, "research-stray", 6),
					checkLabelled(t, "research-stray", map[string]string{"cost-center": "r-43", platform.LabelProject: "stray"}),
					func(*terraform.State) error {
						p, err := platform.FindProject(context.Background(), testClient(t), "research", "stray", "")
						if err != nil || p == nil || p.MaxPerPod["nvidia.com/gpu-h100"] != 2 {
							return fmt.Errorf("stray's per-pod cap: %+v, %v; want nvidia.com/gpu-h100 = 2", p, err)
						}
						return nil
					},
				),
			},
		},
	})
}

// TestAccTenant_cascadeStuckNamespace: a tenant's cascade waits for each
// project namespace; one held by a finalizer gpuplane does not own times
// out with the configured timeout and an error that lists what is left,
// finalizers are never stripped, and the next destroy resumes.
func TestAccTenant_cascadeStuckNamespace(t *testing.T) {
	testAccPreCheck(t)
	const finalizer = "example.com/hold"
	config := platformConfig("  deletion_policy = \"cascade\"\n  timeouts = { delete = \"8s\" }")
	ctx := context.Background()
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: config,
				Check: func(*terraform.State) error {
					createForeignProject(t, "research", "stray")
					cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{finalizer}}}
					_, err := testClient(t).Typed.CoreV1().ConfigMaps("research-stray").Create(ctx, cm, metav1.CreateOptions{})
					return err
				},
			},
			{
				Config:      config,
				Destroy:     true,
				ExpectError: wrapped(`namespace "research-stray" is still terminating`, "does not strip finalizers", "What is left", finalizer),
			},
			{
				// Nothing was stripped: the ConfigMap still holds its finalizer.
				PreConfig: func() {
					c := testClient(t).Typed
					live, err := c.CoreV1().ConfigMaps("research-stray").Get(ctx, "held", metav1.GetOptions{})
					if err != nil || len(live.Finalizers) != 1 {
						t.Fatalf("the held ConfigMap lost its finalizer or is gone: %v, %v", live, err)
					}
					live.Finalizers = nil
					if _, err := c.CoreV1().ConfigMaps("research-stray").Update(ctx, live, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
					// The namespace controller finishes what the timed-out destroy began.
					err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
						return !exists(t, namespaceGVR, "", "research-stray"), nil
					})
					if err != nil {
						t.Fatal("namespace research-stray remains after its finalizer was released")
					}
				},
				// The test's destroy resumes and completes.
				Config: config,
			},
		},
	})
}
