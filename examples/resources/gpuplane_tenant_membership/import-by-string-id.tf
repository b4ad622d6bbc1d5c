import {
  to = gpuplane_tenant_membership.finance
  id = "research/finance"
}
