# A tenant is imported by its name.
terraform import gpuplane_tenant.research research
