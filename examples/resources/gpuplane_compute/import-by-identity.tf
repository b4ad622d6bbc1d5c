import {
  to = gpuplane_compute.h100
  identity = {
    name = "h100-pool"
  }
}
