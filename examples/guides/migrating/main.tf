# Migrating a team namespace made with terraform-provider-kubernetes to a
# gpuplane project, without deleting the namespace or what runs in it.
#
# Before, this configuration held:
#
#   resource "kubernetes_namespace" "vision"          { metadata { name = "vision" } }
#   resource "kubernetes_resource_quota" "vision_gpu" { ... "requests.nvidia.com/gpu" = 8 ... }
#   resource "kubernetes_role_binding" "vision_edit"  { ... group "vision-eng" -> edit ... }
terraform {
  # removed blocks with lifecycle: Terraform 1.7, OpenTofu 1.7.
  required_version = ">= 1.8"
  required_providers {
    gpuplane = {
      source = "gpuplane/gpuplane"
    }
  }
}

# 1. The namespace leaves Terraform's state without being deleted...
removed {
  from = kubernetes_namespace.vision
  lifecycle {
    destroy = false
  }
}

# 2. ...and the project adopts it: same name, adopt_namespace = true.
resource "gpuplane_project" "vision" {
  tenant          = "research"
  name            = "vision"
  namespace       = "vision"
  adopt_namespace = true
  role_mapping    = { editor = ["vision-eng"] }
  gpu_quota       = { limits = { "NVIDIA-H100" = 8 } }
}

# 3. The old quota and binding are deleted by Terraform (their blocks are
#    gone from the configuration): gpuplane's quota and bindings replace
#    them. Keep them instead with removed blocks like the one above, and
#    delete them by hand once the project is applied.
