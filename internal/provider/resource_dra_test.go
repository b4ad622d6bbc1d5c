package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	resourcev1 "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// draFixtures creates the device classes (one in the catalog, one
// generic) and a ResourceSlice of 8 devices on a node of the family.
func draFixtures(t *testing.T) {
	t.Helper()
	fakeGPUNode(t, "dra-h100", map[string]string{"gpu.example.com/family": "h100-dra"}, nil)
	c := testClient(t).Typed.ResourceV1()
	ctx := context.Background()
	for _, name := range []string{"h100.example.com", "generic.example.com"} {
		class := &resourcev1.DeviceClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: resourcev1.DeviceClassSpec{
			Selectors: []resourcev1.DeviceSelector{{CEL: &resourcev1.CELDeviceSelector{Expression: `device.driver == "gpu.example.com"`}}}}}
		if _, err := c.DeviceClasses().Create(ctx, class, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.DeviceClasses().Delete(context.Background(), name, metav1.DeleteOptions{}) })
	}
	node := "dra-h100"
	slice := &resourcev1.ResourceSlice{ObjectMeta: metav1.ObjectMeta{Name: "dra-h100-gpus"}, Spec: resourcev1.ResourceSliceSpec{
		Driver: "gpu.example.com", NodeName: &node,
		Pool: resourcev1.ResourcePool{Name: "dra-h100", ResourceSliceCount: 1},
	}}
	for i := range 8 {
		slice.Spec.Devices = append(slice.Spec.Devices, resourcev1.Device{Name: fmt.Sprintf("gpu-%d", i)})
	}
	if _, err := c.ResourceSlices().Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.ResourceSlices().Delete(context.Background(), slice.Name, metav1.DeleteOptions{}) })
}

const draConfig = `
resource "gpuplane_dataplane" "dra" {
  name = "dra"
  gpu_families = {
    "H100-DRA" = { device_class = "h100.example.com", node_selector = { "gpu.example.com/family" = "h100-dra" } }
  }
}

resource "gpuplane_tenant" "dra" {
  name      = "dra"
  dataplane = gpuplane_dataplane.dra.name
  gpu_quota = { limits = { "H100-DRA" = 8 }, requests = { "H100-DRA" = 4 } }
}

resource "gpuplane_project" "p" {
  tenant              = gpuplane_tenant.dra.name
  name                = "p"
  deletion_protection = false
  gpu_quota           = { limits = { "H100-DRA" = 6 }, requests = { "H100-DRA" = 2 } }
}
`

// TestAccDRA_claims: a claim above the family's per-workload cap is
// refused and one within it admitted; a claim or template for a class
// outside the catalog is refused; usage counts the claimed devices and
// capacity the devices in ResourceSlices.
func TestAccDRA_claims(t *testing.T) {
	testAccPreCheck(t)
	draFixtures(t)
	c := testClient(t).Typed
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{{
			Config: draConfig,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("gpuplane_dataplane.dra", "gpu_capacity.H100-DRA", "8"),
				func(*terraform.State) error { return checkClaims(c) },
			),
		}, {
			Config: draConfig + `
data "gpuplane_gpu_usage" "p" {
  project = "dra/p"
}
`,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.p", "families.H100-DRA.used", "3"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.p", "families.H100-DRA.limit", "6"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.p", "families.H100-DRA.capacity", "8"),
			),
		}},
	})
}

func claim(name, class string, count int64, mode resourcev1.DeviceAllocationMode) *resourcev1.ResourceClaim {
	return &resourcev1.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: claimSpec(class, count, mode)}
}

func claimSpec(class string, count int64, mode resourcev1.DeviceAllocationMode) resourcev1.ResourceClaimSpec {
	req := &resourcev1.ExactDeviceRequest{DeviceClassName: class, AllocationMode: mode}
	if mode == resourcev1.DeviceAllocationModeExactCount {
		req.Count = count
	}
	return resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{{Name: "gpus", Exactly: req}}}}
}

func checkClaims(c kubernetes.Interface) error {
	ctx := context.Background()
	claims := c.ResourceV1().ResourceClaims("dra-p")
	refused := func(err error, want string) bool { return err != nil && strings.Contains(err.Error(), want) }
	exact := resourcev1.DeviceAllocationModeExactCount
	var errs []error
	if _, err := claims.Create(ctx, claim("over-cap", "h100.example.com", 3, exact), metav1.CreateOptions{}); !refused(err, "h100.example.com at most 2") {
		errs = append(errs, fmt.Errorf("a claim for 3 devices (cap 2): got %v, want refused naming h100.example.com at most 2", err))
	}
	if _, err := claims.Create(ctx, claim("all", "h100.example.com", 0, resourcev1.DeviceAllocationModeAll), metav1.CreateOptions{}); !refused(err, "at most 2") {
		errs = append(errs, fmt.Errorf("a claim for all devices (cap 2): got %v, want refused", err))
	}
	if _, err := claims.Create(ctx, claim("generic", "generic.example.com", 1, exact), metav1.CreateOptions{}); !refused(err, "outside the GPU catalog") {
		errs = append(errs, fmt.Errorf("a claim for a class outside the catalog: got %v, want refused", err))
	}
	tmpl := &resourcev1.ResourceClaimTemplate{ObjectMeta: metav1.ObjectMeta{Name: "over-cap"},
		Spec: resourcev1.ResourceClaimTemplateSpec{Spec: claimSpec("h100.example.com", 3, exact)}}
	if _, err := c.ResourceV1().ResourceClaimTemplates("dra-p").Create(ctx, tmpl, metav1.CreateOptions{}); !refused(err, "at most 2") {
		errs = append(errs, fmt.Errorf("a claim template for 3 devices (cap 2): got %v, want refused", err))
	}
	// Within the cap: admitted; 2 + 1 devices count as used.
	for _, cl := range []*resourcev1.ResourceClaim{claim("two", "h100.example.com", 2, exact), claim("one", "h100.example.com", 1, exact)} {
		if _, err := claims.Create(ctx, cl, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			errs = append(errs, fmt.Errorf("a claim within the cap (%s): %w", cl.Name, err))
		}
	}
	return errors.Join(errs...)
}
