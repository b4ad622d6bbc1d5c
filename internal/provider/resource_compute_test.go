package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
)

// computeConfig: two pools, two tenants each with one compute, a project in each.
func computeConfig(h100Selector, researchComputes string) string {
	return fmt.Sprintf(`
resource "gpuplane_dataplane" "main" {
  name = "main"
  gpu_families = {
    "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100", node_selector = { "pool" = "h100" } }
    "NVIDIA-A100" = { resource_name = "nvidia.com/mig-1g.10gb", node_selector = { "pool" = "a100" } }
  }
}

resource "gpuplane_compute" "h100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "h100-pool"
  display_name  = "H100 nodes"
  node_selector = %[1]s
  gpu_family    = "NVIDIA-H100"
  tolerations   = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
}

resource "gpuplane_compute" "a100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "a100-pool"
  node_selector = { "pool" = "a100" }
}

resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
  computes  = %[2]s
  gpu_quota = { limits = { "NVIDIA-H100" = 8, "Default" = 0 } }
}

resource "gpuplane_project" "vision" {
  tenant  = gpuplane_tenant.research.name
  name    = "vision"
  compute = gpuplane_compute.h100.name
  deletion_protection = false # the test leaves pods behind
}

resource "gpuplane_tenant" "other" {
  dataplane = gpuplane_dataplane.main.name
  name      = "other"
  computes  = [gpuplane_compute.a100.name]
}

resource "gpuplane_project" "team" {
  tenant  = gpuplane_tenant.other.name
  name    = "team"
  compute = gpuplane_compute.a100.name
  deletion_protection = false # the test leaves pods behind
}

# A tenant without computes may run anywhere but on the other tenants' computes.
resource "gpuplane_tenant" "free" {
  dataplane  = gpuplane_dataplane.main.name
  name       = "free"
  depends_on = [gpuplane_tenant.research, gpuplane_tenant.other]
}

resource "gpuplane_project" "open" {
  tenant = gpuplane_tenant.free.name
  name   = "open"
  deletion_protection = false # the test leaves pods behind
}
`, h100Selector, researchComputes)
}

const h100Selector = `{ "pool" = "h100" }`
const researchComputes = `[gpuplane_compute.h100.name]`

func TestAccCompute_placement(t *testing.T) {
	testAccPreCheck(t)
	fakeGPUNode(t, "pool-h100-a", map[string]string{"pool": "h100"}, map[string]int64{"nvidia.com/gpu-h100": 8})
	fakeGPUNode(t, "pool-h100-b", map[string]string{"pool": "h100"}, map[string]int64{"nvidia.com/gpu-h100": 8})
	fakeGPUNode(t, "pool-a100-a", map[string]string{"pool": "a100"}, map[string]int64{"nvidia.com/mig-1g.10gb": 7})
	config := computeConfig(h100Selector, researchComputes)
	n := knownvalue.Int64Exact
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_compute.h100", tfjsonpath.New("node_count"), n(2)),
					statecheck.ExpectKnownValue("gpuplane_compute.h100", tfjsonpath.New("nodes"), knownvalue.ListExact([]knownvalue.Check{
						knownvalue.StringExact("pool-h100-a"), knownvalue.StringExact("pool-h100-b")})),
					statecheck.ExpectKnownValue("gpuplane_compute.h100", tfjsonpath.New("gpu_capacity"), knownvalue.MapExact(map[string]knownvalue.Check{"NVIDIA-H100": n(16)})),
					statecheck.ExpectKnownValue("gpuplane_compute.a100", tfjsonpath.New("gpu_capacity"), knownvalue.MapExact(map[string]knownvalue.Check{"NVIDIA-A100": n(7)})),
					statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("compute_gpu_capacity"),
						knownvalue.MapExact(map[string]knownvalue.Check{"NVIDIA-H100": n(16), "NVIDIA-A100": n(0)})),
					statecheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("placement"), knownvalue.MapExact(map[string]knownvalue.Check{
						"h100-pool": knownvalue.MapExact(map[string]knownvalue.Check{"pool": knownvalue.StringExact("h100")})})),
					statecheck.ExpectKnownValue("gpuplane_project.open", tfjsonpath.New("placement"), knownvalue.Null()),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check:            resource.ComposeAggregateTestCheckFunc(checkPlacementPods(t), checkExcludedPods(t)),
			},
			{ResourceName: "gpuplane_compute.h100", ImportState: true, ImportStateId: "h100-pool", ImportStateVerify: true},
			nodeJoinsPoolStep(t, config),
			{
				// Detaching a compute that a project still uses fails at plan.
				Config:      computeConfig(h100Selector, `[gpuplane_compute.a100.name]`),
				PlanOnly:    true,
				ExpectError: wrapped(`Project "vision" of tenant "research" uses compute "h100-pool", which computes no longer lists`),
			},
			{
				Config:      strings.Replace(config, `gpu_family    = "NVIDIA-H100"`, `gpu_family    = "NVIDIA-V100"`, 1),
				PlanOnly:    true,
				ExpectError: wrapped(`gpu_family = "NVIDIA-V100" is not a GPU family of the dataplane; use one of NVIDIA-A100, NVIDIA-H100`),
			},
			{
				Config:      computeConfig(`{ "pool" = "h100", "bad key!" = "x" }`, researchComputes),
				PlanOnly:    true,
				ExpectError: wrapped(`"bad key!" is not a valid label key`),
			},
			{
				// Changing a compute's selector updates its projects' placement in the same plan.
				Config: computeConfig(`{ "pool" = "h100", "zone" = "a" }`, researchComputes),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("gpuplane_project.vision", plancheck.ResourceActionUpdate),
					plancheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("placement").AtMapKey("h100-pool").AtMapKey("zone"), knownvalue.StringExact("a")),
				}},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_compute.h100", tfjsonpath.New("node_count"), n(0)),
				},
			},
			{
				// A compute attached to a tenant (here one made elsewhere) cannot be destroyed.
				PreConfig:   func() { createTenantWithCompute(t, "blocker", "a100-pool") },
				Config:      computeConfig(h100Selector, researchComputes),
				Destroy:     true,
				ExpectError: wrapped(`Compute "a100-pool" is attached to tenant(s) blocker`),
			},
			{
				PreConfig: func() { deleteRawTenant(t, "blocker") },
				Config:    computeConfig(h100Selector, researchComputes),
			},
		},
	})
}

// checkPlacementPods asserts what the API server admits in a project whose
// tenant lists computes: only pods that select one of them.
func checkPlacementPods(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		if err := waitQuotaStatus(c.Typed, "research-vision"); err != nil {
			return err
		}
		affinity := func(values ...string) *corev1.Affinity {
			return &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{
					{Key: "pool", Operator: corev1.NodeSelectorOpIn, Values: values}}}}}}}
		}
		const refused = `must run on one of its tenant's computes: set spec.nodeSelector (or required node affinity) to h100-pool {pool=h100}`
		for _, tc := range []struct {
			name     string
			selector map[string]string
			affinity *corev1.Affinity
			want     string
		}{
			{"on-own-pool", map[string]string{"pool": "h100", "team": "x"}, nil, ""},
			{"own-pool-by-affinity", nil, affinity("h100"), ""},
			{"no-selector", nil, nil, refused},
			// Both the placement and the exclusive-computes policy refuse it; either message will do.
			{"other-tenants-pool", map[string]string{"pool": "a100"}, nil, "gpuplane"},
			{"affinity-reaching-other-pool", nil, affinity("h100", "a100"), refused},
		} {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name},
				Spec: corev1.PodSpec{NodeSelector: tc.selector, Affinity: tc.affinity,
					Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1"}}},
			}
			_, err := c.Typed.CoreV1().Pods("research-vision").Create(context.Background(), pod, metav1.CreateOptions{})
			switch {
			case tc.want == "" && err != nil:
				return fmt.Errorf("pod %s refused: %v", tc.name, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				return fmt.Errorf("pod %s: got %v, want a refusal with %q", tc.name, err, tc.want)
			}
		}
		return nil
	}
}

// checkExcludedPods: in a project whose tenant lists no computes, pods may
// run anywhere except on computes attached to other tenants.
func checkExcludedPods(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		const refused = "pods of tenant free may neither select nor tolerate compute"
		for _, tc := range []struct {
			name        string
			selector    map[string]string
			tolerations []corev1.Toleration
			want        string
		}{
			{"anywhere", nil, nil, ""},
			{"own-labels", map[string]string{"pool": "cpu"}, nil, ""},
			{"unrelated-toleration", nil, []corev1.Toleration{{Key: "spot", Operator: corev1.TolerationOpExists}}, ""},
			{"selects-other-pool", map[string]string{"pool": "a100"}, nil, refused},
			{"tolerates-other-pool", nil, []corev1.Toleration{{Key: "nvidia.com/gpu", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}}, refused},
			{"tolerates-everything", nil, []corev1.Toleration{{Operator: corev1.TolerationOpExists}}, refused},
		} {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name},
				Spec: corev1.PodSpec{NodeSelector: tc.selector, Tolerations: tc.tolerations,
					Containers: []corev1.Container{{Name: "main", Image: "registry.example/app:1"}}},
			}
			_, err := c.Typed.CoreV1().Pods("free-open").Create(context.Background(), pod, metav1.CreateOptions{})
			switch {
			case tc.want == "" && err != nil:
				return fmt.Errorf("pod %s refused: %v", tc.name, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				return fmt.Errorf("pod %s: got %v, want a refusal with %q", tc.name, err, tc.want)
			}
		}
		return nil
	}
}

func createTenantWithCompute(t *testing.T, name, compute string) {
	t.Helper()
	obj, err := crds.New("Tenant", "", name, nil, &crds.TenantSpec{Dataplane: "main", Namespace: name, Computes: []string{compute}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := testClient(t).Apply(context.Background(), crds.Tenants, obj); err != nil {
		t.Fatal(err)
	}
}

// nodeJoinsPoolStep: a node joins the pool; the next refresh shows it, and
// the plan stays empty.
func nodeJoinsPoolStep(t *testing.T, config string) resource.TestStep {
	n := knownvalue.Int64Exact
	return resource.TestStep{
		PreConfig: func() {
			fakeGPUNode(t, "pool-h100-c", map[string]string{"pool": "h100"}, map[string]int64{"nvidia.com/gpu-h100": 8})
		},
		Config:           config,
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("gpuplane_compute.h100", tfjsonpath.New("node_count"), n(3)),
			statecheck.ExpectKnownValue("gpuplane_compute.h100", tfjsonpath.New("gpu_capacity"), knownvalue.MapExact(map[string]knownvalue.Check{"NVIDIA-H100": n(24)})),
		},
	}
}
