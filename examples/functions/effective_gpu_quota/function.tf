locals {
  tenant_quota  = { limits = { "NVIDIA-H100" = 48, "Default" = 16 }, requests = { "NVIDIA-H100" = 8 } }
  project_quota = { limits = { "NVIDIA-H100" = 16 } }
  families      = ["NVIDIA-H100", "NVIDIA-A100"]
}

# {
#   "NVIDIA-A100" = { limit = 16, limit_source = "inherited", request = 16, request_source = "inherited" }
#   "NVIDIA-H100" = { limit = 16, limit_source = "project",   request = 8,  request_source = "inherited" }
# }
output "vision_quota" {
  value = provider::gpuplane::effective_gpu_quota(local.tenant_quota, local.project_quota, local.families)
}

# A null project quota gives the tenant's own effective quota.
output "tenant_quota" {
  value = provider::gpuplane::effective_gpu_quota(local.tenant_quota, null, local.families)
}
