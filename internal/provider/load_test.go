package provider

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// TestLoad (make testload, which make test runs) applies 500 projects in
// 10 tenants, with memberships, with the terraform binary at
// -parallelism=50 and the provider's default QPS and burst: the apply
// succeeds (every throttled request was retried), a second plan is empty,
// and the destroy leaves nothing labelled. It runs the CLI itself, since
// the test framework does not set -parallelism.
func TestLoad(t *testing.T) {
	if os.Getenv("GPUPLANE_LOAD") == "" {
		t.Skip("load test: GPUPLANE_LOAD=1 TF_ACC=1 (make testload)")
	}
	testAccPreCheck(t)
	const tenants, perTenant = 10, 50
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "plugins", "terraform-provider-gpuplane"), ".")
	build.Dir = filepath.Dir(bin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	cliConfig := filepath.Join(dir, "terraformrc")
	if err := os.WriteFile(cliConfig, []byte(fmt.Sprintf(`provider_installation {
  dev_overrides { "gpuplane/gpuplane" = %q }
  direct {}
}
`, filepath.Join(dir, "plugins"))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(loadConfig(testCluster.Kubeconfig, tenants, perTenant)), 0o600); err != nil {
		t.Fatal(err)
	}
	tf := func(args ...string) (string, error) {
		start := time.Now()
		cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		t.Logf("terraform %s: %s", args[0], time.Since(start).Round(time.Second))
		return out.String(), err
	}
	if out, err := tf("apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=50"); err != nil {
		t.Fatalf("apply of %d projects failed: %v\n%s", tenants*perTenant, err, tail(out))
	}
	if out, err := tf("plan", "-detailed-exitcode", "-input=false", "-no-color", "-parallelism=50"); err != nil {
		t.Errorf("the second plan is not empty (or failed): %v\n%s", err, tail(out))
	}
	if out, err := tf("destroy", "-auto-approve", "-input=false", "-no-color", "-parallelism=50"); err != nil {
		t.Fatalf("destroy failed: %v\n%s", err, tail(out))
	}
	if err := checkNoGpuplaneObjects(nil); err != nil {
		t.Error(err)
	}
}

// loadConfig is a platform of tenants × perTenant projects, each tenant
// with a group membership covering every project and a user's covering all.
func loadConfig(kubeconfig string, tenants, perTenant int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `terraform {
  required_providers {
    gpuplane = { source = "gpuplane/gpuplane" }
  }
}
provider "gpuplane" { config_path = %q }
resource "gpuplane_dataplane" "main" {
  name         = "main"
  gpu_families = { "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100" } }
}
resource "gpuplane_tenant" "t" {
  count     = %d
  dataplane = gpuplane_dataplane.main.name
  name      = "load-${count.index}"
  gpu_quota = { limits = { "NVIDIA-H100" = %d } }
}
resource "gpuplane_project" "p" {
  count     = %d
  tenant    = gpuplane_tenant.t[count.index %% %d].name
  name      = "p${floor(count.index / %d)}"
  gpu_quota = { limits = { "NVIDIA-H100" = 1 } }
}
resource "gpuplane_tenant_membership" "viewers" {
  count   = %d
  tenant  = gpuplane_tenant.t[count.index].name
  subject = { kind = "Group", name = "viewers-${count.index}" }
  role    = "viewer"
}
resource "gpuplane_tenant_membership" "lead" {
  count   = %d
  tenant  = gpuplane_tenant.t[count.index].name
  subject = { kind = "User", name = "lead-${count.index}@example.com" }
  role    = "admin"
}
`, kubeconfig, tenants, perTenant, tenants*perTenant, tenants, tenants, tenants, tenants)
	return b.String()
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
