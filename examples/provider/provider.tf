terraform {
  # provider::gpuplane::effective_gpu_quota needs Terraform 1.8 (OpenTofu 1.8).
  required_version = ">= 1.8"
  required_providers {
    gpuplane = {
      source = "gpuplane/gpuplane"
    }
  }
}

# A kubeconfig and context, as kubectl uses them.
provider "gpuplane" {
  config_path    = "~/.kube/config"
  config_context = "kind-gpu"
  qps            = 50
  burst          = 100
}

# Or explicit credentials, e.g. from the module that made the cluster in the
# same apply. While they are unknown, gpuplane sends no request anywhere.
provider "gpuplane" {
  alias                  = "explicit"
  host                   = var.cluster_endpoint
  cluster_ca_certificate = var.cluster_ca_certificate
  exec {
    api_version = "client.authentication.k8s.io/v1"
    command     = "kubelogin"
    args        = ["get-token", "--server-id", "gpu-cluster"]
  }
}

variable "cluster_endpoint" { type = string }
variable "cluster_ca_certificate" { type = string }
