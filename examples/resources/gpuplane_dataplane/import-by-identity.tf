import {
  to = gpuplane_dataplane.main
  identity = {
    name = "main"
  }
}
