# A compute is imported by its name.
terraform import gpuplane_compute.h100 h100-pool
