package provider

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
)

// badInputBase is a valid platform: the catalog's bad inputs each change
// or add one thing to it.
const badInputBase = `
resource "gpuplane_dataplane" "main" {
  name = "main"
  gpu_families = {
    "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100" }
    "NVIDIA-A100" = { resource_name = "nvidia.com/mig-1g.10gb" }
  }
}
resource "gpuplane_compute" "h100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "h100-pool"
  node_selector = { "pool" = "h100" }
  gpu_family    = "NVIDIA-H100"
}
resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
  computes  = [gpuplane_compute.h100.name]
  labels    = { "cost-center" = "r-42" }
  gpu_quota = { limits = { "NVIDIA-H100" = 8, "Default" = 4 }, requests = { "NVIDIA-H100" = 4 } }
}
resource "gpuplane_project" "vision" {
  tenant    = gpuplane_tenant.research.name
  name      = "vision"
  gpu_quota = { limits = { "NVIDIA-H100" = 4, "Default" = 2 } }
}
resource "gpuplane_tenant" "other" {
  dataplane = gpuplane_dataplane.main.name
  name      = "other"
}
resource "gpuplane_project" "team" {
  tenant = gpuplane_tenant.other.name
  name   = "team"
}
resource "gpuplane_tenant_membership" "alice" {
  tenant  = gpuplane_tenant.research.name
  subject = { kind = "User", name = "alice@example.com" }
  role    = "developer"
}
`

// badInput is one invalid configuration: the base with replace applied
// (old → new pairs) and extra appended, and the parts of the message users
// see, in order.
type badInput struct {
	replace []string
	extra   string
	want    []string
}

func (b badInput) config() string {
	return strings.NewReplacer(b.replace...).Replace(badInputBase) + b.extra
}

// TestAccBadInput is the catalog of what gpuplane refuses: each invalid
// configuration fails its plan with the message users will see, and
// leaves every gpuplane object of the cluster as it was.
func TestAccBadInput(t *testing.T) {
	testAccPreCheck(t)
	createNamespace(t, "made-by-hand")
	var before []string
	snapshot := func() []string {
		got, err := labelledObjects(context.Background(), testClient(t))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	steps := []resource.TestStep{{
		Config: badInputBase,
		Check: func(*terraform.State) error {
			for _, ns := range []string{"research", "research-vision", "other"} { // other-team has no limit: an empty quota
				if err := waitQuotaStatus(testClient(t).Typed, ns); err != nil {
					return err
				}
			}
			before = snapshot()
			return nil
		},
	}}
	cases := badInputs()
	names := make([]string, 0, len(cases))
	for name := range cases {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		tc := cases[name]
		steps = append(steps, resource.TestStep{
			PreConfig: func() {
				t.Logf("bad input: %s", name)
				if after := snapshot(); !slices.Equal(after, before) {
					t.Fatalf("before %q the cluster changed:\nbefore %v\nafter  %v", name, before, after)
				}
			},
			Config:      tc.config(),
			PlanOnly:    true,
			ExpectError: wrapped(tc.want...),
		})
	}
	steps = append(steps, resource.TestStep{
		PreConfig: func() {
			if after := snapshot(); !slices.Equal(after, before) {
				t.Fatalf("the bad inputs changed the cluster:\nbefore %v\nafter  %v", before, after)
			}
		},
		Config:   badInputBase,
		PlanOnly: true,
	})
	if len(cases) < 40 {
		t.Fatalf("the catalog has %d bad inputs; keep at least 40", len(cases))
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps:                    steps,
	})
}
