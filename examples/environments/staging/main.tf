# Staging: the platform module on the staging cluster. Tenants are named
# stg-<team>, quotas are small, and the groups are staging's.
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
  description = "Path of the staging cluster's kubeconfig."
}

variable "research_h100_limit" {
  type        = number
  default     = 4
  description = "H100 GPUs of the research tenant in staging."
}

provider "gpuplane" {
  config_path = var.kubeconfig
}

module "platform" {
  source      = "../../modules/gpu-platform"
  name_prefix = "stg-"
  dataplane = {
    gpu_families = {
      "NVIDIA-H100" = {
        resource_name = "nvidia.com/gpu"
        node_selector = { "gpu.example.com/family" = "h100" }
      }
    }
  }
  computes = {
    "stg-h100" = { node_selector = { "pool" = "stg-h100" }, gpu_family = "NVIDIA-H100" }
  }
  tenants = {
    research = {
      admin_groups = ["stg-research-admins"]
      computes     = ["stg-h100"]
      gpu_quota    = { limits = { "NVIDIA-H100" = var.research_h100_limit } }
      projects = {
        vision = {
          compute      = "stg-h100"
          role_mapping = { editor = ["stg-vision-eng"] }
          gpu_quota    = { limits = { "NVIDIA-H100" = 2 }, requests = { "NVIDIA-H100" = 1 } }
        }
        # Everything else left out: no groups, and one GPU.
        nlp = { gpu_quota = { limits = { "NVIDIA-H100" = 1 } } }
      }
      members = {
        alice = { kind = "User", name = "alice@example.com", role = "developer", projects = ["vision"] }
      }
    }
    # A tenant with every field left out: no quota (unlimited), no projects.
    sandbox = {}
  }
}

output "project_namespaces" {
  value = module.platform.project_namespaces
}

output "effective_gpu_quota" {
  value = module.platform.effective_gpu_quota
}
