package provider

import (
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The gpuplane_dataplane data source is read in TestAccGPUUsage's apply,
// which sets up the GPU nodes and projects it reads.

const dataplaneLookup = `
data "gpuplane_dataplane" "this" {
  depends_on = [gpuplane_dataplane.main]
}
`

// dataplaneLookupChecks: with no name, the look-up finds the cluster's one
// dataplane and reads what the resource holds, and the live capacity.
func dataplaneLookupChecks() []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.ExpectKnownValue("data.gpuplane_dataplane.this", tfjsonpath.New("name"), knownvalue.StringExact("main")),
		statecheck.ExpectKnownValue("data.gpuplane_dataplane.this", tfjsonpath.New("gpu_capacity").AtMapKey("NVIDIA-H100"), knownvalue.Int64Exact(16)),
		statecheck.CompareValuePairs("data.gpuplane_dataplane.this", tfjsonpath.New("gpu_families"),
			"gpuplane_dataplane.main", tfjsonpath.New("gpu_families"), compare.ValuesSame()),
	}
}
