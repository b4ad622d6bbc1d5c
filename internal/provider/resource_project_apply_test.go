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
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
