# The quickstart's platform on a cluster where every full GPU is
# nvidia.com/gpu (the NVIDIA device plugin and GPU operator default) and H100
# and A100 nodes differ only by a label: quota_backend = "kueue" makes Kueue
# enforce the quota per family. Kueue v0.17 or later must be installed first:
#   kubectl apply --server-side -f https://github.com/kubernetes-sigs/kueue/releases/download/v0.17.0/manifests.yaml
# The Kueue guide (docs/guides/kueue.md) walks through what this becomes.
terraform {
  # provider::gpuplane::effective_gpu_quota needs Terraform 1.8 (OpenTofu 1.8).
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

provider "gpuplane" {
  config_path = var.kubeconfig
}

resource "gpuplane_dataplane" "main" {
  name          = "main"
  quota_backend = "kueue"
  gpu_families = {
    "NVIDIA-H100" = {
      resource_name = "nvidia.com/gpu"
      node_selector = { "gpu.example.com/family" = "h100" }
    }
    "NVIDIA-A100" = {
      resource_name = "nvidia.com/gpu"
      node_selector = { "gpu.example.com/family" = "a100" }
    }
  }
}

resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
  gpu_quota = {
    limits   = { "NVIDIA-H100" = 12, "Default" = 4 }
    requests = { "NVIDIA-H100" = 4 }
  }
}

resource "gpuplane_project" "vision" {
  tenant       = gpuplane_tenant.research.name
  name         = "vision"
  role_mapping = { editor = ["vision-eng"] }
  gpu_quota = {
    limits = { "NVIDIA-H100" = 8, "Default" = 2 }
  }
}

resource "gpuplane_project" "nlp" {
  tenant       = gpuplane_tenant.research.name
  name         = "nlp"
  role_mapping = { editor = ["nlp-eng"] }
  gpu_quota = {
    limits   = { "Default" = 2 }
    requests = { "NVIDIA-H100" = 1 }
  }
}
