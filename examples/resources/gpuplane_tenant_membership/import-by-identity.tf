import {
  to = gpuplane_tenant_membership.finance
  identity = {
    tenant = "research"
    name   = "finance"
  }
}
