package provider

import (
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The gpuplane_tenant data source is read in TestAccGPUUsage's apply.

const tenantLookup = `
data "gpuplane_tenant" "research" {
  name       = "research"
  depends_on = [gpuplane_tenant.research]
}
`

// tenantLookupChecks: the look-up reads what the resource holds.
func tenantLookupChecks() []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.CompareValuePairs("data.gpuplane_tenant.research", tfjsonpath.New("effective_gpu_quota"),
			"gpuplane_tenant.research", tfjsonpath.New("effective_gpu_quota"), compare.ValuesSame()),
		statecheck.CompareValuePairs("data.gpuplane_tenant.research", tfjsonpath.New("gpu_quota"),
			"gpuplane_tenant.research", tfjsonpath.New("gpu_quota"), compare.ValuesSame()),
		statecheck.ExpectKnownValue("data.gpuplane_tenant.research", tfjsonpath.New("labels"), knownvalue.MapExact(map[string]knownvalue.Check{
			"cost-center": knownvalue.StringExact("r-42")})),
	}
}
