# One project.
data "gpuplane_gpu_usage" "vision" {
  project = "research/vision"
}

# A tenant, with a breakdown per project.
data "gpuplane_gpu_usage" "research" {
  tenant = "research"
}

# The whole dataplane, with a breakdown per tenant.
data "gpuplane_gpu_usage" "all" {}

output "research_h100" {
  value = data.gpuplane_gpu_usage.research.families["NVIDIA-H100"] # { used, limit, available, capacity, oversubscribed }
}

# Fail a run (or a check) when a project uses more than its quota,
# e.g. after its limit was lowered below what runs.
check "no_oversubscription" {
  assert {
    condition     = !data.gpuplane_gpu_usage.research.oversubscribed
    error_message = "Tenant research uses more GPUs than its quota allows."
  }
}
