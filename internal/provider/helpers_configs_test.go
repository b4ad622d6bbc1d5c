// Shared configurations of the acceptance tests (with helpers_test.go, the one place for test helpers).

package provider

import (
	"fmt"

	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
)

// platformConfig is a dataplane with an H100 and an A100 (MIG) family, and a
// tenant "research" with the given tenant attributes.
func platformConfig(tenantBody string) string {
	return fmt.Sprintf(`
resource "gpuplane_dataplane" "main" {
  name = "main"
  gpu_families = {
    "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100" }
    "NVIDIA-A100" = { resource_name = "nvidia.com/mig-1g.10gb" }
  }
}

resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
%s
}
`, tenantBody)
}

const researchTenant = `
  display_name = "Research"
  admin_groups = ["research-admins"]
  gpu_quota = {
    limits   = { "NVIDIA-H100" = 8, "Default" = 4 }
    requests = { "NVIDIA-H100" = 4, "Default" = 2 }
  }
  labels = { "cost-center" = "r-42" }
`

func projectConfig(name, body string) string {
	return fmt.Sprintf(`
resource "gpuplane_project" %[1]q {
  tenant = gpuplane_tenant.research.name
  name   = %[1]q
%[2]s
}
`, name, body)
}

// The projects of the shared configurations opt out of deletion protection:
// the tests leave Pending pods in their namespaces.
const visionProject = `
  deletion_protection = false
  role_mapping = { viewer = ["fin-ops"], editor = ["ml-eng"], admin = ["vision-leads"] }
  gpu_quota    = { limits = { "NVIDIA-H100" = 4, "Default" = 2 } }
  labels       = { "team" = "vision" }
`

const nlpProject = `
  deletion_protection = false
  gpu_quota = { limits = { "NVIDIA-H100" = 4, "Default" = 2 }, requests = { "NVIDIA-H100" = 1 } }
`

func effective(limit, request int64, limitSource, requestSource string) knownvalue.Check {
	return knownvalue.ObjectExact(map[string]knownvalue.Check{
		"limit": knownvalue.Int64Exact(limit), "request": knownvalue.Int64Exact(request),
		"limit_source": knownvalue.StringExact(limitSource), "request_source": knownvalue.StringExact(requestSource),
	})
}

// everyResource is a configuration of every resource and the usage data
// source: a dataplane, a compute, a tenant with an H100 limit, a project on
// the compute and a membership.
func everyResource(limit int) string {
	return platformConfig(fmt.Sprintf(`
  admin_groups = ["research-admins"]
  computes     = [gpuplane_compute.pool.name]
  gpu_quota    = { limits = { "NVIDIA-H100" = %d } }`, limit)) + projectConfig("vision", `compute = gpuplane_compute.pool.name`) + `
resource "gpuplane_compute" "pool" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "pool"
  node_selector = { "pool" = "h100" }
}
resource "gpuplane_tenant_membership" "alice" {
  tenant     = gpuplane_tenant.research.name
  subject    = { kind = "User", name = "alice@example.com" }
  role       = "developer"
  depends_on = [gpuplane_project.vision]
}
data "gpuplane_gpu_usage" "all" { depends_on = [gpuplane_project.vision] }
`
}
