terraform {
  # provider::gpuplane::effective_gpu_quota needs 1.8; OpenTofu 1.8 and later work too.
  required_version = ">= 1.8"
  required_providers {
    gpuplane = {
      source = "gpuplane/gpuplane"
    }
  }
}
