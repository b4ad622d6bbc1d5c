#!/usr/bin/env bash
# Proves that the depguard rules of .golangci.yml bite: for each layer rule,
# a file that imports what the rule forbids must make golangci-lint fail.
# `make lint` runs it after the real lint.
set -euo pipefail
cd "$(dirname "$0")/.."
lint=${GOLANGCI_LINT:-bin/golangci-lint}
probe=zz_layer_probe.go
status=0
while IFS='|' read -r pkg forbidden rule; do
	file=internal/$pkg/$probe
	trap 'rm -f "$file"' EXIT
	printf 'package %s\n\nimport _ "%s"\n' "$pkg" "$forbidden" > "$file"
	if out=$("$lint" run --enable-only depguard "./internal/$pkg/..." 2>&1); then
		echo "layer rule $rule did not refuse internal/$pkg importing $forbidden"; status=1
	elif ! grep -q "list '$rule'" <<<"$out"; then
		echo "internal/$pkg importing $forbidden failed lint, but not by rule $rule:"; echo "$out"; status=1
	fi
	rm -f "$file"
done <<'PROBES'
quota|k8s.io/apimachinery/pkg/labels|quota-is-pure
platform|github.com/hashicorp/terraform-plugin-framework/types|cluster-layers-know-no-terraform
kube|github.com/hashicorp/terraform-plugin-framework/diag|cluster-layers-know-no-terraform
crds|github.com/hashicorp/terraform-plugin-framework/path|cluster-layers-know-no-terraform
kube|github.com/gpuplane/terraform-provider-gpuplane/internal/quota|kube-is-the-bottom
provider|github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster|product-without-test-bed
PROBES
[ $status -eq 0 ] && echo "layer rules: each refuses its probe"
exit $status
