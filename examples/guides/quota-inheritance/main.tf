# The quota inheritance guide's worked example, with no cluster: the
# provider function computes what the plan shows in effective_gpu_quota.
terraform {
  required_version = ">= 1.8"
  required_providers {
    gpuplane = {
      source = "gpuplane/gpuplane"
    }
  }
}

locals {
  families = ["NVIDIA-H100", "NVIDIA-A100-1g"]
  research = { limits = { "NVIDIA-H100" = 12, "Default" = 4 }, requests = { "NVIDIA-H100" = 4 } }
  projects = {
    vision  = { limits = { "NVIDIA-H100" = 8, "Default" = 2 } }
    nlp     = { limits = { "Default" = 2 }, requests = { "NVIDIA-H100" = 1 } }
    scratch = {} # sets nothing: inherits everything
  }
}

output "research" {
  value = provider::gpuplane::effective_gpu_quota(local.research, null, local.families)
}

output "projects" {
  value = { for name, q in local.projects : name => provider::gpuplane::effective_gpu_quota(local.research, q, local.families) }
}
