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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// platformConfig is a dataplane with an H100 and an A100 (MIG) family, and a
// tenant "research" with the given tenant attributes.
func platformConfig(tenantBody string) string {
	return fmt.Sprintf(`
resource "gpuplane_dataplane" "main" {
  name = "main"
  gpu_families = {
    "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100" }
    "NVIDIA-A100" = { resource_name = "nvidia.com/mig-1g.10gb" }
  }
}

resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
%s
}
`, tenantBody)
}

const researchTenant = `
  display_name = "Research"
  admin_groups = ["research-admins"]
  gpu_quota = {
    limits   = { "NVIDIA-H100" = 8, "Default" = 4 }
    requests = { "NVIDIA-H100" = 4, "Default" = 2 }
  }
  labels = { "cost-center" = "r-42" }
`

func projectConfig(name, body string) string {
	return fmt.Sprintf(`
resource "gpuplane_project" %[1]q {
  tenant = gpuplane_tenant.research.name
  name   = %[1]q
%[2]s
}
`, name, body)
}

const visionProject = `
  role_mapping = { viewer = ["fin-ops"], editor = ["ml-eng"], admin = ["vision-leads"] }
  gpu_quota    = { limits = { "NVIDIA-H100" = 4, "Default" = 2 } }
  labels       = { "team" = "vision" }
`

const nlpProject = `
  gpu_quota = { limits = { "NVIDIA-H100" = 4, "Default" = 2 }, requests = { "NVIDIA-H100" = 1 } }
`

func effective(limit, request int64, limitSource, requestSource string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"limit": knownvalue.Int64Exact(limit), "request": knownvalue.Int64Exact(request),
		"limit_source": knownvalue.StringExact(limitSource), "request_source": knownvalue.StringExact(requestSource),
	})
}

func TestAccProject_quotaEnforcedByAPIServer(t *testing.T) {
	testAccPreCheck(t)
	config := platformConfig(researchTenant) + projectConfig("vision", visionProject) + projectConfig("nlp", nlpProject)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					// The effective quota is in the plan, so a reviewer sees what a project gets.
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("effective_gpu_quota").AtMapKey("NVIDIA-A100"),
							effective(2, 2, "project-default", "inherited")),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("namespace"), knownvalue.StringExact("research")),
					statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("phase"), knownvalue.StringExact("Active")),
					statecheck.ExpectKnownValue("gpuplane_tenant.research", tfjsonpath.New("effective_gpu_quota"), knownvalue.MapExact(map[string]knownvalue.Check{
						"NVIDIA-H100": effective(8, 4, "tenant", "tenant"),
						"NVIDIA-A100": effective(4, 2, "tenant-default", "tenant-default"),
					})),
					statecheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("namespace"), knownvalue.StringExact("research-vision")),
					statecheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("effective_gpu_quota"), knownvalue.MapExact(map[string]knownvalue.Check{
						"NVIDIA-H100": effective(4, 4, "project", "inherited"),
						"NVIDIA-A100": effective(2, 2, "project-default", "inherited"),
					})),
					statecheck.ExpectKnownValue("gpuplane_project.nlp", tfjsonpath.New("effective_gpu_quota").AtMapKey("NVIDIA-H100"),
						effective(4, 1, "project", "project")),
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkGPUPods(t),
					checkProjectAdminCannotRaiseQuota(t),
					checkLabelled(t, "research-vision", map[string]string{"cost-center": "r-42", "team": "vision", kube.LabelTenant: "research", kube.LabelProject: "vision"}),
				),
			},
			{ResourceName: "gpuplane_tenant.research", ImportState: true, ImportStateId: "research", ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{ResourceName: "gpuplane_project.vision", ImportState: true, ImportStateId: "research/vision", ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{ResourceName: "gpuplane_project.nlp", ImportState: true, ImportStateId: "research:nlp", ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"}},
			{
				// Drift: the ResourceQuota is deleted and a RoleBinding edited out of band.
				PreConfig: func() {
					c := testClient(t)
					if err := c.Typed.CoreV1().ResourceQuotas("research-vision").Delete(context.Background(), gpuQuotaName, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
					rb, err := c.Typed.RbacV1().RoleBindings("research-nlp").Get(context.Background(), tenantAdminBinding, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					rb.Subjects = nil
					if _, err := c.Typed.RbacV1().RoleBindings("research-nlp").Update(context.Background(), rb, metav1.UpdateOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{
						plancheck.ExpectResourceAction("gpuplane_project.vision", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("gpuplane_project.nlp", plancheck.ResourceActionUpdate),
						plancheck.ExpectResourceAction("gpuplane_tenant.research", plancheck.ResourceActionNoop),
					},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: func(*terraform.State) error {
					if !exists(t, quotaGVR, "research-vision", gpuQuotaName) {
						return fmt.Errorf("the deleted ResourceQuota was not restored")
					}
					return nil
				},
			},
			{
				// Labels and annotations added by others cause no diff.
				PreConfig: func() { addForeignLabels(t, "research-vision") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				// Lowering the tenant below an existing project fails the plan and names both.
				Config: platformConfig(strings.Replace(researchTenant, `"NVIDIA-H100" = 8`, `"NVIDIA-H100" = 3`, 1)) +
					projectConfig("vision", visionProject) + projectConfig("nlp", nlpProject),
				PlanOnly: true,
				ExpectError: wrapped(`project "nlp", family NVIDIA-H100: gpu_quota.limits["NVIDIA-H100"] = 4 (from project) exceeds tenant "research"'s limit of 3`,
					"lower the projects first"),
			},
			{
				// Raising a project and its tenant together works (the tenant is planned first).
				Config: platformConfig(strings.Replace(researchTenant, `"NVIDIA-H100" = 8`, `"NVIDIA-H100" = 10`, 1)) +
					projectConfig("vision", strings.Replace(visionProject, `"NVIDIA-H100" = 4`, `"NVIDIA-H100" = 6`, 1)) +
					projectConfig("nlp", nlpProject),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("effective_gpu_quota").AtMapKey("NVIDIA-H100"),
						effective(6, 4, "project", "inherited")),
				},
				Check: checkQuotaHard(t, "research-vision", "requests.nvidia.com/gpu-h100", 6),
			},
		},
	})
}

var quotaGVR = corev1.SchemeGroupVersion.WithResource("resourcequotas")

// checkGPUPods creates pods and asserts what the API server admits: within
// the project's limit yes; over the total, over the per-pod cap, or in the
// tenant namespace, no.
func checkGPUPods(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		for _, ns := range []string{"research", "research-vision"} {
			if err := waitQuotaStatus(c.Typed, ns); err != nil {
				return err
			}
		}
		for _, tc := range []struct {
			ns, name string
			gpus     int64
			want     string // "" admitted, else part of the refusal
		}{
			{"research-vision", "too-big", 5, "largest workload allowed in gpuplane project research/vision"},
			{"research-vision", "cpu-only", 0, ""},
			{"research-vision", "three", 3, ""},
			{"research-vision", "two-more", 2, "exceeded quota: gpuplane-gpu"},
			{"research-vision", "one-more", 1, ""},
			{"research", "in-tenant-namespace", 1, "exceeded quota: gpuplane-gpu"},
		} {
			err := createGPUPod(c.Typed, tc.ns, tc.name, "nvidia.com/gpu-h100", tc.gpus)
			switch {
			case tc.want == "" && err != nil:
				return fmt.Errorf("pod %s/%s (%d GPUs) refused: %v", tc.ns, tc.name, tc.gpus, err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				return fmt.Errorf("pod %s/%s (%d GPUs): got %v, want a refusal with %q", tc.ns, tc.name, tc.gpus, err, tc.want)
			}
		}
		return nil
	}
}

// createGPUPod creates a pod asking for gpus of res (none when 0).
func createGPUPod(c kubernetes.Interface, ns, name, res string, gpus int64) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "train", Image: "registry.example/train:1"}}},
	}
	if gpus > 0 {
		pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceName(res): *k8sresource.NewQuantity(gpus, k8sresource.DecimalSI)}
	}
	_, err := c.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	return err
}

// waitQuotaStatus waits for the resourcequota controller to fill in the
// quota's status; admission refuses every pod until then.
func waitQuotaStatus(c kubernetes.Interface, ns string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		rq, err := c.CoreV1().ResourceQuotas(ns).Get(context.Background(), gpuQuotaName, metav1.GetOptions{})
		if err == nil && len(rq.Status.Hard) == len(rq.Spec.Hard) && len(rq.Status.Hard) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("quota %s/%s has no status after 30s (err %v)", ns, gpuQuotaName, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkProjectAdminCannotRaiseQuota impersonates a member of the project's
// admin group: it may create workloads but not edit its quota or limit range.
func checkProjectAdminCannotRaiseQuota(t *testing.T) resource.TestCheckFunc {
	return func(*terraform.State) error {
		rc, err := clientcmd.BuildConfigFromFlags("", testCluster.Kubeconfig)
		if err != nil {
			return err
		}
		rc.Impersonate = rest.ImpersonationConfig{UserName: "lead@example.com", Groups: []string{"vision-leads"}}
		admin, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		ctx := context.Background()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "admin-can-write"}}
		if _, err := admin.CoreV1().ConfigMaps("research-vision").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("the project admin should administer the namespace: %v", err)
		}
		rq, err := admin.CoreV1().ResourceQuotas("research-vision").Get(ctx, gpuQuotaName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("the project admin should read its quota: %v", err)
		}
		rq.Spec.Hard["requests.nvidia.com/gpu-h100"] = k8sresource.MustParse("100")
		if _, err := admin.CoreV1().ResourceQuotas("research-vision").Update(ctx, rq, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			return fmt.Errorf("the project admin raised its ResourceQuota: err = %v", err)
		}
		if err := admin.CoreV1().ResourceQuotas("research-vision").Delete(ctx, gpuQuotaName, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
			return fmt.Errorf("the project admin deleted its ResourceQuota: err = %v", err)
		}
		if _, err := admin.CoreV1().ResourceQuotas("research-vision").Create(ctx, &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "mine"}},
			metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			return fmt.Errorf("the project admin created a ResourceQuota: err = %v", err)
		}
		// Nor can it rewrite the Project object that records its quota.
		if err := admin.RESTClient().Delete().AbsPath("/apis", crds.Group, crds.Version, "namespaces", "research-vision", "projects", "vision").
			Do(ctx).Error(); !apierrors.IsForbidden(err) {
			return fmt.Errorf("the project admin deleted its Project object: err = %v", err)
		}
		return nil
	}
}

func checkQuotaHard(t *testing.T, ns, key string, want int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		rq, err := testClient(t).Typed.CoreV1().ResourceQuotas(ns).Get(context.Background(), gpuQuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := rq.Spec.Hard[corev1.ResourceName(key)]; got.Value() != want {
			return fmt.Errorf("%s/%s hard[%s] = %s, want %d", ns, gpuQuotaName, key, got.String(), want)
		}
		return nil
	}
}

// checkLabelled asserts that a namespace and its gpuplane objects carry labels.
func checkLabelled(t *testing.T, ns string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		ctx := context.Background()
		n, err := c.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return err
		}
		rq, err := c.Typed.CoreV1().ResourceQuotas(ns).Get(ctx, gpuQuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for what, labels := range map[string]map[string]string{"namespace": n.Labels, "quota": rq.Labels} {
			for k, v := range want {
				if labels[k] != v {
					return fmt.Errorf("%s %s: label %s = %q, want %q", what, ns, k, labels[k], v)
				}
			}
		}
		return nil
	}
}

func addForeignLabels(t *testing.T, ns string) {
	t.Helper()
	c := testClient(t)
	ctx := context.Background()
	n, err := c.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Labels["policy.example.com/scanned"] = "true"
	n.Annotations = map[string]string{"example.com/owner": "someone"}
	if _, err := c.Typed.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rq, err := c.Typed.CoreV1().ResourceQuotas(ns).Get(ctx, gpuQuotaName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rq.Labels["policy.example.com/scanned"] = "true"
	if _, err := c.Typed.CoreV1().ResourceQuotas(ns).Update(ctx, rq, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkNoGpuplaneObjects reads the cluster after destroy: no namespace, quota
// or binding with our label remains, and no tenant or project object.
func checkNoGpuplaneObjects(*terraform.State) error {
	c, err := newTestClient()
	if err != nil {
		return err
	}
	ctx := context.Background()
	sel := metav1.ListOptions{LabelSelector: kube.ManagedSelector}
	nss, err := c.Typed.CoreV1().Namespaces().List(ctx, sel)
	if err != nil {
		return err
	}
	for _, n := range nss.Items {
		return fmt.Errorf("namespace %s (%s) remains", n.Name, n.Status.Phase)
	}
	rqs, err := c.Typed.CoreV1().ResourceQuotas("").List(ctx, sel)
	if err != nil {
		return err
	}
	rbs, err := c.Typed.RbacV1().RoleBindings("").List(ctx, sel)
	if err != nil {
		return err
	}
	if len(rqs.Items)+len(rbs.Items) > 0 {
		return fmt.Errorf("%d ResourceQuotas and %d RoleBindings remain", len(rqs.Items), len(rbs.Items))
	}
	return checkDataplaneDestroyed("main")(nil)
}
