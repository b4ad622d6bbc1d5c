#!/usr/bin/env bash
# make docs: the provider's schema as `providers schema -json` prints it,
# for tfplugindocs (--providers-schema). OpenTofu prints resource identity
# schemas (Terraform does from 1.12; the Terraform on PATH may be older), so
# the docs show every resource's identity and its import-by-identity
# example whichever Terraform is installed. Usage: docs-schema.sh <tofu> <out.json>
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tofu="$1" out="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/main.tf" <<'TF'
terraform {
  required_providers {
    gpuplane = { source = "gpuplane/gpuplane" }
  }
}
TF
cat > "$work/cli.tfrc" <<RC
provider_installation {
  dev_overrides { "gpuplane/gpuplane" = "$root/bin" }
  direct {}
}
RC
(cd "$work" && TF_CLI_CONFIG_FILE="$work/cli.tfrc" CHECKPOINT_DISABLE=1 "$tofu" providers schema -json) |
	sed 's#"registry.opentofu.org/gpuplane/gpuplane"#"gpuplane"#' > "$out"
grep -q '"resource_identity_schemas"' "$out" || { echo "$out: no resource identity schemas" >&2; exit 1; }
