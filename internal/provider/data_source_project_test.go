package provider

import (
	"github.com/hashicorp/terraform-plugin-testing/compare"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
)

// The gpuplane_project data source is read in TestAccGPUUsage's apply.

const projectLookup = `
data "gpuplane_project" "vision" {
  tenant     = "research"
  name       = "vision"
  depends_on = [gpuplane_project.vision]
}
`

// projectLookupChecks: the look-up reads what the resource holds.
func projectLookupChecks() []statecheck.StateCheck {
	return []statecheck.StateCheck{
		statecheck.CompareValuePairs("data.gpuplane_project.vision", tfjsonpath.New("effective_gpu_quota"),
			"gpuplane_project.vision", tfjsonpath.New("effective_gpu_quota"), compare.ValuesSame()),
		statecheck.CompareValuePairs("data.gpuplane_project.vision", tfjsonpath.New("role_mapping"),
			"gpuplane_project.vision", tfjsonpath.New("role_mapping"), compare.ValuesSame()),
		statecheck.ExpectKnownValue("data.gpuplane_project.vision", tfjsonpath.New("namespace"), knownvalue.StringExact("research-vision")),
	}
}

// unknownProjectLookupStep: a project that does not exist is an error that names it.
func unknownProjectLookupStep(resources string) resource.TestStep {
	return resource.TestStep{
		Config: resources + `data "gpuplane_project" "x" {
  tenant = "research"
  name   = "nope"
}`,
		ExpectError: wrapped(`Project "nope" does not exist in tenant "research"`),
	}
}
