package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

var _ datasource.DataSourceWithConfigure = (*tenantDataSource)(nil)

// NewTenantDataSource returns the gpuplane_tenant data source.
func NewTenantDataSource() datasource.DataSource { return &tenantDataSource{} }

type tenantDataSource struct{ p *providerData }

type tenantDataModel struct {
	ID                types.String   `tfsdk:"id"`
	Name              types.String   `tfsdk:"name"`
	Dataplane         types.String   `tfsdk:"dataplane"`
	DisplayName       types.String   `tfsdk:"display_name"`
	Namespace         types.String   `tfsdk:"namespace"`
	AdminGroups       types.List     `tfsdk:"admin_groups"`
	Computes          types.List     `tfsdk:"computes"`
	GPUQuota          *gpuQuotaModel `tfsdk:"gpu_quota"`
	Overcommit        types.Bool     `tfsdk:"overcommit"`
	Labels            types.Map      `tfsdk:"labels"`
	UID               types.String   `tfsdk:"uid"`
	EffectiveGPUQuota types.Map      `tfsdk:"effective_gpu_quota"`
	ComputeCapacity   types.Map      `tfsdk:"compute_gpu_capacity"`
}

func (d *tenantDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant"
}

func (d *tenantDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a tenant, including its effective GPU quota, so that a module in another repository " +
			"(e.g. a team's) can build on a tenant a platform repository made.",
		Attributes: map[string]schema.Attribute{
			"id":                  schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant name."},
			"name":                schema.StringAttribute{Required: true, Validators: []validator.String{dnsLabel()}, MarkdownDescription: "Tenant name."},
			"dataplane":           schema.StringAttribute{Computed: true, MarkdownDescription: "Dataplane of the tenant."},
			"display_name":        schema.StringAttribute{Computed: true, MarkdownDescription: "Human-readable name."},
			"namespace":           schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant namespace."},
			"admin_groups":        schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Admin groups."},
			"computes":            schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Attached computes."},
			"gpu_quota":           dataGPUQuotaAttribute(),
			"overcommit":          schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether projects may overcommit the tenant's quota."},
			"labels":              schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The tenant's labels."},
			"uid":                 schema.StringAttribute{Computed: true, MarkdownDescription: "UID of the `Tenant` object."},
			"effective_gpu_quota": dataEffectiveQuotaAttribute(),
			"compute_gpu_capacity": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "GPUs per family on the nodes of the tenant's computes."},
		},
	}
}

func (d *tenantDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *tenantDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg tenantDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	c := d.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	var m tenantModel
	found, diags := d.p.readTenant(ctx, c, cfg.Name.ValueString(), &m)
	resp.Diagnostics.Append(diags...)
	if !found && !diags.HasError() {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Unknown tenant", fmt.Sprintf("Tenant %q does not exist.", cfg.Name.ValueString()))
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &tenantDataModel{
		ID: m.ID, Name: m.Name, Dataplane: m.Dataplane, DisplayName: m.DisplayName, Namespace: m.Namespace,
		AdminGroups: m.AdminGroups, Computes: m.Computes, GPUQuota: m.GPUQuota, Overcommit: m.Overcommit,
		Labels: m.Labels, UID: m.UID, EffectiveGPUQuota: m.EffectiveGPUQuota, ComputeCapacity: m.ComputeCapacity,
	})...)
}

// dataGPUQuotaAttribute is gpu_quota as a data source reads it.
func dataGPUQuotaAttribute() schema.SingleNestedAttribute {
	return schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "The GPU quota as written (`Default` covers unlisted families).",
		Attributes: map[string]schema.Attribute{
			"limits":   schema.MapAttribute{Computed: true, ElementType: types.NumberType, MarkdownDescription: "Total GPUs at once, per family."},
			"requests": schema.MapAttribute{Computed: true, ElementType: types.NumberType, MarkdownDescription: "Largest single workload, per family."},
		}}
}

// dataEffectiveQuotaAttribute is effective_gpu_quota as a data source reads it.
func dataEffectiveQuotaAttribute() schema.MapNestedAttribute {
	return schema.MapNestedAttribute{Computed: true,
		MarkdownDescription: "Effective quota per family: `limit` and `request` (null = unlimited) and their sources.",
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"limit":          schema.Int64Attribute{Computed: true, MarkdownDescription: "Total GPUs at once; null when unlimited."},
			"request":        schema.Int64Attribute{Computed: true, MarkdownDescription: "Largest workload; null when unlimited."},
			"limit_source":   schema.StringAttribute{Computed: true, MarkdownDescription: "Where the limit comes from."},
			"request_source": schema.StringAttribute{Computed: true, MarkdownDescription: "Where the request cap comes from."},
		}}}
}
