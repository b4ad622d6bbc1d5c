import {
  to = gpuplane_tenant.research
  identity = {
    name = "research"
  }
}
