resource "gpuplane_compute" "h100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "h100-pool"
  display_name  = "H100 nodes"
  node_selector = { "pool" = "h100" }
  tolerations   = [{ key = "nvidia.com/gpu", operator = "Exists", effect = "NoSchedule" }]
  gpu_family    = "NVIDIA-H100"
}

# Tenants list the computes their projects may use. Pods in those projects must
# then select one of them, e.g. with nodeSelector { pool = "h100" }; the API
# server refuses pods that do not.
resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
  computes  = [gpuplane_compute.h100.name]
}

output "h100_pool" {
  value = { nodes = gpuplane_compute.h100.nodes, gpus = gpuplane_compute.h100.gpu_capacity }
}
