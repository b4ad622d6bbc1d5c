#!/usr/bin/env bash
# make demo / make demo-down: the local control plane plus examples/quickstart,
# through a dev_overrides CLI config so no registry is needed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
demo="$root/.demo"
cp_dir="$demo/cp"
export TF_CLI_CONFIG_FILE="$demo/terraformrc"
export CHECKPOINT_DISABLE=1
tf() { terraform -chdir="$root/examples/quickstart" "$@"; }

up() {
  mkdir -p "$demo"
  cat > "$TF_CLI_CONFIG_FILE" <<RC
provider_installation {
  dev_overrides {
    "gpuplane/gpuplane" = "$root/bin"
  }
  direct {}
}
RC
  if [ -f "$demo/pid" ] && kill -0 "$(cat "$demo/pid")" 2>/dev/null; then
    echo "control plane already running (pid $(cat "$demo/pid"))"
  else
    rm -rf "$cp_dir"
    # Its own session, so it outlives this make; stopped by make demo-down.
    setsid "$root/bin/gpuplane-controlplane" -dir "$cp_dir" -keep -demo-nodes > "$demo/controlplane.log" 2>&1 < /dev/null &
    echo $! > "$demo/pid"
    for _ in $(seq 1 600); do
      [ -f "$cp_dir/ready" ] && break
      kill -0 "$(cat "$demo/pid")" 2>/dev/null || { cat "$demo/controlplane.log"; exit 1; }
      sleep 0.2
    done
    [ -f "$cp_dir/ready" ] || { echo "control plane not ready; see $demo/controlplane.log"; exit 1; }
  fi
  echo "==> terraform apply examples/quickstart"
  tf apply -auto-approve -input=false -no-color -compact-warnings -var "kubeconfig=$cp_dir/kubeconfig" 2>&1 | grep -v -i 'dev_overrides\|provider development overrides\|^ *- gpuplane/gpuplane in\|The behavior may therefore\|applies to configuration\|published releases\|^ *│ *$\|^╷\|^╵\|Warning: Provider development'
  echo "==> a few Pending GPU pods, then refresh to read their usage"
  "$root/bin/gpuplane-demo-pods" -kubeconfig "$cp_dir/kubeconfig"
  tf apply -refresh-only -auto-approve -input=false -no-color -var "kubeconfig=$cp_dir/kubeconfig" > "$demo/refresh.log" 2>&1 || {
    cat "$demo/refresh.log"; exit 1; }
  tf output -no-color gpu_usage
  echo "==> second plan (must be empty)"
  tf plan -detailed-exitcode -input=false -var "kubeconfig=$cp_dir/kubeconfig" > "$demo/plan.log" 2>&1 || {
    rc=$?; cat "$demo/plan.log"; echo "second plan is not empty (exit $rc)"; exit 1; }
  echo "No changes: the second plan is empty."
  cat <<MSG

The local control plane keeps running. Try:
  export KUBECONFIG=$cp_dir/kubeconfig
  kubectl get tenants,projects,tenantmemberships -A
  kubectl get resourcequota -n research-vision -o yaml
Edit examples/quickstart/main.tf (e.g. raise a project above its tenant) and run
  TF_CLI_CONFIG_FILE=$TF_CLI_CONFIG_FILE terraform -chdir=examples/quickstart plan -var kubeconfig=$cp_dir/kubeconfig
Stop everything with: make demo-down
MSG
}

down() {
  if [ -f "$demo/pid" ] && kill -0 "$(cat "$demo/pid")" 2>/dev/null; then
    # Deletion protection refuses to delete namespaces that still run pods.
    "$root/bin/gpuplane-demo-pods" -kubeconfig "$cp_dir/kubeconfig" -delete > /dev/null || true
    tf destroy -auto-approve -input=false -var "kubeconfig=$cp_dir/kubeconfig" > "$demo/destroy.log" 2>&1 || cat "$demo/destroy.log"
    kill "$(cat "$demo/pid")"
    while kill -0 "$(cat "$demo/pid")" 2>/dev/null; do sleep 0.2; done
  fi
  rm -rf "$demo" "$root/examples/quickstart/terraform.tfstate" "$root/examples/quickstart/terraform.tfstate.backup"
  echo "demo stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
