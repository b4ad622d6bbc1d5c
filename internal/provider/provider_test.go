package provider

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/tfsdk"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-go/tftypes"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
)

func TestConfigFromModelEnvFallbacks(t *testing.T) {
	env := map[string]string{
		"KUBE_CONFIG_PATH": "/env/config", "KUBE_CTX": "env-ctx", "KUBE_HOST": "https://env.example",
		"KUBE_TOKEN": "env-token", "KUBE_INSECURE": "true", "KUBE_CTX_AUTH_INFO": "env-user", "KUBE_CTX_CLUSTER": "env-cluster",
	}
	getenv := func(k string) string { return env[k] }
	null := nullProviderModel()

	cfg, diags := configFromModel(context.Background(), null, getenv)
	if diags.HasError() {
		t.Fatal(diags)
	}
	if cfg.ConfigPaths[0] != "/env/config" || cfg.ConfigContext != "env-ctx" || cfg.Host != "https://env.example" ||
		cfg.Token != "env-token" || !cfg.Insecure || cfg.ConfigContextAuthInfo != "env-user" || cfg.ConfigContextCluster != "env-cluster" {
		t.Errorf("env fallbacks not applied: %+v", cfg)
	}

	// Attributes win over the environment.
	set := null
	set.ConfigPath = types.StringValue("~/kc")
	set.Host = types.StringValue("https://attr.example")
	set.Insecure = types.BoolValue(false)
	cfg, diags = configFromModel(context.Background(), set, getenv)
	if diags.HasError() {
		t.Fatal(diags)
	}
	home, _ := os.UserHomeDir()
	if cfg.ConfigPaths[0] != filepath.Join(home, "kc") || cfg.Host != "https://attr.example" || cfg.Insecure {
		t.Errorf("attributes must override env and ~ must expand: %+v", cfg)
	}

	// KUBE_CONFIG_PATHS splits like KUBECONFIG.
	env = map[string]string{"KUBE_CONFIG_PATHS": "/a:/b"}
	cfg, _ = configFromModel(context.Background(), null, getenv)
	if len(cfg.ConfigPaths) != 2 || cfg.ConfigPaths[1] != "/b" {
		t.Errorf("KUBE_CONFIG_PATHS = /a:/b gave %v", cfg.ConfigPaths)
	}
}

func TestConfigFromModelErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		env    map[string]string
		mutate func(*gpuplaneProviderModel)
		want   string
	}{
		"bad bool env": {env: map[string]string{"KUBE_INSECURE": "yes please"}, want: "KUBE_INSECURE"},
		"in_cluster with host": {mutate: func(m *gpuplaneProviderModel) {
			m.InCluster = types.BoolValue(true)
			m.Host = types.StringValue("https://x")
		}, want: "in_cluster = true"},
		"config_path + config_paths": {mutate: func(m *gpuplaneProviderModel) {
			m.ConfigPath = types.StringValue("a")
			m.ConfigPaths = types.ListValueMust(types.StringType, nil)
		}, want: "not both"},
		"exec without api_version": {mutate: func(m *gpuplaneProviderModel) {
			m.Exec = &execModel{APIVersion: types.StringNull(), Command: types.StringValue("x"), Args: types.ListNull(types.StringType), Env: types.MapNull(types.StringType)}
		}, want: "exec.api_version"},
	} {
		t.Run(name, func(t *testing.T) {
			m := nullProviderModel()
			if tc.mutate != nil {
				tc.mutate(&m)
			}
			_, diags := configFromModel(context.Background(), m, func(k string) string { return tc.env[k] })
			if !diags.HasError() || !strings.Contains(diags.Errors()[0].Detail(), tc.want) {
				t.Fatalf("diags = %v, want an error mentioning %q", diags, tc.want)
			}
		})
	}
}

// TestConfigureUnknown: a configuration with unknown values builds no client
// and asks Terraform to defer when it may.
func TestConfigureUnknown(t *testing.T) {
	p := New("test")()
	var sr provider.SchemaResponse
	p.Schema(context.Background(), provider.SchemaRequest{}, &sr)
	typ, ok := sr.Schema.Type().TerraformType(context.Background()).(tftypes.Object)
	if !ok {
		t.Fatal("provider schema is not an object")
	}
	vals := map[string]tftypes.Value{}
	for name, at := range typ.AttributeTypes {
		vals[name] = tftypes.NewValue(at, nil)
	}
	vals["host"] = tftypes.NewValue(tftypes.String, tftypes.UnknownValue)
	raw := tftypes.NewValue(typ, vals)

	for _, deferral := range []bool{true, false} {
		req := provider.ConfigureRequest{Config: tfsdk.Config{Schema: sr.Schema, Raw: raw}}
		req.ClientCapabilities.DeferralAllowed = deferral
		var resp provider.ConfigureResponse
		p.Configure(context.Background(), req, &resp)
		if resp.Diagnostics.HasError() {
			t.Fatal(resp.Diagnostics)
		}
		if (resp.Deferred != nil) != deferral {
			t.Errorf("DeferralAllowed=%v: Deferred = %v", deferral, resp.Deferred)
		}
		data, ok := resp.ResourceData.(*providerData)
		if !ok {
			t.Fatalf("ResourceData is %T", resp.ResourceData)
		}
		if data.client.Known() {
			t.Errorf("DeferralAllowed=%v: client reported known for an unknown host", deferral)
		}
	}
}

func nullProviderModel() gpuplaneProviderModel {
	return gpuplaneProviderModel{
		ConfigPath: types.StringNull(), ConfigPaths: types.ListNull(types.StringType), ConfigContext: types.StringNull(),
		ConfigContextAuthInfo: types.StringNull(), ConfigContextCluster: types.StringNull(), Host: types.StringNull(),
		Token: types.StringNull(), ClientCertificate: types.StringNull(), ClientKey: types.StringNull(),
		ClusterCACertificate: types.StringNull(), Insecure: types.BoolNull(), TLSServerName: types.StringNull(),
		ProxyURL: types.StringNull(), InCluster: types.BoolNull(), QPS: types.Float64Null(), Burst: types.Int64Null(),
		RequestTimeout: types.StringNull(), FieldManager: types.StringNull(),
	}
}

// TestAccProvider_unknownHostSendsNoRequest: when the host is known only
// after apply, planning sends no request anywhere, not even to the
// endpoints a careless client would guess (a kubeconfig in the environment,
// the in-cluster service address).
func TestAccProvider_unknownHostSendsNoRequest(t *testing.T) {
	testAccPreCheck(t)
	var requests atomic.Int64
	guessed := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer guessed.Close()
	kc := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
current-context: guess
clusters: [{name: g, cluster: {server: "`+guessed.URL+`", insecure-skip-tls-verify: true}}]
users: [{name: g, user: {token: x}}]
contexts: [{name: guess, context: {cluster: g, user: g}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	u := strings.TrimPrefix(guessed.URL, "https://")
	host, port, _ := strings.Cut(u, ":")
	t.Setenv("KUBECONFIG", kc)
	t.Setenv("KUBE_CONFIG_PATH", kc)
	t.Setenv("KUBERNETES_SERVICE_HOST", host)
	t.Setenv("KUBERNETES_SERVICE_PORT", port)

	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		Steps: []resource.TestStep{{
			Config: `
resource "terraform_data" "cluster" {
  input = "https://cluster-made-in-this-apply.invalid"
}
provider "gpuplane" {
  host = terraform_data.cluster.output
}
resource "gpuplane_dataplane" "main" {
  name         = "main"
  gpu_families = { "NVIDIA-H100" = { resource_name = "nvidia.com/gpu" } }
}
# Resources whose plans read the cluster when they can (quota rules,
# placement, memberships) must not read it now.
resource "gpuplane_tenant" "t" {
  dataplane = gpuplane_dataplane.main.name
  name      = "t"
  gpu_quota = { limits = { "Default" = 4 } }
}
resource "gpuplane_project" "p" {
  tenant    = gpuplane_tenant.t.name
  name      = "p"
  gpu_quota = { limits = { "Default" = 2 } }
}
resource "gpuplane_tenant_membership" "m" {
  tenant  = gpuplane_tenant.t.name
  subject = { kind = "User", name = "u" }
  role    = "viewer"
}
`,
			PlanOnly:           true,
			ExpectNonEmptyPlan: true,
			ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{
				// Guard the premise: the host really is unknown at plan.
				plancheck.ExpectUnknownValue("terraform_data.cluster", tfjsonpath.New("output")),
			}},
		}},
	})
	if n := requests.Load(); n != 0 {
		t.Fatalf("planning with an unknown host sent %d requests to a guessed endpoint", n)
	}
	if exists(t, crds.Dataplanes, "", "main") {
		t.Fatal("a plan wrote a dataplane")
	}
}
