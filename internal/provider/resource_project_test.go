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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

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
					checkLabelled(t, "research-vision", map[string]string{"cost-center": "r-42", "team": "vision", platform.LabelTenant: "research", platform.LabelProject: "vision"}),
				),
			},
			{ResourceName: "gpuplane_project.vision", ImportState: true, ImportStateId: "research/vision", ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts", "deletion_protection"}},
			{ResourceName: "gpuplane_project.nlp", ImportState: true, ImportStateId: "research:nlp", ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts", "deletion_protection"}},
			projectDriftStep(t, config),
			{
				// Labels and annotations added by others cause no diff.
				PreConfig: func() { addForeignLabels(t, "research-vision") },
				Config:    config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			lowerTenantBelowProjectStep(),
			raiseTenantAndProjectStep(t),
			lowerTenantAndProjectsStep(t),
			renameProjectStep(t),
		},
	})
}

// projectDriftStep: the ResourceQuota is deleted and a RoleBinding edited
// out of band; the plan shows the projects' updates and the apply restores them.
func projectDriftStep(t *testing.T, config string) resource.TestStep {
	return resource.TestStep{
		PreConfig: func() {
			c := testClient(t)
			if err := c.Typed.CoreV1().ResourceQuotas("research-vision").Delete(context.Background(), platform.GPUQuotaName, metav1.DeleteOptions{}); err != nil {
				t.Fatal(err)
			}
			rb, err := c.Typed.RbacV1().RoleBindings("research-nlp").Get(context.Background(), platform.TenantAdminBinding, metav1.GetOptions{})
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
			if !exists(t, quotaGVR, "research-vision", platform.GPUQuotaName) {
				return fmt.Errorf("the deleted ResourceQuota was not restored")
			}
			return nil
		},
	}
}

// lowerTenantBelowProjectStep: lowering the tenant below a project of the
// same configuration fails that project's plan, which names both.
func lowerTenantBelowProjectStep() resource.TestStep {
	return resource.TestStep{
		Config: platformConfig(strings.NewReplacer(`"NVIDIA-H100" = 8`, `"NVIDIA-H100" = 3`, `"NVIDIA-H100" = 4, "Default" = 2 }`,
			`"NVIDIA-H100" = 3, "Default" = 2 }`).Replace(researchTenant)) +
			projectConfig("vision", visionProject) + projectConfig("nlp", nlpProject),
		PlanOnly:    true,
		ExpectError: wrapped(`project "nlp", family NVIDIA-H100: gpu_quota.limits["NVIDIA-H100"] = 4 (from project) exceeds tenant "research"'s limit of 3`),
	}
}

// lowerTenantAndProjectsStep: lowering a tenant and its projects in one
// plan (one pull request) succeeds; each project checks itself against the
// tenant's planned quota.
func lowerTenantAndProjectsStep(t *testing.T) resource.TestStep {
	return resource.TestStep{
		Config: platformConfig(strings.Replace(researchTenant, `"NVIDIA-H100" = 8`, `"NVIDIA-H100" = 6`, 1)) +
			projectConfig("vision", strings.Replace(visionProject, `"NVIDIA-H100" = 4`, `"NVIDIA-H100" = 3`, 1)) +
			projectConfig("nlp", strings.Replace(nlpProject, `"NVIDIA-H100" = 4`, `"NVIDIA-H100" = 3`, 1)),
		Check: resource.ComposeAggregateTestCheckFunc(
			checkH100Quota(t, "research-vision", 3),
			checkH100Quota(t, "research-nlp", 3),
		),
	}
}

// renameProjectStep: renaming a project replaces it, and the old one's
// quota is freed in the same plan (3 + 3 fit a tenant of 6; counting the
// old name too, 9 would not).
func renameProjectStep(t *testing.T) resource.TestStep {
	return resource.TestStep{
		Config: platformConfig(strings.Replace(researchTenant, `"NVIDIA-H100" = 8`, `"NVIDIA-H100" = 6`, 1)) +
			projectConfig("vision", strings.Replace(visionProject, `"NVIDIA-H100" = 4`, `"NVIDIA-H100" = 3`, 1)) +
			strings.Replace(projectConfig("nlp", strings.Replace(nlpProject, `"NVIDIA-H100" = 4`, `"NVIDIA-H100" = 3`, 1)),
				`name   = "nlp"`, `name   = "language"`, 1),
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction("gpuplane_project.nlp", plancheck.ResourceActionDestroyBeforeCreate),
		}},
		Check: checkH100Quota(t, "research-language", 3),
	}
}

// raiseTenantAndProjectStep: raising a project and its tenant together
// works (the tenant is planned first).
func raiseTenantAndProjectStep(t *testing.T) resource.TestStep {
	return resource.TestStep{
		Config: platformConfig(strings.Replace(researchTenant, `"NVIDIA-H100" = 8`, `"NVIDIA-H100" = 10`, 1)) +
			projectConfig("vision", strings.Replace(visionProject, `"NVIDIA-H100" = 4`, `"NVIDIA-H100" = 6`, 1)) +
			projectConfig("nlp", nlpProject),
		ConfigStateChecks: []statecheck.StateCheck{
			statecheck.ExpectKnownValue("gpuplane_project.vision", tfjsonpath.New("effective_gpu_quota").AtMapKey("NVIDIA-H100"),
				effective(6, 4, "project", "inherited")),
		},
		Check: checkH100Quota(t, "research-vision", 6),
	}
}

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
		rq, err := admin.CoreV1().ResourceQuotas("research-vision").Get(ctx, platform.GPUQuotaName, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("the project admin should read its quota: %v", err)
		}
		rq.Spec.Hard["requests.nvidia.com/gpu-h100"] = k8sresource.MustParse("100")
		if _, err := admin.CoreV1().ResourceQuotas("research-vision").Update(ctx, rq, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			return fmt.Errorf("the project admin raised its ResourceQuota: err = %v", err)
		}
		if err := admin.CoreV1().ResourceQuotas("research-vision").Delete(ctx, platform.GPUQuotaName, metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
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

// TestAccProject_deleteTimeoutReportsWhatIsLeft: a namespace held by a
// finalizer is never forced. A project's destroy does not wait for its
// namespace; what waits for it (a create of the same project here, the
// tenant's delete in TestAccTenant_cascadeStuckNamespace) says at its
// timeout what is left.
func TestAccProject_deleteTimeoutReportsWhatIsLeft(t *testing.T) {
	testAccPreCheck(t)
	const finalizer = "example.com/hold"
	base := platformConfig("")
	withProject := base + projectConfig("vision", `  timeouts = { create = "8s" }`)
	held := func(remove bool) {
		c := testClient(t)
		ctx := context.Background()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{finalizer}}}
		if !remove {
			if _, err := c.Typed.CoreV1().ConfigMaps("research-vision").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			return
		}
		live, err := c.Typed.CoreV1().ConfigMaps("research-vision").Get(ctx, "held", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		live.Finalizers = nil
		if _, err := c.Typed.CoreV1().ConfigMaps("research-vision").Update(ctx, live, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: withProject},
			{
				// The project's destroy returns once its namespace is
				// terminating; it does not wait for the namespace controller,
				// and strips nothing.
				PreConfig: func() { held(false) },
				Config:    base,
				Check: func(*terraform.State) error {
					ns, err := testClient(t).Typed.CoreV1().Namespaces().Get(context.Background(), "research-vision", metav1.GetOptions{})
					if err != nil || ns.DeletionTimestamp == nil {
						return fmt.Errorf("namespace research-vision: %v, want it terminating (held by %s)", err, finalizer)
					}
					return nil
				},
			},
			{
				// Creating the project again waits for the old namespace,
				// and says at its timeout what holds it.
				Config: withProject,
				ExpectError: wrapped(`namespace "research-vision" is still terminating`, "does not strip finalizers",
					"What is left", finalizer),
			},
			{
				// The finalizer is gone: the create waits for the namespace
				// controller, then creates the project afresh.
				PreConfig: func() { held(true) },
				Config:    withProject,
				Check:     checkLabelled(t, "research-vision", map[string]string{platform.LabelProject: "vision"}),
			},
		},
	})
}
