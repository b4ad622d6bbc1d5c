// Package provider implements the gpuplane Terraform provider.
package provider

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-validators/float64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/int64validator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/list"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/provider"
	"github.com/hashicorp/terraform-plugin-framework/provider/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

var (
	_ provider.Provider                  = (*gpuplaneProvider)(nil)
	_ provider.ProviderWithFunctions     = (*gpuplaneProvider)(nil)
	_ provider.ProviderWithListResources = (*gpuplaneProvider)(nil)
)

// New returns a constructor of the provider at the given version.
func New(version string) func() provider.Provider {
	return func() provider.Provider { return &gpuplaneProvider{version: version} }
}

type gpuplaneProvider struct {
	version string
}

// gpuplaneProviderModel is the provider block.
type gpuplaneProviderModel struct {
	ConfigPath            types.String  `tfsdk:"config_path"`
	ConfigPaths           types.List    `tfsdk:"config_paths"`
	ConfigContext         types.String  `tfsdk:"config_context"`
	ConfigContextAuthInfo types.String  `tfsdk:"config_context_auth_info"`
	ConfigContextCluster  types.String  `tfsdk:"config_context_cluster"`
	Host                  types.String  `tfsdk:"host"`
	Token                 types.String  `tfsdk:"token"`
	ClientCertificate     types.String  `tfsdk:"client_certificate"`
	ClientKey             types.String  `tfsdk:"client_key"`
	ClusterCACertificate  types.String  `tfsdk:"cluster_ca_certificate"`
	Insecure              types.Bool    `tfsdk:"insecure"`
	TLSServerName         types.String  `tfsdk:"tls_server_name"`
	ProxyURL              types.String  `tfsdk:"proxy_url"`
	Exec                  *execModel    `tfsdk:"exec"`
	InCluster             types.Bool    `tfsdk:"in_cluster"`
	QPS                   types.Float64 `tfsdk:"qps"`
	Burst                 types.Int64   `tfsdk:"burst"`
	RequestTimeout        types.String  `tfsdk:"request_timeout"`
	FieldManager          types.String  `tfsdk:"field_manager"`
}

type execModel struct {
	APIVersion types.String `tfsdk:"api_version"`
	Command    types.String `tfsdk:"command"`
	Args       types.List   `tfsdk:"args"`
	Env        types.Map    `tfsdk:"env"`
}

// providerData is what every resource and data source of one provider
// instance shares: the one client and the in-process plan cache.
type providerData struct {
	client *kube.Lazy
	plans  *planCache
}

func (p *gpuplaneProvider) Metadata(_ context.Context, _ provider.MetadataRequest, resp *provider.MetadataResponse) {
	resp.TypeName = "gpuplane"
	resp.Version = p.version
}

func (p *gpuplaneProvider) Schema(_ context.Context, _ provider.SchemaRequest, resp *provider.SchemaResponse) {
	str := func(desc string, sensitive bool, v ...validator.String) schema.StringAttribute {
		return schema.StringAttribute{Optional: true, Sensitive: sensitive, MarkdownDescription: desc, Validators: v}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Manages a multi-tenant GPU platform (dataplane, computes, tenants, projects, memberships) " +
			"on one shared Kubernetes cluster. Configure the cluster like the kubernetes provider; every source is " +
			"explicit: with none set, the first request fails. There is no fallback to `~/.kube/config`, localhost " +
			"or the in-cluster service account.",
		Attributes: map[string]schema.Attribute{
			"config_path": str("Path to a kubeconfig file. Env: `KUBE_CONFIG_PATH`. `~` is expanded.", false),
			"config_paths": schema.ListAttribute{
				ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Kubeconfig files merged like `KUBECONFIG` (first wins). Env: `KUBE_CONFIG_PATHS` (`:`-separated).",
			},
			"config_context":           str("Kubeconfig context to use. Env: `KUBE_CTX`.", false),
			"config_context_auth_info": str("Overrides the context's user. Env: `KUBE_CTX_AUTH_INFO`.", false),
			"config_context_cluster":   str("Overrides the context's cluster. Env: `KUBE_CTX_CLUSTER`.", false),
			"host":                     str("API server URL, e.g. `https://127.0.0.1:6443`. Env: `KUBE_HOST`.", false),
			"token":                    str("Bearer token. Env: `KUBE_TOKEN`.", true),
			"client_certificate":       str("PEM client certificate. Env: `KUBE_CLIENT_CERT_DATA`.", true),
			"client_key":               str("PEM client key. Env: `KUBE_CLIENT_KEY_DATA`.", true),
			"cluster_ca_certificate":   str("PEM CA bundle of the API server. Env: `KUBE_CLUSTER_CA_CERT_DATA`.", false),
			"insecure": schema.BoolAttribute{
				Optional: true, MarkdownDescription: "Skip TLS verification of the API server (testing only). Env: `KUBE_INSECURE`.",
			},
			"tls_server_name": str("Server name for TLS verification. Env: `KUBE_TLS_SERVER_NAME`.", false),
			"proxy_url":       str("HTTP(S) proxy for API requests. Env: `KUBE_PROXY_URL`.", false),
			"in_cluster": schema.BoolAttribute{
				Optional: true,
				MarkdownDescription: "Use the pod's service account (explicit opt-in; never a fallback). " +
					"Cannot be combined with kubeconfig or host settings. Env: `KUBE_IN_CLUSTER`.",
			},
			"qps": schema.Float64Attribute{
				Optional: true, Validators: []validator.Float64{float64validator.AtLeast(1)},
				MarkdownDescription: "Client-side rate limit, requests per second. Default: none; the API server's priority " +
					"and fairness protects it, and the provider retries its `429` answers after their `Retry-After`.",
			},
			"burst": schema.Int64Attribute{
				Optional: true, Validators: []validator.Int64{int64validator.AtLeast(1)},
				MarkdownDescription: fmt.Sprintf("Client-side burst, with `qps`. Default %d.", kube.DefaultBurst),
			},
			"request_timeout": str("Timeout of one API request, a Go duration such as `30s`. Default: none (resource timeouts apply).", false,
				durationValidator{}),
			"field_manager": str(fmt.Sprintf("Server-side apply field manager. Default `%s`.", kube.DefaultFieldManager), false,
				stringvalidator.LengthBetween(1, 128)),
		},
		Blocks: map[string]schema.Block{
			"exec": schema.SingleNestedBlock{
				MarkdownDescription: "Run a command for credentials (client.authentication.k8s.io exec plugin). " +
					"Its `env` is sensitive.",
				Attributes: map[string]schema.Attribute{
					"api_version": schema.StringAttribute{Optional: true, MarkdownDescription: "e.g. `client.authentication.k8s.io/v1`."},
					"command":     schema.StringAttribute{Optional: true, MarkdownDescription: "Command to run."},
					"args":        schema.ListAttribute{ElementType: types.StringType, Optional: true, MarkdownDescription: "Arguments."},
					"env":         schema.MapAttribute{ElementType: types.StringType, Optional: true, Sensitive: true, MarkdownDescription: "Environment."},
				},
			},
		},
	}
}

func (p *gpuplaneProvider) Configure(ctx context.Context, req provider.ConfigureRequest, resp *provider.ConfigureResponse) {
	ctx = tflog.MaskFieldValuesWithFieldKeys(ctx, "token", "client_key", "client_certificate", "env", "Authorization")

	if !req.Config.Raw.IsFullyKnown() {
		// The cluster is made in this same run. Never guess an endpoint:
		// defer where Terraform allows it, else plan with unknown values.
		if req.ClientCapabilities.DeferralAllowed {
			resp.Deferred = &provider.Deferred{Reason: provider.DeferredReasonProviderConfigUnknown}
		}
		tflog.Info(ctx, "provider configuration not known yet; no request will be sent")
		data := &providerData{client: kube.UnknownLazy(), plans: newPlanCache()}
		resp.ResourceData, resp.DataSourceData, resp.ListResourceData = data, data, data
		return
	}

	var m gpuplaneProviderModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg, diags := configFromModel(ctx, m, os.Getenv)
	resp.Diagnostics.Append(diags...)
	if resp.Diagnostics.HasError() {
		return
	}
	cfg.UserAgent = "terraform-provider-gpuplane/" + p.version
	data := &providerData{client: kube.NewLazy(cfg), plans: newPlanCache()}
	resp.ResourceData, resp.DataSourceData, resp.ListResourceData = data, data, data
}

// configFromModel turns the provider block, with environment fallbacks for
// unset attributes, into a client configuration. It sends no request.
func configFromModel(ctx context.Context, m gpuplaneProviderModel, getenv func(string) string) (kube.Config, diag.Diagnostics) {
	var diags diag.Diagnostics
	strOr := func(v types.String, env string) string {
		if !v.IsNull() {
			return v.ValueString()
		}
		return getenv(env)
	}
	boolOr := func(v types.Bool, env, attr string) bool {
		if !v.IsNull() {
			return v.ValueBool()
		}
		s := getenv(env)
		if s == "" {
			return false
		}
		b, err := strconv.ParseBool(s)
		if err != nil {
			diags.AddAttributeError(path.Root(attr), "Invalid environment variable",
				fmt.Sprintf("%s=%q is not a boolean; use true or false.", env, s))
		}
		return b
	}

	cfg := kube.Config{
		ConfigContext:         strOr(m.ConfigContext, "KUBE_CTX"),
		ConfigContextAuthInfo: strOr(m.ConfigContextAuthInfo, "KUBE_CTX_AUTH_INFO"),
		ConfigContextCluster:  strOr(m.ConfigContextCluster, "KUBE_CTX_CLUSTER"),
		Host:                  strOr(m.Host, "KUBE_HOST"),
		Token:                 strOr(m.Token, "KUBE_TOKEN"),
		ClientCertificate:     strOr(m.ClientCertificate, "KUBE_CLIENT_CERT_DATA"),
		ClientKey:             strOr(m.ClientKey, "KUBE_CLIENT_KEY_DATA"),
		ClusterCACertificate:  strOr(m.ClusterCACertificate, "KUBE_CLUSTER_CA_CERT_DATA"),
		Insecure:              boolOr(m.Insecure, "KUBE_INSECURE", "insecure"),
		TLSServerName:         strOr(m.TLSServerName, "KUBE_TLS_SERVER_NAME"),
		ProxyURL:              strOr(m.ProxyURL, "KUBE_PROXY_URL"),
		InCluster:             boolOr(m.InCluster, "KUBE_IN_CLUSTER", "in_cluster"),
		FieldManager:          m.FieldManager.ValueString(),
		QPS:                   float32(m.QPS.ValueFloat64()),
		Burst:                 int(m.Burst.ValueInt64()),
	}

	cfg.ConfigPaths = expandConfigPaths(ctx, m, getenv, &diags)

	if m.RequestTimeout.ValueString() != "" {
		d, err := time.ParseDuration(m.RequestTimeout.ValueString())
		if err == nil {
			cfg.RequestTimeout = d
		}
	}

	cfg.Exec = expandExec(ctx, m.Exec, &diags)

	if cfg.InCluster && (len(cfg.ConfigPaths) > 0 || cfg.Host != "") {
		diags.AddAttributeError(path.Root("in_cluster"), "Conflicting configuration",
			"in_cluster = true uses the pod's service account; remove config_path/config_paths/host "+
				"(and KUBE_CONFIG_PATH/KUBE_HOST) or set in_cluster = false.")
	}
	return cfg, diags
}

// expandConfigPaths resolves the kubeconfig files: config_path or
// config_paths, else KUBE_CONFIG_PATH or KUBE_CONFIG_PATHS; ~ is expanded.
func expandConfigPaths(ctx context.Context, m gpuplaneProviderModel, getenv func(string) string, diags *diag.Diagnostics) []string {
	var paths []string
	switch {
	case !m.ConfigPath.IsNull():
		paths = []string{m.ConfigPath.ValueString()}
	case !m.ConfigPaths.IsNull():
		diags.Append(m.ConfigPaths.ElementsAs(ctx, &paths, false)...)
	case getenv("KUBE_CONFIG_PATH") != "":
		paths = []string{getenv("KUBE_CONFIG_PATH")}
	case getenv("KUBE_CONFIG_PATHS") != "":
		paths = filepath.SplitList(getenv("KUBE_CONFIG_PATHS"))
	}
	if !m.ConfigPath.IsNull() && !m.ConfigPaths.IsNull() {
		diags.AddAttributeError(path.Root("config_paths"), "Conflicting configuration",
			"Set either config_path or config_paths, not both.")
	}
	for i, p := range paths {
		paths[i] = expandHome(p)
	}
	return paths
}

// expandExec converts the exec block; nil when there is none.
func expandExec(ctx context.Context, m *execModel, diags *diag.Diagnostics) *kube.ExecConfig {
	if m == nil || m.Command.IsNull() {
		return nil
	}
	e := &kube.ExecConfig{APIVersion: m.APIVersion.ValueString(), Command: m.Command.ValueString()}
	diags.Append(m.Args.ElementsAs(ctx, &e.Args, false)...)
	diags.Append(m.Env.ElementsAs(ctx, &e.Env, false)...)
	if e.APIVersion == "" {
		diags.AddAttributeError(path.Root("exec").AtName("api_version"), "Missing exec api_version",
			"Set exec.api_version, e.g. \"client.authentication.k8s.io/v1\".")
	}
	return e
}

func expandHome(p string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, strings.TrimPrefix(p, "~"))
		}
	}
	return p
}

func (p *gpuplaneProvider) Resources(_ context.Context) []func() resource.Resource {
	return []func() resource.Resource{
		NewDataplaneResource,
		NewComputeResource,
		NewTenantResource,
		NewProjectResource,
		NewTenantMembershipResource,
	}
}

func (p *gpuplaneProvider) ListResources(_ context.Context) []func() list.ListResource {
	return []func() list.ListResource{NewTenantListResource, NewProjectListResource}
}

func (p *gpuplaneProvider) Functions(_ context.Context) []func() function.Function {
	return []func() function.Function{NewEffectiveGPUQuotaFunction}
}

func (p *gpuplaneProvider) DataSources(_ context.Context) []func() datasource.DataSource {
	return []func() datasource.DataSource{
		NewGPUUsageDataSource,
		NewDataplaneDataSource,
		NewTenantDataSource,
		NewProjectDataSource,
	}
}

// durationValidator accepts Go durations such as "30s" or "2m".
type durationValidator struct{}

func (durationValidator) Description(context.Context) string {
	return "must be a Go duration such as 30s or 2m"
}
func (v durationValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }
func (durationValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if d, err := time.ParseDuration(req.ConfigValue.ValueString()); err != nil || d <= 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid duration",
			fmt.Sprintf("%q is not a positive Go duration; write it like \"30s\" or \"2m\".", req.ConfigValue.ValueString()))
	}
}

// configureData extracts the provider's shared data in a resource's or data
// source's Configure; nil until the provider is configured.
func configureData(data any, diags *diag.Diagnostics) *providerData {
	if data == nil {
		return nil
	}
	d, ok := data.(*providerData)
	if !ok {
		diags.AddError("Unexpected provider data", fmt.Sprintf("expected *providerData, got %T; please report this bug", data))
		return nil
	}
	return d
}

// clientOrError returns the shared client or adds an error explaining why there is none.
func (d *providerData) clientOrError(diags *diag.Diagnostics) *kube.Client {
	c, err := d.client.Get()
	if err != nil {
		diags.AddError("Cannot reach the cluster",
			"Check the provider block (config_path, config_context, host, credentials). "+err.Error())
		return nil
	}
	return c
}
