import {
  to = gpuplane_compute.h100
  id = "h100-pool"
}
