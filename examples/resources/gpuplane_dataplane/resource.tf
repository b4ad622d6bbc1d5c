resource "gpuplane_dataplane" "main" {
  name = "main"
  gpu_families = {
    "NVIDIA-H100" = {
      resource_name = "nvidia.com/gpu-h100"
      node_selector = { "nvidia.com/gpu.product" = "NVIDIA-H100-80GB-HBM3" }
    }
    # A MIG profile is a family of its own, with its own resource name.
    "NVIDIA-A100-1g" = {
      resource_name = "nvidia.com/mig-1g.10gb"
      node_selector = { "nvidia.com/gpu.product" = "NVIDIA-A100-SXM4-80GB" }
    }
    # DRA device classes work too.
    "NVIDIA-B200" = { device_class = "b200.nvidia.com" }
  }
}

output "gpu_capacity" {
  value = gpuplane_dataplane.main.gpu_capacity
}
