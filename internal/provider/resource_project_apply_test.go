package provider

// Apply-time behaviour of gpuplane_project: partial failures and a
// destroy and a create in one apply.

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// TestAccProject_partlyFailedCreateIsAdopted: a create that fails part-way
// is not recorded (so Terraform does not taint it, and the next apply does
// not replace it and delete its namespace); the next apply adopts what it
// wrote, which carries this project's labels, and writes the rest.
func TestAccProject_partlyFailedCreateIsAdopted(t *testing.T) {
	testAccPreCheck(t)
	config := platformConfig("") + projectConfig("vision", `role_mapping = { viewer = ["fin-ops"] }`)
	ctx := context.Background()
	var uid string
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: platformConfig("")},
			{
				// The namespace is there, labelled as this project's (a create
				// that failed after writing it leaves it so), with a viewer
				// binding another tool wrote with another role: gpuplane never
				// takes that over, and the create fails part-way.
				PreConfig: func() {
					c := testClient(t)
					if err := platform.ApplyNamespace(ctx, c, "research-vision", platform.ProjectLabels("research", "vision", nil, nil)); err != nil {
						t.Fatal(err)
					}
					rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "gpuplane-viewers", Namespace: "research-vision"},
						RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "edit"}}
					if _, err := c.Typed.RbacV1().RoleBindings("research-vision").Create(ctx, rb, metav1.CreateOptions{}); err != nil {
						t.Fatal(err)
					}
					ns, err := c.Typed.CoreV1().Namespaces().Get(ctx, "research-vision", metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					uid = string(ns.UID)
				},
				Config:      config,
				ExpectError: wrapped("Cannot write the project's objects", "not recorded in the state yet", "adopts it and writes the rest"),
			},
			{
				PreConfig: func() {
					if err := testClient(t).Typed.RbacV1().RoleBindings("research-vision").Delete(ctx, "gpuplane-viewers", metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("gpuplane_project.vision", plancheck.ResourceActionCreate),
				}},
				Check: func(*terraform.State) error {
					ns, err := testClient(t).Typed.CoreV1().Namespaces().Get(ctx, "research-vision", metav1.GetOptions{})
					if err != nil || string(ns.UID) != uid {
						return fmt.Errorf("the namespace was replaced (uid %v, want %s): %v", ns.UID, uid, err)
					}
					if !exists(t, quotaGVR, "research-vision", platform.GPUQuotaName) {
						return fmt.Errorf("the adopting create did not write the quota")
					}
					return nil
				},
			},
		},
	})
}

// TestAccProject_destroyAndCreateInOneApply: one apply destroys a project
// and creates another with its quota. Terraform runs both at once; the
// create's apply-time check waits for the deletion to free the quota
// instead of failing on it.
func TestAccProject_destroyAndCreateInOneApply(t *testing.T) {
	testAccPreCheck(t)
	before := platformConfig(researchTenant) + projectConfig("vision", visionProject) + projectConfig("nlp", nlpProject)
	after := platformConfig(researchTenant) + projectConfig("speech", visionProject) + projectConfig("nlp", nlpProject)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: before},
			{
				Config: after,
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("gpuplane_project.vision", plancheck.ResourceActionDestroy),
					plancheck.ExpectResourceAction("gpuplane_project.speech", plancheck.ResourceActionCreate),
				}},
				Check: checkH100Quota(t, "research-speech", 4),
			},
		},
	})
}

// TestAccProject_deletionProtection: destroying or replacing a project whose
// namespace still runs workloads is refused until the configuration opts in;
// the namespace and its pods survive the refusals.
func TestAccProject_deletionProtection(t *testing.T) {
	testAccPreCheck(t)
	config := func(name, extra string) string {
		return platformConfig("") + fmt.Sprintf(`
resource "gpuplane_project" "vision" {
  tenant    = gpuplane_tenant.research.name
  name      = %q
  namespace = "research-vision"
%s
}`, name, extra)
	}
	podStays := func(*terraform.State) error {
		if !exists(t, corev1.SchemeGroupVersion.WithResource("pods"), "research-vision", "notebook") {
			return fmt.Errorf("the pod in research-vision is gone")
		}
		return nil
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: config("vision", ""),
				Check: func(*terraform.State) error {
					return createGPUPod(testClient(t).Typed, "research-vision", "notebook", "", 0)
				},
			},
			{
				Config:      config("vision", ""),
				Destroy:     true,
				ExpectError: wrapped("Deletion protection", `Deleting project "research/vision" deletes namespace(s) research-vision`, "research-vision/notebook", "deletion_protection = false"),
			},
			{
				// A rename replaces the project: its destroy is refused too.
				Config:      config("notebooks", ""),
				ExpectError: wrapped("Deletion protection", "research-vision/notebook"),
			},
			{
				Config: config("vision", "  deletion_protection = false"),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("gpuplane_project.vision", plancheck.ResourceActionUpdate),
				}},
				Check: podStays,
			},
			// The test's destroy now deletes the namespace with its pod.
		},
	})
}

// TestAccProject_driftTakenBack: objects gpuplane created are gpuplane's.
// After others change the fields it sets (a quota raised to 99, a binding's
// groups, the per-pod cap in the Project object, the namespace label the
// admission policies select on), the plan shows the project out of sync and
// the apply takes those fields back, by force on exactly them, instead of
// failing on a field-manager conflict forever.
func TestAccProject_driftTakenBack(t *testing.T) {
	testAccPreCheck(t)
	config := platformConfig(researchTenant) + projectConfig("vision", visionProject)
	ctx := context.Background()
	patch := func(what string, do func(c *kube.Client, opts metav1.PatchOptions) error) {
		if err := do(testClient(t), metav1.PatchOptions{FieldManager: "kubectl-edit"}); err != nil {
			t.Fatalf("changing %s by hand: %v", what, err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: config},
			{
				PreConfig: func() {
					patch("the quota", func(c *kube.Client, opts metav1.PatchOptions) error {
						_, err := c.Typed.CoreV1().ResourceQuotas("research-vision").Patch(ctx, platform.GPUQuotaName, types.MergePatchType,
							[]byte(`{"spec":{"hard":{"requests.nvidia.com/gpu-h100":"99"}}}`), opts)
						return err
					})
					patch("a binding", func(c *kube.Client, opts metav1.PatchOptions) error {
						_, err := c.Typed.RbacV1().RoleBindings("research-vision").Patch(ctx, "gpuplane-viewers", types.MergePatchType,
							[]byte(`{"subjects":[{"kind":"Group","apiGroup":"rbac.authorization.k8s.io","name":"everyone"}]}`), opts)
						return err
					})
					patch("the per-pod cap", func(c *kube.Client, opts metav1.PatchOptions) error {
						_, err := c.Dynamic.Resource(crds.Projects).Namespace("research-vision").Patch(ctx, "vision", types.MergePatchType,
							[]byte(`{"spec":{"maxPerPod":{"nvidia.com/gpu-h100":64}}}`), opts)
						return err
					})
					patch("the namespace label", func(c *kube.Client, opts metav1.PatchOptions) error {
						_, err := c.Typed.CoreV1().Namespaces().Patch(ctx, "research-vision", types.MergePatchType,
							[]byte(`{"metadata":{"labels":{"`+platform.LabelProject+`":"hijacked"}}}`), opts)
						return err
					})
				},
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply:             []plancheck.PlanCheck{plancheck.ExpectResourceAction("gpuplane_project.vision", plancheck.ResourceActionUpdate)},
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
				Check: resource.ComposeAggregateTestCheckFunc(
					checkH100Quota(t, "research-vision", 4),
					checkLabelled(t, "research-vision", map[string]string{platform.LabelProject: "vision"}),
					func(*terraform.State) error {
						p, err := platform.FindProject(ctx, testClient(t), "research", "vision", "research-vision")
						if err != nil || p == nil || p.MaxPerPod["nvidia.com/gpu-h100"] != 4 {
							return fmt.Errorf("per-pod cap not restored: %+v, %v", p, err)
						}
						rb, err := testClient(t).Typed.RbacV1().RoleBindings("research-vision").Get(ctx, "gpuplane-viewers", metav1.GetOptions{})
						if err != nil || len(rb.Subjects) != 1 || rb.Subjects[0].Name != "fin-ops" {
							return fmt.Errorf("viewer binding not restored: %+v, %v", rb, err)
						}
						return nil
					},
				),
			},
		},
	})
}
