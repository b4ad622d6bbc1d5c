import {
  to = gpuplane_dataplane.main
  id = "main"
}
