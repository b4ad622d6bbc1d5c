resource "gpuplane_project" "vision" {
  tenant       = gpuplane_tenant.research.name
  name         = "vision" # namespace research-vision
  role_mapping = { viewer = ["fin-ops"], editor = ["ml-eng"], admin = ["vision-leads"] }
  gpu_quota = {
    limits   = { "NVIDIA-H100" = 16, "Default" = 4 }
    requests = { "NVIDIA-H100" = 4 }
  }
}

# What the project really gets, per family, with where each value comes from.
output "vision_effective_quota" {
  value = gpuplane_project.vision.effective_gpu_quota
}
