import {
  to = gpuplane_tenant.research
  id = "research"
}
