# A team's own repository: it adds a project to a tenant that the platform
# repository owns (examples/environments), reading the tenant with a data
# source. The platform's plan stays empty; the tenant's quota rules still
# hold (this project must fit next to the platform's projects).
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
  description = "Path of the cluster's kubeconfig."
}

variable "tenant" {
  type        = string
  default     = "stg-research"
  description = "The tenant the platform repository made."
}

provider "gpuplane" {
  config_path = var.kubeconfig
}

data "gpuplane_tenant" "platform" {
  name = var.tenant
}

resource "gpuplane_project" "speech" {
  tenant       = data.gpuplane_tenant.platform.name
  name         = "speech"
  role_mapping = { editor = ["speech-eng"] }
  gpu_quota = {
    limits = { "NVIDIA-H100" = 1 }
  }
}

output "namespace" {
  value = gpuplane_project.speech.namespace
}

output "tenant_h100_limit" {
  description = "What the platform gives the whole tenant, for this team to see."
  value       = data.gpuplane_tenant.platform.effective_gpu_quota["NVIDIA-H100"].limit
}
