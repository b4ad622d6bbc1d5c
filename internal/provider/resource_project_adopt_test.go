package provider

import (
	"context"
	"fmt"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// A namespace made by another tool becomes a project's only when the
// configuration says so (adopt_namespace): without it the plan refuses the
// namespace and says how to adopt it; with it the plan warns what adopting
// means, the apply labels the namespace and writes the project's objects,
// what was in the namespace stays, and a destroy deletes the namespace.
func TestAccProject_adoptNamespace(t *testing.T) {
	testAccPreCheck(t)
	const ns = "legacy-vision"
	createNamespace(t, ns)
	c := testClient(t)
	ctx := context.Background()
	keep := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "team-settings", Namespace: ns}, Data: map[string]string{"a": "b"}}
	if _, err := c.Typed.CoreV1().ConfigMaps(ns).Create(ctx, keep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	config := func(adopt string) string {
		return platformConfig(researchTenant) + projectConfig("vision", fmt.Sprintf(`
  namespace       = %q
  gpu_quota       = { limits = { "NVIDIA-H100" = 2 } }
  %s
`, ns, adopt))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			n, err := c.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return err
			case n.DeletionTimestamp == nil:
				return fmt.Errorf("the adopted namespace %s is still there after destroy: it is the project's", ns)
			}
			return checkNoGpuplaneObjects(s)
		},
		Steps: []resource.TestStep{
			{
				Config: config(""),
				ExpectError: wrapped(`namespace "legacy-vision" already exists and was not created by gpuplane`,
					`set adopt_namespace = true`),
			},
			{
				Config: config("adopt_namespace = true"),
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PreApply: []plancheck.PlanCheck{plancheck.ExpectResourceAction("gpuplane_project.vision", plancheck.ResourceActionCreate)},
				},
				Check: resource.ComposeTestCheckFunc(
					checkQuotaExactly(t, ns, map[string]int64{"requests.nvidia.com/gpu-h100": 2, "requests.nvidia.com/mig-1g.10gb": 4}),
					checkLabelled(t, ns, map[string]string{platform.LabelTenant: "research", platform.LabelProject: "vision"}),
					func(*terraform.State) error {
						if _, err := c.Typed.CoreV1().ConfigMaps(ns).Get(ctx, keep.Name, metav1.GetOptions{}); err != nil {
							return fmt.Errorf("what was in the adopted namespace must stay: %v", err)
						}
						return nil
					},
				),
			},
		},
	})
}
