package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

var _ datasource.DataSourceWithConfigure = (*gpuUsageDataSource)(nil)

// NewGPUUsageDataSource returns the gpuplane_gpu_usage data source.
func NewGPUUsageDataSource() datasource.DataSource { return &gpuUsageDataSource{} }

type gpuUsageDataSource struct{ p *providerData }

type gpuUsageModel struct {
	ID             types.String `tfsdk:"id"`
	Tenant         types.String `tfsdk:"tenant"`
	Project        types.String `tfsdk:"project"`
	Families       types.Map    `tfsdk:"families"`
	Oversubscribed types.Bool   `tfsdk:"oversubscribed"`
	Projects       types.Map    `tfsdk:"projects"`
	Tenants        types.Map    `tfsdk:"tenants"`
	Unattributed   types.Map    `tfsdk:"unattributed"`
}

var familyUsageAttrTypes = map[string]attr.Type{
	"used": types.Int64Type, "limit": types.Int64Type, "available": types.Int64Type,
	"capacity": types.Int64Type, "oversubscribed": types.BoolType, "pending": types.Int64Type,
}

var familyUsageType = types.ObjectType{AttrTypes: familyUsageAttrTypes}

func (d *gpuUsageDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_gpu_usage"
}

func (d *gpuUsageDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	familyUsage := schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
		"used": schema.Int64Attribute{Computed: true, MarkdownDescription: "GPUs requested by non-terminal pods (Pending or Running). " +
			"With `quota_backend = \"kueue\"`, for extended-resource families: the GPUs of the workloads Kueue admitted " +
			"(the ClusterQueues' `status.flavorsUsage`)."},
		"pending": schema.Int64Attribute{Computed: true, MarkdownDescription: "With `quota_backend = \"kueue\"`: GPUs of the " +
			"workloads waiting in the scope's queues (not admitted yet). A workload whose pods do not pin a family counts " +
			"under the first family Kueue tries for it (catalog order). Always 0 with `resource-quota`."},
		"limit":          schema.Int64Attribute{Computed: true, MarkdownDescription: "Effective limit of the scope (for the dataplane: its capacity); null when unlimited."},
		"available":      schema.Int64Attribute{Computed: true, MarkdownDescription: "`limit - used`, at least 0; null when unlimited."},
		"capacity":       schema.Int64Attribute{Computed: true, MarkdownDescription: "Allocatable GPUs of the family on the dataplane's nodes."},
		"oversubscribed": schema.BoolAttribute{Computed: true, MarkdownDescription: "`used > limit` (e.g. after a limit was lowered below usage)."},
	}}
	breakdown := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{Computed: true, MarkdownDescription: desc, ElementType: types.MapType{ElemType: familyUsageType}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "GPU usage per family, read from the cluster: for a project (`project`), a tenant (`tenant`, " +
			"with a breakdown per project) or the whole dataplane (neither, with a breakdown per tenant). Used GPUs are " +
			"the requests of non-terminal pods, attributed to a family by resource name (by node labels where families " +
			"share one); what cannot be attributed is reported in `unattributed`. Read with paginated LIST calls.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The scope: `<tenant>/<project>`, `<tenant>`, or `dataplane`."},
			"tenant": schema.StringAttribute{Optional: true, MarkdownDescription: "A tenant's name.",
				Validators: []validator.String{dnsLabel(), stringvalidator.ConflictsWith(path.MatchRoot("project"))}},
			"project": schema.StringAttribute{Optional: true, MarkdownDescription: "A project, as `<tenant>/<project>` (or `<tenant>:<project>`).",
				Validators: []validator.String{qualifiedName()}},
			"families": schema.MapNestedAttribute{Computed: true, NestedObject: familyUsage,
				MarkdownDescription: "Usage of the scope per family."},
			"oversubscribed": schema.BoolAttribute{Computed: true, MarkdownDescription: "Whether any family of the scope is oversubscribed."},
			"projects":       breakdown("Tenant scope: usage per project and family, against each project's effective quota."),
			"tenants":        breakdown("Dataplane scope: usage per tenant and family, against each tenant's effective quota."),
			"unattributed": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "GPUs in the scope that could not be attributed to a family, per resource name."},
		},
	}
}

func (d *gpuUsageDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *gpuUsageDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var m gpuUsageModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &m)...)
	if resp.Diagnostics.HasError() {
		return
	}
	c := d.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	scope := platform.UsageScope{Tenant: m.Tenant.ValueString()}
	if !m.Project.IsNull() {
		scope.Tenant, scope.Project, _ = splitQualified(m.Project.ValueString())
	}
	r, err := platform.ReadGPUUsage(ctx, c, scope)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read GPU usage", err.Error())
		return
	}
	m.ID = types.StringValue(scope.ID())
	m.Families = flattenFamilyUsage(r.Families)
	m.Oversubscribed = types.BoolValue(platform.Oversubscribed(r.Families))
	m.Projects = flattenUsageBreakdown(r.Projects)
	m.Tenants = flattenUsageBreakdown(r.Tenants)
	m.Unattributed = types.MapValueMust(types.Int64Type, int64Values(r.Unattributed))
	resp.Diagnostics.Append(resp.State.Set(ctx, &m)...)
}

// flattenFamilyUsage renders usage per family.
func flattenFamilyUsage(m map[string]platform.FamilyUsage) types.Map {
	els := map[string]attr.Value{}
	for f, u := range m {
		limit, available := types.Int64Null(), types.Int64Null()
		if u.Limit.Finite() {
			limit, available = types.Int64Value(u.Limit.N), types.Int64Value(max(u.Limit.N-u.Used, 0))
		}
		els[f] = types.ObjectValueMust(familyUsageAttrTypes, map[string]attr.Value{
			"used": types.Int64Value(u.Used), "limit": limit, "available": available,
			"capacity": types.Int64Value(u.Capacity), "oversubscribed": types.BoolValue(u.Limit.Finite() && u.Used > u.Limit.N),
			"pending": types.Int64Value(u.Pending),
		})
	}
	return types.MapValueMust(familyUsageType, els)
}

// flattenUsageBreakdown renders usage per project or tenant and family.
func flattenUsageBreakdown(m map[string]map[string]platform.FamilyUsage) types.Map {
	t := types.MapType{ElemType: familyUsageType}
	if m == nil {
		return types.MapNull(t)
	}
	els := map[string]attr.Value{}
	for k, v := range m {
		els[k] = flattenFamilyUsage(v)
	}
	return types.MapValueMust(t, els)
}
