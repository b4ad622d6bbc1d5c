# Production: the same module on the production cluster. Tenants keep their
# plain names, quotas are the real ones, and the groups are production's.
terraform {
  required_version = ">= 1.8"
  required_providers {
    gpuplane = {
      source = "gpuplane/gpuplane"
    }
  }
}

variable "kubeconfig" {
  type        = string
  description = "Path of the production cluster's kubeconfig."
}

provider "gpuplane" {
  config_path = var.kubeconfig
}

module "platform" {
  source = "../../modules/gpu-platform"
  dataplane = {
    gpu_families = {
      "NVIDIA-H100" = {
        resource_name = "nvidia.com/gpu"
        node_selector = { "gpu.example.com/family" = "h100" }
      }
      "NVIDIA-A100-1g" = {
        resource_name = "nvidia.com/mig-1g.10gb"
        node_selector = { "gpu.example.com/family" = "a100" }
      }
    }
  }
  computes = {
    "h100-pool" = { node_selector = { "pool" = "h100" }, gpu_family = "NVIDIA-H100" }
    "a100-pool" = { node_selector = { "pool" = "a100" }, gpu_family = "NVIDIA-A100-1g" }
  }
  tenants = {
    research = {
      display_name = "Research"
      admin_groups = ["research-admins"]
      computes     = ["h100-pool", "a100-pool"]
      labels       = { "cost-center" = "r-42" }
      gpu_quota = {
        limits   = { "NVIDIA-H100" = 32, "Default" = 8 }
        requests = { "NVIDIA-H100" = 8 }
      }
      projects = {
        vision = {
          compute      = "h100-pool"
          role_mapping = { editor = ["vision-eng"], admin = ["vision-leads"] }
          gpu_quota    = { limits = { "NVIDIA-H100" = 16, "Default" = 4 } }
        }
        nlp = {
          role_mapping = { editor = ["nlp-eng"] }
          gpu_quota    = { limits = { "NVIDIA-H100" = 8, "Default" = 4 } }
        }
      }
      members = {
        alice   = { kind = "User", name = "alice@example.com", role = "developer", projects = ["vision"] }
        finance = { kind = "Group", name = "finance", role = "viewer" }
      }
    }
  }
}

output "project_namespaces" {
  value = module.platform.project_namespaces
}

output "effective_gpu_quota" {
  value = module.platform.effective_gpu_quota
}
