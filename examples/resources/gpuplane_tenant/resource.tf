resource "gpuplane_tenant" "research" {
  dataplane    = gpuplane_dataplane.main.name
  name         = "research"
  display_name = "Research"
  admin_groups = ["oidc:research-admins"]
  gpu_quota = {
    limits   = { "NVIDIA-H100" = 48, "Default" = 16 } # total at once, per family
    requests = { "NVIDIA-H100" = 8, "Default" = 4 }   # largest single workload
  }
  overcommit      = false      # projects' limits must add up to at most the tenant's
  deletion_policy = "restrict" # or "cascade"
  labels          = { "cost-center" = "r-42" }
}

output "research_effective_quota" {
  value = gpuplane_tenant.research.effective_gpu_quota
}
