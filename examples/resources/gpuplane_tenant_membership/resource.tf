# A developer in one project of the tenant (and the tenant namespace).
resource "gpuplane_tenant_membership" "alice" {
  tenant   = gpuplane_tenant.research.name
  subject  = { kind = "User", name = "alice@example.com" }
  role     = "developer" # admin | developer | viewer
  projects = [gpuplane_project.vision.name]
}

# A viewer of every project of the tenant, including projects created later.
resource "gpuplane_tenant_membership" "finance" {
  tenant  = gpuplane_tenant.research.name
  name    = "finance"
  subject = { kind = "Group", name = "oidc:finance" }
  role    = "viewer"
}

# A CI service account (the only subject kind with a namespace).
resource "gpuplane_tenant_membership" "ci" {
  tenant  = gpuplane_tenant.research.name
  subject = { kind = "ServiceAccount", name = "deployer", namespace = "ci-system" }
  role    = "developer"
}
