package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// testDataplaneConfig is a dataplane with an H100 family and, when extra is
// set, an A100 MIG family and a DRA family.
func testDataplaneConfig(name string, extra bool) string {
	families := `
    "NVIDIA-H100" = {
      resource_name = "nvidia.com/gpu-h100"
      node_selector = { "gpu.example.com/family" = "h100" }
    }`
	if extra {
		families += `
    "NVIDIA-A100-1g" = {
      resource_name = "nvidia.com/mig-1g.10gb"
      node_selector = { "gpu.example.com/family" = "a100" }
    }
    "NVIDIA-B200" = { device_class = "b200.nvidia.com" }`
	}
	return fmt.Sprintf(`
resource "gpuplane_dataplane" "main" {
  name = %[1]q
  gpu_families = {%[2]s
  }
}
`, name, families)
}

func TestAccDataplane_lifecycle(t *testing.T) {
	testAccPreCheck(t)
	fakeGPUNode(t, "dp-h100-a", map[string]string{"gpu.example.com/family": "h100"}, map[string]int64{"nvidia.com/gpu-h100": 8})
	fakeGPUNode(t, "dp-h100-b", map[string]string{"gpu.example.com/family": "h100"}, map[string]int64{"nvidia.com/gpu-h100": 8})
	fakeGPUNode(t, "dp-a100-a", map[string]string{"gpu.example.com/family": "a100"}, map[string]int64{"nvidia.com/mig-1g.10gb": 7})
	// A node without the family's label does not count, whatever it holds.
	fakeGPUNode(t, "dp-stray", nil, map[string]int64{"nvidia.com/gpu-h100": 4})

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkDataplaneDestroyed("main"),
		Steps: []resource.TestStep{
			{
				Config: testDataplaneConfig("main", false),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_dataplane.main", tfjsonpath.New("id"), knownvalue.StringExact("main")),
					statecheck.ExpectKnownValue("gpuplane_dataplane.main", tfjsonpath.New("gpu_capacity"),
						knownvalue.MapExact(map[string]knownvalue.Check{"NVIDIA-H100": knownvalue.Int64Exact(16)})),
					statecheck.ExpectKnownValue("gpuplane_dataplane.main", tfjsonpath.New("kubernetes_version"),
						knownvalue.StringRegexp(regexp.MustCompile(`^v1\.\d+\.\d+`))),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkNodeCountIsLive("gpuplane_dataplane.main"),
					checkCRDsServed(t),
					checkDataplaneObject(t, "main", "nvidia.com/gpu-h100"),
				),
			},
			{
				ResourceName:            "gpuplane_dataplane.main",
				ImportState:             true,
				ImportStateId:           "main",
				ImportStateVerify:       true,
				ImportStateVerifyIgnore: []string{"timeouts"},
			},
			{
				Config: testDataplaneConfig("main", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("gpuplane_dataplane.main", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_dataplane.main", tfjsonpath.New("gpu_capacity"),
						knownvalue.MapExact(map[string]knownvalue.Check{
							"NVIDIA-H100":    knownvalue.Int64Exact(16),
							"NVIDIA-A100-1g": knownvalue.Int64Exact(7),
							// DRA: no ResourceSlice of its class's driver here (TestAccDRA_claims counts some).
							"NVIDIA-B200": knownvalue.Int64Exact(0),
						})),
					statecheck.ExpectKnownValue("gpuplane_dataplane.main",
						tfjsonpath.New("gpu_families").AtMapKey("NVIDIA-B200").AtMapKey("device_class"),
						knownvalue.StringExact("b200.nvidia.com")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkDataplaneObject(t, "main", "nvidia.com/mig-1g.10gb"),
					checkPrinted(t, crds.Dataplanes, "main", "Families",
						"NVIDIA-A100-1g=nvidia.com/mig-1g.10gb, NVIDIA-B200=b200.nvidia.com (DRA), NVIDIA-H100=nvidia.com/gpu-h100"),
				),
			},
			{
				// A tenant on the dataplane blocks its destruction.
				PreConfig:   func() { createRawTenant(t, "blocker") },
				Config:      testDataplaneConfig("main", true),
				Destroy:     true,
				ExpectError: wrapped(`Dataplane "main" still has tenants blocker`),
			},
			{
				PreConfig: func() { deleteRawTenant(t, "blocker") },
				Config:    testDataplaneConfig("main", true),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
		},
	})
}

func TestAccDataplane_onePerCluster(t *testing.T) {
	testAccPreCheck(t)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkDataplaneDestroyed("first"),
		Steps: []resource.TestStep{
			{Config: testDataplaneConfig("first", false)},
			{
				Config: testDataplaneConfig("first", false) + `
resource "gpuplane_dataplane" "second" {
  name         = "second"
  gpu_families = {}
  depends_on   = [gpuplane_dataplane.main]
}`,
				ExpectError: wrapped(`this cluster already has dataplane "first"`, "terraform import gpuplane_dataplane.<name> first"),
			},
			{
				// Nothing of the refused dataplane was written.
				Config: testDataplaneConfig("first", false),
				Check: func(*terraform.State) error {
					if exists(t, crds.Dataplanes, "", "second") {
						return fmt.Errorf("the refused dataplane was written")
					}
					return nil
				},
			},
		},
	})
}

func TestAccDataplane_invalidCatalog(t *testing.T) {
	testAccPreCheck(t)
	for name, tc := range map[string]struct{ families, want string }{
		"both kinds":       {`{ "X" = { resource_name = "nvidia.com/gpu", device_class = "x.nvidia.com" } }`, `(?s)Invalid Attribute Combination.*device_class`},
		"quota key":        {`{ "X" = { resource_name = "requests.nvidia.com/gpu" } }`, `(?s)requests\.nvidia\.com/gpu.*not a quota key`},
		"no domain":        {`{ "X" = { resource_name = "gpu" } }`, `(?s)"gpu" is not a valid extended resource name`},
		"reserved Default": {`{ "Default" = { resource_name = "nvidia.com/gpu" } }`, `(?s)gpu_families.*Default`},
		"bad label":        {`{ "X" = { resource_name = "nvidia.com/gpu", node_selector = { "a b" = "c" } } }`, `(?s)"a b" is not a valid label key`},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      fmt.Sprintf("resource \"gpuplane_dataplane\" \"main\" {\n  name = \"main\"\n  gpu_families = %s\n}\n", tc.families),
					PlanOnly:    true,
					ExpectError: regexp.MustCompile(tc.want),
				}},
			})
			if exists(t, crds.Dataplanes, "", "main") {
				t.Fatal("an invalid plan wrote a dataplane")
			}
		})
	}
}

// checkDataplaneDestroyed reads the cluster: the Dataplane object, our CRDs
// and our ClusterRoles are gone.
func checkDataplaneDestroyed(name string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c, err := newTestClient()
		if err != nil {
			return err
		}
		ctx := context.Background()
		if obj, err := c.Get(ctx, crds.Dataplanes, "", name); err != nil || obj != nil {
			return fmt.Errorf("dataplane %s still exists (err %v)", name, err)
		}
		all, err := crds.All()
		if err != nil {
			return err
		}
		for _, crd := range all {
			if obj, err := c.Get(ctx, crds.CustomResourceDefinitions, "", crd.GetName()); err != nil || obj != nil {
				return fmt.Errorf("CRD %s still exists (err %v)", crd.GetName(), err)
			}
		}
		roles, err := c.Typed.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: platform.ManagedSelector})
		if err != nil {
			return err
		}
		if len(roles.Items) > 0 {
			return fmt.Errorf("ClusterRole %s still exists", roles.Items[0].Name)
		}
		return nil
	}
}

// checkNodeCountIsLive compares node_count with the API server's node list.
func checkNodeCountIsLive(addr string) resource.TestCheckFunc {
	return resource.TestCheckResourceAttrWith(addr, "node_count", func(v string) error {
		c, err := newTestClient()
		if err != nil {
			return err
		}
		nodes, err := c.Typed.CoreV1().Nodes().List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		if want := strconv.Itoa(len(nodes.Items)); v != want {
			return fmt.Errorf("node_count = %s, the cluster has %s nodes", v, want)
		}
		return nil
	})
}

// checkCRDsServed is what `kubectl get dataplanes` / `kubectl get dp` needs:
// the kinds served with their short names, and a table with our columns.
func checkCRDsServed(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		list, err := c.Typed.Discovery().ServerResourcesForGroupVersion(crds.Group + "/" + crds.Version)
		if err != nil {
			return err
		}
		short := map[string][]string{}
		for _, r := range list.APIResources {
			short[r.Name] = r.ShortNames
		}
		for res, want := range map[string]string{"dataplanes": "dp", "computes": "gpc", "tenants": "tn", "projects": "gpp", "tenantmemberships": "tm"} {
			if !slices.Contains(short[res], want) {
				return fmt.Errorf("resource %s is not served with short name %s (served: %v)", res, want, short)
			}
		}
		raw, err := c.Typed.Discovery().RESTClient().Get().AbsPath("/apis", crds.Group, crds.Version, "dataplanes").
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").Do(context.Background()).Raw()
		if err != nil {
			return err
		}
		var table metav1.Table
		if err := json.Unmarshal(raw, &table); err != nil {
			return err
		}
		var cols []string
		for _, col := range table.ColumnDefinitions {
			cols = append(cols, col.Name)
		}
		if !slices.Contains(cols, "Families") || len(table.Rows) != 1 {
			return fmt.Errorf("kubectl get dataplanes would show columns %v and %d rows; want Families and 1 row", cols, len(table.Rows))
		}
		return nil
	}
}

// checkDataplaneObject asserts the Dataplane object holds the family resource and our label.
func checkDataplaneObject(t *testing.T, name, resourceName string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		obj, err := testClient(t).Get(context.Background(), crds.Dataplanes, "", name)
		if err != nil || obj == nil {
			return fmt.Errorf("dataplane %s: %v", name, err)
		}
		if !platform.IsManaged(obj.GetLabels()) {
			return fmt.Errorf("dataplane %s lacks the managed-by label: %v", name, obj.GetLabels())
		}
		var spec crds.DataplaneSpec
		if err := crds.SpecOf(obj, &spec); err != nil {
			return err
		}
		for _, f := range spec.GPUFamilies {
			if f.ResourceName == resourceName {
				return nil
			}
		}
		return fmt.Errorf("dataplane %s has no family with resource %s: %+v", name, resourceName, spec)
	}
}

func createRawTenant(t *testing.T, name string) {
	t.Helper()
	obj, err := crds.New("Tenant", "", name, nil, &crds.TenantSpec{Dataplane: "main", Namespace: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testClient(t).Apply(context.Background(), crds.Tenants, obj); err != nil {
		t.Fatal(err)
	}
}

func deleteRawTenant(t *testing.T, name string) {
	t.Helper()
	if err := testClient(t).Delete(context.Background(), crds.Tenants, "", name); err != nil {
		t.Fatal(err)
	}
}

// TestAccDataplane_catalogChangeRewritesQuotas: changing a family's resource
// name moves every quota to the new key in the same apply; the next plan is
// empty.
func TestAccDataplane_catalogChangeRewritesQuotas(t *testing.T) {
	testAccPreCheck(t)
	config := platformConfig(researchTenant) + projectConfig("vision", visionProject)
	renamed := strings.Replace(config, `resource_name = "nvidia.com/gpu-h100"`, `resource_name = "nvidia.com/gpu-h100-80gb"`, 1)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: config, Check: checkH100Quota(t, "research-vision", 4)},
			{
				Config: renamed,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkQuotaExactly(t, "research-vision", map[string]int64{"requests.nvidia.com/gpu-h100-80gb": 4, "requests.nvidia.com/mig-1g.10gb": 2}),
					checkQuotaExactly(t, "research", map[string]int64{"requests.nvidia.com/gpu-h100-80gb": 0, "requests.nvidia.com/mig-1g.10gb": 0}),
				),
			},
		},
	})
}

// TestAccDataplane_kueueNotInstalled: quota_backend = "kueue" on a cluster
// without Kueue fails the plan, naming what to install; nothing is written.
// (It runs before the Kueue tests start Kueue; on a cluster where Kueue is
// installed it has nothing to show.)
func TestAccDataplane_kueueNotInstalled(t *testing.T) {
	testAccPreCheck(t)
	if _, err := testClient(t).Typed.Discovery().ServerResourcesForGroupVersion("kueue.x-k8s.io/v1beta2"); err == nil {
		t.Skip("Kueue is installed in this cluster")
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{{
			Config: `
resource "gpuplane_dataplane" "main" {
  name          = "main"
  quota_backend = "kueue"
  gpu_families  = { "NVIDIA-H100" = { resource_name = "nvidia.com/gpu" } }
}
`,
			PlanOnly:    true,
			ExpectError: wrapped(`Kueue is not installed`, `needs Kueue v0.17 or later`, `kubectl apply --server-side -f`, `releases/download/v0.17.0/manifests.yaml`),
		}},
	})
}
