# The cluster's dataplane, read from a module in another repository.
data "gpuplane_dataplane" "this" {}

output "gpu_families" {
  value = keys(data.gpuplane_dataplane.this.gpu_families)
}
