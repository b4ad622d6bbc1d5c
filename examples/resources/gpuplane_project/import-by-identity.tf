import {
  to = gpuplane_project.vision
  identity = {
    tenant = "research"
    name   = "vision"
  }
}
