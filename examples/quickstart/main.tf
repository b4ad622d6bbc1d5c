# The quickstart: a dataplane with two GPU families, a tenant and two
# projects. `make demo` applies it to the local control plane, whose fake
# nodes hold 16 H100 GPUs and 7 A100 MIG slices.
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
  name = "main"
  gpu_families = {
    "NVIDIA-H100" = {
      resource_name = "nvidia.com/gpu-h100"
      node_selector = { "gpu.example.com/family" = "h100" }
    }
    "NVIDIA-A100-1g" = {
      resource_name = "nvidia.com/mig-1g.10gb"
      node_selector = { "gpu.example.com/family" = "a100" }
    }
  }
}

# The node pools. Pods of the tenant's projects must select one of its computes.
resource "gpuplane_compute" "h100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "h100-pool"
  node_selector = { "pool" = "h100" }
  gpu_family    = "NVIDIA-H100"
}

resource "gpuplane_compute" "a100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "a100-pool"
  node_selector = { "pool" = "a100" }
  gpu_family    = "NVIDIA-A100-1g"
}

resource "gpuplane_tenant" "research" {
  dataplane    = gpuplane_dataplane.main.name
  name         = "research"
  display_name = "Research"
  admin_groups = ["research-admins"]
  computes     = [gpuplane_compute.h100.name, gpuplane_compute.a100.name]
  gpu_quota = {
    limits   = { "NVIDIA-H100" = 12, "Default" = 4 }
    requests = { "NVIDIA-H100" = 4 }
  }
  labels = { "cost-center" = "r-42" }
}

resource "gpuplane_project" "vision" {
  tenant       = gpuplane_tenant.research.name
  name         = "vision"
  compute      = gpuplane_compute.h100.name
  role_mapping = { editor = ["vision-eng"], admin = ["vision-leads"] }
  gpu_quota = {
    limits = { "NVIDIA-H100" = 8, "Default" = 2 }
  }
}

resource "gpuplane_project" "nlp" {
  tenant       = gpuplane_tenant.research.name
  name         = "nlp"
  role_mapping = { editor = ["nlp-eng"] }
  gpu_quota = {
    limits   = { "Default" = 2 } # NVIDIA-H100 2 and NVIDIA-A100-1g 2
    requests = { "NVIDIA-H100" = 1 }
  }
}

# People: a developer in vision only, and a group that views every project.
resource "gpuplane_tenant_membership" "alice" {
  tenant   = gpuplane_tenant.research.name
  subject  = { kind = "User", name = "alice@example.com" }
  role     = "developer"
  projects = [gpuplane_project.vision.name]
}

resource "gpuplane_tenant_membership" "finance" {
  tenant  = gpuplane_tenant.research.name
  name    = "finance"
  subject = { kind = "Group", name = "finance" }
  role    = "viewer"
}

output "gpu_capacity" {
  description = "Allocatable GPUs per family on the dataplane's nodes, and on each compute."
  value = {
    dataplane   = gpuplane_dataplane.main.gpu_capacity
    "h100-pool" = gpuplane_compute.h100.gpu_capacity
    "a100-pool" = gpuplane_compute.a100.gpu_capacity
  }
}

output "effective_gpu_quota" {
  description = "What each project really gets, per family, and where each value comes from."
  value = {
    research = gpuplane_tenant.research.effective_gpu_quota
    vision   = gpuplane_project.vision.effective_gpu_quota
    nlp      = gpuplane_project.nlp.effective_gpu_quota
  }
}

# GPU usage of the tenant, per project and family. `make demo` creates a few
# Pending GPU pods and refreshes, so this shows them.
data "gpuplane_gpu_usage" "research" {
  tenant     = gpuplane_tenant.research.name
  depends_on = [gpuplane_project.vision, gpuplane_project.nlp]
}

output "gpu_usage" {
  description = "Used / limit per project and family, and whether the tenant is oversubscribed."
  value = {
    oversubscribed = data.gpuplane_gpu_usage.research.oversubscribed
    projects = {
      for project, families in data.gpuplane_gpu_usage.research.projects : project => {
        for family, u in families : family => "${u.used} used of ${u.limit == null ? "unlimited" : u.limit}"
      }
    }
  }
}

# The same arithmetic as the plan, without a cluster.
output "vision_quota_by_function" {
  value = provider::gpuplane::effective_gpu_quota(
    gpuplane_tenant.research.gpu_quota, gpuplane_project.vision.gpu_quota, keys(gpuplane_dataplane.main.gpu_families)
  )
}
