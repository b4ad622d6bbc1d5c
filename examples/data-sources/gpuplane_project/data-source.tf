data "gpuplane_project" "vision" {
  tenant = "research"
  name   = "vision"
}

# Deploy workloads into the project's namespace.
output "namespace" {
  value = data.gpuplane_project.vision.namespace
}
