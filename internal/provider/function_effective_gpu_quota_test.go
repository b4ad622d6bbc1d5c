package provider

import (
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/tfversion"
)

func effectiveOrUnlimited(limit, request knownvalue.Check, limitSource, requestSource string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"limit": limit, "request": request,
		"limit_source": knownvalue.StringExact(limitSource), "request_source": knownvalue.StringExact(requestSource),
	})
}

func TestEffectiveGPUQuotaFunction(t *testing.T) {
	n := func(v int64) knownvalue.Check { return knownvalue.Int64Exact(v) }
	resource.UnitTest(t, resource.TestCase{
		TerraformVersionChecks:   []tfversion.TerraformVersionCheck{tfversion.SkipBelow(tfversion.Version1_8_0)},
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{
			{
				Config: `
locals {
  families = ["NVIDIA-H100", "NVIDIA-A100", "NVIDIA-B200"]
  tenant   = { limits = { "NVIDIA-H100" = 48, "NVIDIA-A100" = 16 }, requests = { "NVIDIA-H100" = 8, "Default" = 4 } }
}
output "project" {
  value = provider::gpuplane::effective_gpu_quota(local.tenant, { limits = { "NVIDIA-H100" = 16, "Default" = 2 } }, local.families)
}
output "tenant" {
  value = provider::gpuplane::effective_gpu_quota(local.tenant, null, local.families)
}
output "inherits" {
  value = { for f, q in provider::gpuplane::effective_gpu_quota(local.tenant, {}, local.families) : f => q if f == "NVIDIA-A100" }
}
`,
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownOutputValue("project", knownvalue.MapExact(map[string]knownvalue.Check{
						"NVIDIA-H100": effectiveOrUnlimited(n(16), n(8), "project", "inherited"),
						"NVIDIA-A100": effectiveOrUnlimited(n(2), n(2), "project-default", "project-default"),
						"NVIDIA-B200": effectiveOrUnlimited(n(2), n(2), "project-default", "project-default"),
					})),
					statecheck.ExpectKnownOutputValue("tenant", knownvalue.MapExact(map[string]knownvalue.Check{
						"NVIDIA-H100": effectiveOrUnlimited(n(48), n(8), "tenant", "tenant"),
						"NVIDIA-A100": effectiveOrUnlimited(n(16), n(4), "tenant", "tenant-default"),
						"NVIDIA-B200": effectiveOrUnlimited(knownvalue.Null(), n(4), "unlimited", "tenant-default"),
					})),
					statecheck.ExpectKnownOutputValue("inherits", knownvalue.MapExact(map[string]knownvalue.Check{
						"NVIDIA-A100": effectiveOrUnlimited(n(16), n(4), "inherited", "inherited"),
					})),
				},
			},
			{
				Config:      `output "x" { value = provider::gpuplane::effective_gpu_quota({ limits = { "NVIDIA-H100" = 0.5 } }, null, ["NVIDIA-H100"]) }`,
				ExpectError: wrapped(`Invalid value for "tenant_quota" parameter: limits["NVIDIA-H100"] = 0.5: GPU counts are whole numbers`),
			},
			{
				Config:      `output "x" { value = provider::gpuplane::effective_gpu_quota({ limit = { "NVIDIA-H100" = 1 } }, null, ["NVIDIA-H100"]) }`,
				ExpectError: wrapped(`unexpected key "limit": a GPU quota has only limits and requests`),
			},
			// It refuses what the resources refuse, with their messages.
			{
				Config: `output "x" { value = provider::gpuplane::effective_gpu_quota({}, { limits = { "NVIDIA-V100" = 1 } }, ["NVIDIA-H100"]) }`,
				ExpectError: wrapped(`Invalid value for "project_quota" parameter: project_quota: gpu_quota.limits["NVIDIA-V100"] names "NVIDIA-V100",`,
					"not a GPU family of the dataplane. Use one of NVIDIA-H100"),
			},
			{
				Config:      `output "x" { value = provider::gpuplane::effective_gpu_quota({ limits = { "default" = 1 } }, null, ["NVIDIA-H100"]) }`,
				ExpectError: wrapped(`gpu_quota.limits["default"] names "default"`, `Write "Default", with a capital D.`),
			},
			{
				Config:      `output "x" { value = provider::gpuplane::effective_gpu_quota({ limits = { "NVIDIA-H100" = null } }, null, ["NVIDIA-H100"]) }`,
				ExpectError: wrapped(`limits["NVIDIA-H100"] = null: give a whole number of GPUs, or remove the key`),
			},
			{
				Config:      `output "x" { value = provider::gpuplane::effective_gpu_quota({ requests = { "NVIDIA-H100" = -2 } }, null, ["NVIDIA-H100"]) }`,
				ExpectError: wrapped(`requests["NVIDIA-H100"] = -2: GPU counts are whole numbers >= 0`),
			},
		},
	})
}
