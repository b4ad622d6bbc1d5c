# A project is imported as <tenant>/<project> (or <tenant>:<project>).
terraform import gpuplane_project.vision research/vision
