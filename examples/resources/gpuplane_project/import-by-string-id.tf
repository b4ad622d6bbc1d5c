import {
  to = gpuplane_project.vision
  id = "research/vision"
}
