package provider

// Plan-time behaviour of gpuplane_project: the quota rules end to end,
// identity, empty collections and the below-usage warning.

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// foreignNamespace is a namespace another tool made.
const foreignNamespace = "made-by-hand"

// TestAccProject_planTimeRules: a broken quota rule fails the plan end to
// end, with the tenant and project planned in the same run (the plan cache),
// names the attribute, the values and the fix, and writes nothing. The rules
// themselves are unit-tested in internal/quota (check_test.go); these cases
// cover what only the provider does: parsing counts, reading the planned
// tenant and sibling projects, derived names and reserved labels.
func TestAccProject_planTimeRules(t *testing.T) {
	testAccPreCheck(t)
	tenant := func(q string) string {
		return platformConfig("  gpu_quota = "+q+"\n  computes = [gpuplane_compute.h100.name]") + `
resource "gpuplane_compute" "h100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "h100-pool"
  node_selector = { "pool" = "h100" }
}
`
	}
	okTenant := tenant(`{ limits = { "NVIDIA-H100" = 8, "Default" = 4 }, requests = { "NVIDIA-H100" = 4 } }`)
	createNamespace(t, foreignNamespace)
	createNamespace(t, "owned-elsewhere")
	if err := platform.ApplyNamespace(context.Background(), testClient(t), "owned-elsewhere", platform.ProjectLabels("other", "team", nil, nil)); err != nil {
		t.Fatal(err)
	}
	for name, tc := range projectPlanCases(tenant, okTenant) {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tc.config,
					PlanOnly:    true,
					ExpectError: wrapped(tc.want...),
				}},
			})
			// Nothing was written: the plan failed before any apply.
			if exists(t, crds.Dataplanes, "", "main") || exists(t, namespaceGVR, "", "research") {
				t.Fatal("a failed plan wrote to the cluster")
			}
		})
	}
}

// TestAccProject_emptyCollections: modules pass empty maps and lists as
// defaults; they mean the same as omitted, on every resource, and show no
// diff after apply.
func TestAccProject_emptyCollections(t *testing.T) {
	testAccPreCheck(t)
	config := `
resource "gpuplane_dataplane" "main" {
  name         = "main"
  gpu_families = { "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100", node_selector = {} } }
}
resource "gpuplane_compute" "pool" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "empty-pool"
  node_selector = { "pool" = "empty" }
  tolerations   = []
}
resource "gpuplane_tenant" "research" {
  dataplane    = gpuplane_dataplane.main.name
  name         = "research"
  admin_groups = []
  computes     = []
  labels       = {}
  gpu_quota    = { limits = { "NVIDIA-H100" = 8 }, requests = {} }
}
resource "gpuplane_project" "vision" {
  tenant       = gpuplane_tenant.research.name
  name         = "vision"
  role_mapping = { viewer = [], admin = ["vision-leads"] }
  labels       = {}
  gpu_quota    = { limits = {}, requests = {} }
}
resource "gpuplane_tenant_membership" "bob" {
  tenant   = gpuplane_tenant.research.name
  subject  = { kind = "User", name = "bob@example.com" }
  role     = "viewer"
  projects = []
  depends_on = [gpuplane_project.vision]
}
`
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{{
			Config: config,
			ConfigPlanChecks: resource.ConfigPlanChecks{
				PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
			},
			ConfigStateChecks: []statecheck.StateCheck{
				// An empty project quota inherits the tenant's.
				statecheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("effective_gpu_quota").AtMapKey("NVIDIA-H100"),
					effective(8, 8, "inherited", "inherited")),
				statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("compute_gpu_capacity"), knownvalue.Null()),
			},
			// projects = [] covers every project, like an omitted list.
			Check: checkAccess(t, access{"bob@example.com", nil, "research-vision", "get", "pods", true}),
		}},
	})
}

// TestAccProject_belowUsageCountsPods: the below-usage warning (rule 6)
// counts what a namespace uses also for a family its quota did not count
// before (no limit, so no key in the quota's status), from its pods, and
// adds up a tenant's namespaces.
func TestAccProject_belowUsageCountsPods(t *testing.T) {
	testAccPreCheck(t)
	c := testClient(t)
	for _, ns := range []string{"usage-a", "usage-b"} {
		createNamespace(t, ns)
		if err := createGPUPod(c.Typed, ns, "train", "nvidia.com/gpu-h100", 3); err != nil {
			t.Fatal(err)
		}
	}
	cat := quota.Catalog{"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"}}
	eff := quota.TenantEffective(quota.Quota{Limits: map[string]int64{"NVIDIA-H100": 4}}, cat.Names())
	for _, tc := range []struct {
		namespaces []string
		want       string
	}{
		{[]string{"usage-a"}, ""},
		{[]string{"usage-a", "usage-b"}, `tenant "research", family NVIDIA-H100: 6 GPUs are in use and the new limit is 4`},
	} {
		var diags diag.Diagnostics
		warnBelowUsage(context.Background(), c, cat, eff, tc.namespaces, `tenant "research"`, &diags)
		got := ""
		for _, d := range diags.Warnings() {
			got += d.Detail()
		}
		if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
			t.Errorf("%v: warnings %q, want %q", tc.namespaces, got, tc.want)
		}
	}
}

// projectPlanCases are TestAccProject_planTimeRules's configurations, each
// with the parts of the error it must fail with, in order.
func projectPlanCases(tenant func(string) string, okTenant string) map[string]struct {
	config string
	want   []string
} {
	return map[string]struct {
		config string
		want   []string
	}{
		"project limit above tenant": {okTenant + projectConfig("vision", `gpu_quota = { limits = { "NVIDIA-H100" = 16 } }`),
			[]string{`project "vision", family NVIDIA-H100: gpu_quota.limits["NVIDIA-H100"] = 16 (from project) exceeds tenant "research"'s limit of 8`, "at most 8"}},
		"fraction of a GPU": {tenant(`{ limits = { "NVIDIA-H100" = 0.5 } }`),
			[]string{`gpu_quota.limits["NVIDIA-H100"] = 0.5`, "whole GPUs", "MIG profile"}},
		"negative": {tenant(`{ limits = { "Default" = -1 } }`), []string{`gpu_quota.limits["Default"] = -1`}},
		"projects add up above the tenant": {okTenant +
			projectConfig("vision", `gpu_quota = { limits = { "NVIDIA-H100" = 6, "Default" = 2 } }`) +
			projectConfig("nlp", `gpu_quota = { limits = { "NVIDIA-H100" = 6, "Default" = 2 } }`),
			[]string{`family NVIDIA-H100: the projects' limits add up to 12`, "nlp = 6 (project), vision = 6 (project)", "limit of 8", "overcommit = true"}},
		"compute not attached to the tenant": {okTenant + projectConfig("vision", `compute = "a100-pool"`),
			[]string{`compute = "a100-pool"`, `tenant "research"'s computes are [h100-pool]`}},
		"namespace too long": {okTenant + projectConfig(strings.Repeat("p", 60), ``),
			[]string{"Project namespace name too long", "(69 characters)", "set namespace explicitly"}},
		"tenant referenced by a plain string that does not exist": {platformConfig("") + `
resource "gpuplane_project" "orphan" {
  tenant = "nobody"
  name   = "orphan"
}`, []string{`Tenant "nobody" does not exist`, "tenant = gpuplane_tenant.nobody.name"}},
		// A project labelled as a membership's binding would lose its own
		// RoleBindings to the membership sync.
		"project label with gpuplane's membership key": {okTenant + projectConfig("vision", `labels = { "tenancy.gpuplane.dev/membership" = "research.x" }`),
			[]string{"Reserved label key", `labels["tenancy.gpuplane.dev/membership"]`, "example.com/membership"}},
		"tenant label with a key of gpuplane's subdomain": {platformConfig(`  labels = { "attached.tenancy.gpuplane.dev/other" = "true" }`),
			[]string{"Reserved label key", `labels["attached.tenancy.gpuplane.dev/other"]`}},
		"project label with the managed-by key": {okTenant + projectConfig("vision", `labels = { "app.kubernetes.io/managed-by" = "me" }`),
			[]string{"Reserved label key", `labels["app.kubernetes.io/managed-by"]`}},
		// Identity: a project is its tenant and name; a namespace has one owner.
		"two project resources with one name in a tenant": {okTenant + projectConfig("vision", ``) + `
resource "gpuplane_project" "vision_again" {
  tenant    = gpuplane_tenant.research.name
  name      = "vision"
  namespace = "research-vision-2"
}`, []string{"Duplicate project", `named "vision" in tenant "research"`, "count twice against the tenant"}},
		"a tenant and a project that want one namespace": {okTenant + projectConfig("vision", ``) + `
resource "gpuplane_tenant" "research_vision" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research-vision"
}`, []string{"Namespace claimed twice", `use namespace "research-vision"`, "belongs to one tenant or project"}},
		"project namespace kube-system": {okTenant + projectConfig("vision", `namespace = "kube-system"`),
			[]string{"System namespace", `project "research/vision" would use namespace "kube-system"`}},
		"tenant named default": {strings.Replace(okTenant, `name      = "research"`, `name      = "default"`, 1),
			[]string{"System namespace", `tenant "default" would use namespace "default"`}},
		"project in a namespace another project owns": {okTenant + projectConfig("vision", `namespace = "owned-elsewhere"`),
			[]string{"Namespace not available", `namespace "owned-elsewhere" already belongs to project "other/team"`}},
		"project in a namespace gpuplane did not create": {okTenant + projectConfig("vision", `namespace = "`+foreignNamespace+`"`),
			[]string{"Namespace not available", `namespace "` + foreignNamespace + `" already exists and was not created by gpuplane`}},
	}
}
