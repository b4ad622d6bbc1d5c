# A team's repository builds on the tenant its platform repository made.
data "gpuplane_tenant" "research" {
  name = "research"
}

output "research_h100_limit" {
  value = data.gpuplane_tenant.research.effective_gpu_quota["NVIDIA-H100"].limit
}
