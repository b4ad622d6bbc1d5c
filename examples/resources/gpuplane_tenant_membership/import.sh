# A membership is imported as <tenant>/<membership> (or <tenant>:<membership>).
terraform import gpuplane_tenant_membership.finance research/finance
