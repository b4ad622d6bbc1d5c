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

var _ datasource.DataSourceWithConfigure = (*projectDataSource)(nil)

// NewProjectDataSource returns the gpuplane_project data source.
func NewProjectDataSource() datasource.DataSource { return &projectDataSource{} }

type projectDataSource struct{ p *providerData }

type projectDataModel struct {
	ID                types.String      `tfsdk:"id"`
	Tenant            types.String      `tfsdk:"tenant"`
	Name              types.String      `tfsdk:"name"`
	Namespace         types.String      `tfsdk:"namespace"`
	Compute           types.String      `tfsdk:"compute"`
	RoleMapping       *roleMappingModel `tfsdk:"role_mapping"`
	GPUQuota          *gpuQuotaModel    `tfsdk:"gpu_quota"`
	Labels            types.Map         `tfsdk:"labels"`
	EffectiveGPUQuota types.Map         `tfsdk:"effective_gpu_quota"`
}

func (d *projectDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project"
}

func (d *projectDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	groups := schema.ListAttribute{Computed: true, ElementType: types.StringType}
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads a project, including its namespace and effective GPU quota.",
		Attributes: map[string]schema.Attribute{
			"id":        schema.StringAttribute{Computed: true, MarkdownDescription: "`<tenant>/<name>`."},
			"tenant":    schema.StringAttribute{Required: true, Validators: []validator.String{dnsLabel()}, MarkdownDescription: "Tenant of the project."},
			"name":      schema.StringAttribute{Required: true, Validators: []validator.String{dnsLabel()}, MarkdownDescription: "Project name."},
			"namespace": schema.StringAttribute{Computed: true, MarkdownDescription: "Namespace of the project."},
			"compute":   schema.StringAttribute{Computed: true, MarkdownDescription: "Default compute of the project."},
			"role_mapping": schema.SingleNestedAttribute{Computed: true, MarkdownDescription: "Groups per project role.",
				Attributes: map[string]schema.Attribute{"viewer": groups, "editor": groups, "admin": groups}},
			"gpu_quota":           dataGPUQuotaAttribute(),
			"labels":              schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "The project's labels."},
			"effective_gpu_quota": dataEffectiveQuotaAttribute(),
		},
	}
}

func (d *projectDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *projectDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg projectDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	c := d.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	var m projectModel
	found, diags := d.p.readProject(ctx, c, cfg.Tenant.ValueString(), cfg.Name.ValueString(), "", &m)
	resp.Diagnostics.Append(diags...)
	if !found && !diags.HasError() {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Unknown project",
			fmt.Sprintf("Project %q does not exist in tenant %q.", cfg.Name.ValueString(), cfg.Tenant.ValueString()))
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &projectDataModel{
		ID: m.ID, Tenant: m.Tenant, Name: m.Name, Namespace: m.Namespace, Compute: m.Compute, RoleMapping: m.RoleMapping,
		GPUQuota: m.GPUQuota, Labels: m.Labels, EffectiveGPUQuota: m.EffectiveGPUQuota,
	})...)
}
