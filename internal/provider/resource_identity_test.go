package provider

import (
	"regexp"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

// Every resource has an identity (Terraform and OpenTofu 1.12+): the state
// records it, and an import block by identity alone brings each resource
// back with nothing to change. With an older CLI the test is skipped (make
// testacc-tofu runs it with OpenTofu 1.12).
func TestAccIdentity(t *testing.T) {
	testAccPreCheck(t)
	config := everyResource(8)
	str := knownvalue.StringExact
	importByIdentity := func(address string) resource.TestStep {
		return resource.TestStep{Config: config, ResourceName: address, ImportState: true,
			ImportStateKind: resource.ImportBlockWithResourceIdentity}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_12_0)},
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectIdentity("gpuplane_dataplane.main", map[string]knownvalue.Check{"name": str("main")}),
					statecheck.ExpectIdentity("gpuplane_compute.pool", map[string]knownvalue.Check{"name": str("pool")}),
					statecheck.ExpectIdentity("gpuplane_tenant.research", map[string]knownvalue.Check{"name": str("research")}),
					statecheck.ExpectIdentity("gpuplane_project.vision", map[string]knownvalue.Check{
						"tenant": str("research"), "name": str("vision")}),
					statecheck.ExpectIdentity("gpuplane_tenant_membership.alice", map[string]knownvalue.Check{
						"tenant": str("research"), "name": knownvalue.StringRegexp(regexp.MustCompile(`^user-alice-example-com-`))}),
				},
			},
			importByIdentity("gpuplane_dataplane.main"),
			importByIdentity("gpuplane_compute.pool"),
			importByIdentity("gpuplane_tenant.research"),
			importByIdentity("gpuplane_project.vision"),
			importByIdentity("gpuplane_tenant_membership.alice"),
		},
	})
}
