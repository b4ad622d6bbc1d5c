# One GPU platform on one cluster: the dataplane and its catalog, the node
# pools, and per tenant its projects and members. Apply it once per
# environment (examples/environments), each with its own cluster and prefix.

locals {
  projects = merge([for t, tv in var.tenants : {
    for p, pv in tv.projects : "${t}/${p}" => merge(pv, { tenant = t, name = p })
  }]...)
  members = merge([for t, tv in var.tenants : {
    for m, mv in tv.members : "${t}/${m}" => merge(mv, { tenant = t, key = m })
  }]...)
}

resource "gpuplane_dataplane" "this" {
  name          = var.dataplane.name
  quota_backend = var.dataplane.quota_backend
  gpu_families  = var.dataplane.gpu_families
}

resource "gpuplane_compute" "this" {
  for_each      = var.computes
  dataplane     = gpuplane_dataplane.this.name
  name          = each.key
  display_name  = each.value.display_name
  node_selector = each.value.node_selector
  gpu_family    = each.value.gpu_family
}

resource "gpuplane_tenant" "this" {
  for_each        = var.tenants
  dataplane       = gpuplane_dataplane.this.name
  name            = "${var.name_prefix}${each.key}"
  display_name    = each.value.display_name
  admin_groups    = each.value.admin_groups
  computes        = [for c in each.value.computes : gpuplane_compute.this[c].name]
  labels          = each.value.labels
  overcommit      = each.value.overcommit
  deletion_policy = each.value.deletion_policy
  gpu_quota       = each.value.gpu_quota
}

resource "gpuplane_project" "this" {
  for_each     = local.projects
  tenant       = gpuplane_tenant.this[each.value.tenant].name
  name         = each.value.name
  compute      = each.value.compute
  labels       = each.value.labels
  role_mapping = each.value.role_mapping
  gpu_quota    = each.value.gpu_quota
}

resource "gpuplane_tenant_membership" "this" {
  for_each = local.members
  tenant   = gpuplane_tenant.this[each.value.tenant].name
  name     = each.value.key
  subject  = { kind = each.value.kind, name = each.value.name, namespace = each.value.namespace }
  role     = each.value.role
  projects = [for p in each.value.projects : gpuplane_project.this["${each.value.tenant}/${p}"].name]
}
