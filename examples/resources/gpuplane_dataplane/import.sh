# A dataplane is imported by its name.
terraform import gpuplane_dataplane.main main
