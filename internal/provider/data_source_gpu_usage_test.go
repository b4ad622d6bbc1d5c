package provider

import (
	"context"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const usageDataSources = `
data "gpuplane_gpu_usage" "vision" {
  project    = "research/vision"
  depends_on = [gpuplane_project.vision, gpuplane_project.nlp]
}
data "gpuplane_gpu_usage" "research" {
  tenant     = "research"
  depends_on = [gpuplane_project.vision, gpuplane_project.nlp]
}
data "gpuplane_gpu_usage" "all" {
  depends_on = [gpuplane_project.vision, gpuplane_project.nlp]
}
`

func usage(used int64, limit, available knownvalue.Check, capacity int64, over bool) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"used": knownvalue.Int64Exact(used), "limit": limit, "available": available,
		"capacity": knownvalue.Int64Exact(capacity), "oversubscribed": knownvalue.Bool(over),
		"pending": knownvalue.Int64Exact(0), // resource-quota backend: nothing waits in a queue
	})
}

func TestAccGPUUsage(t *testing.T) {
	testAccPreCheck(t)
	fakeGPUNode(t, "usage-h100-a", nil, map[string]int64{"nvidia.com/gpu-h100": 8})
	fakeGPUNode(t, "usage-h100-b", nil, map[string]int64{"nvidia.com/gpu-h100": 8})
	n := knownvalue.Int64Exact
	resources := platformConfig(researchTenant) + projectConfig("vision", visionProject) + projectConfig("nlp", nlpProject)
	lowered := platformConfig(researchTenant) +
		projectConfig("vision", strings.Replace(visionProject, `"NVIDIA-H100" = 4`, `"NVIDIA-H100" = 2`, 1)) +
		projectConfig("nlp", nlpProject)
	vision := "data.gpuplane_gpu_usage.vision"
	research := "data.gpuplane_gpu_usage.research"
	all := "data.gpuplane_gpu_usage.all"
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: resources, Check: createUsagePods(t)},
			{
				// The look-up data sources read in the same apply; their checks
				// are in their own files (data_source_*_test.go).
				Config: resources + usageDataSources + dataplaneLookup + tenantLookup + projectLookup,
				ConfigStateChecks: append(append(append([]statecheck.StateCheck{
					statecheck.ExpectKnownValue(vision, tfjsonpath.New("families"), knownvalue.MapExact(map[string]knownvalue.Check{
						"NVIDIA-H100": usage(3, n(4), n(1), 16, false),
						"NVIDIA-A100": usage(1, n(2), n(1), 0, false),
					})),
					statecheck.ExpectKnownValue(vision, tfjsonpath.New("oversubscribed"), knownvalue.Bool(false)),
					// The Failed pod of nlp does not count; the Pending ones do.
					statecheck.ExpectKnownValue(research, tfjsonpath.New("families").AtMapKey("NVIDIA-H100"), usage(4, n(8), n(4), 16, false)),
					statecheck.ExpectKnownValue(research, tfjsonpath.New("projects").AtMapKey("nlp").AtMapKey("NVIDIA-H100"), usage(1, n(4), n(3), 16, false)),
					statecheck.ExpectKnownValue(research, tfjsonpath.New("projects").AtMapKey("vision").AtMapKey("NVIDIA-H100"), usage(3, n(4), n(1), 16, false)),
					statecheck.ExpectKnownValue(research, tfjsonpath.New("tenants"), knownvalue.Null()),
					statecheck.ExpectKnownValue(all, tfjsonpath.New("families").AtMapKey("NVIDIA-H100"), usage(4, n(16), n(12), 16, false)),
					statecheck.ExpectKnownValue(all, tfjsonpath.New("tenants").AtMapKey("research").AtMapKey("NVIDIA-A100"), usage(1, n(4), n(3), 0, false)),
					// A GPU resource no family names is reported, not dropped.
					statecheck.ExpectKnownValue(all, tfjsonpath.New("unattributed"), knownvalue.MapExact(map[string]knownvalue.Check{"amd.com/gpu": n(2)})),
					statecheck.ExpectKnownValue(vision, tfjsonpath.New("unattributed"), knownvalue.MapExact(map[string]knownvalue.Check{"amd.com/gpu": n(2)})),
					statecheck.ExpectKnownValue(research, tfjsonpath.New("projects").AtMapKey("nlp").AtMapKey("NVIDIA-A100"), usage(0, n(2), n(2), 0, false)),
				}, dataplaneLookupChecks()...), tenantLookupChecks()...), projectLookupChecks()...),
			},
			{
				Config:      resources + `data "gpuplane_gpu_usage" "x" { project = "research/nope" }`,
				ExpectError: wrapped(`project "nope" does not exist in tenant "research"`),
			},
			unknownProjectLookupStep(resources),
			{
				Config:      resources + `data "gpuplane_gpu_usage" "x" { tenant = "nobody" }`,
				ExpectError: wrapped(`tenant "nobody" does not exist`),
			},
			{
				Config:      resources + `data "gpuplane_gpu_usage" "x" { project = "vision" }`,
				ExpectError: wrapped(`"vision" is not a valid <tenant>/<name>`, "research/vision"),
			},
			{
				// Lowering a limit below usage is allowed (with a plan warning);
				// the usage shows the scope oversubscribed.
				Config: lowered + usageDataSources,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue(vision, tfjsonpath.New("families").AtMapKey("NVIDIA-H100"), usage(3, n(2), n(0), 16, true)),
					statecheck.ExpectKnownValue(vision, tfjsonpath.New("oversubscribed"), knownvalue.Bool(true)),
					statecheck.ExpectKnownValue(research, tfjsonpath.New("projects").AtMapKey("vision").AtMapKey("NVIDIA-H100"), usage(3, n(2), n(0), 16, true)),
					statecheck.ExpectKnownValue(research, tfjsonpath.New("oversubscribed"), knownvalue.Bool(false)),
				},
			},
		},
	})
}

// createUsagePods makes Pending pods (there is no kubelet) in the projects,
// and one Failed pod, which must not count.
func createUsagePods(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		for _, ns := range []string{"research-vision", "research-nlp"} {
			if err := waitQuotaStatus(c.Typed, ns); err != nil {
				return err
			}
		}
		for _, p := range []struct {
			ns, name, res string
			gpus          int64
		}{
			{"research-vision", "train-a", "nvidia.com/gpu-h100", 2},
			{"research-vision", "train-b", "nvidia.com/gpu-h100", 1},
			{"research-vision", "mig", "nvidia.com/mig-1g.10gb", 1},
			{"research-vision", "amd", "amd.com/gpu", 2},
			{"research-nlp", "serve", "nvidia.com/gpu-h100", 1},
			{"research-nlp", "done", "nvidia.com/gpu-h100", 1},
		} {
			if err := createGPUPod(c.Typed, p.ns, p.name, p.res, p.gpus); err != nil {
				return err
			}
		}
		pod, err := c.Typed.CoreV1().Pods("research-nlp").Get(context.Background(), "done", metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod.Status.Phase = corev1.PodFailed
		_, err = c.Typed.CoreV1().Pods("research-nlp").UpdateStatus(context.Background(), pod, metav1.UpdateOptions{})
		return err
	}
}
