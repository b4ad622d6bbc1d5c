package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/datasource"
	"github.com/hashicorp/terraform-plugin-framework/datasource/schema"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

var _ datasource.DataSourceWithConfigure = (*dataplaneDataSource)(nil)

// NewDataplaneDataSource returns the gpuplane_dataplane data source.
func NewDataplaneDataSource() datasource.DataSource { return &dataplaneDataSource{} }

type dataplaneDataSource struct{ p *providerData }

type dataplaneDataModel struct {
	ID                types.String              `tfsdk:"id"`
	Name              types.String              `tfsdk:"name"`
	GPUFamilies       map[string]gpuFamilyModel `tfsdk:"gpu_families"`
	KubernetesVersion types.String              `tfsdk:"kubernetes_version"`
	NodeCount         types.Int64               `tfsdk:"node_count"`
	GPUCapacity       types.Map                 `tfsdk:"gpu_capacity"`
}

func (d *dataplaneDataSource) Metadata(_ context.Context, req datasource.MetadataRequest, resp *datasource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dataplane"
}

func (d *dataplaneDataSource) Schema(_ context.Context, _ datasource.SchemaRequest, resp *datasource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "Reads the cluster's dataplane (its GPU family catalog and capacity), e.g. from a module in another repository.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The dataplane name."},
			"name": schema.StringAttribute{Optional: true, Computed: true, Validators: []validator.String{dnsLabel()},
				MarkdownDescription: "Name of the dataplane; default: the cluster's one dataplane."},
			"gpu_families": schema.MapNestedAttribute{Computed: true, MarkdownDescription: "The GPU family catalog.",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"resource_name": schema.StringAttribute{Computed: true, MarkdownDescription: "Extended resource name."},
					"device_class":  schema.StringAttribute{Computed: true, MarkdownDescription: "DRA DeviceClass."},
					"node_selector": schema.MapAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Labels of the family's nodes."},
				}}},
			"kubernetes_version": schema.StringAttribute{Computed: true, MarkdownDescription: "Version of the API server."},
			"node_count":         schema.Int64Attribute{Computed: true, MarkdownDescription: "Nodes in the cluster."},
			"gpu_capacity": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Allocatable GPUs per family (extended-resource families)."},
		},
	}
}

func (d *dataplaneDataSource) Configure(_ context.Context, req datasource.ConfigureRequest, resp *datasource.ConfigureResponse) {
	d.p = configureData(req.ProviderData, &resp.Diagnostics)
}

func (d *dataplaneDataSource) Read(ctx context.Context, req datasource.ReadRequest, resp *datasource.ReadResponse) {
	var cfg dataplaneDataModel
	resp.Diagnostics.Append(req.Config.Get(ctx, &cfg)...)
	c := d.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := cfg.Name.ValueString()
	if name == "" {
		first, err := platform.FirstDataplane(ctx, c)
		if err != nil {
			resp.Diagnostics.AddError("Cannot read dataplanes", err.Error())
			return
		}
		if first == "" {
			resp.Diagnostics.AddError("No dataplane", "This cluster has no gpuplane dataplane; create one with gpuplane_dataplane.")
			return
		}
		name = first
	}
	var m dataplaneModel
	found, diags := readDataplane(ctx, c, name, &m)
	resp.Diagnostics.Append(diags...)
	if !found && !diags.HasError() {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Unknown dataplane", fmt.Sprintf("Dataplane %q does not exist on this cluster.", name))
	}
	if resp.Diagnostics.HasError() {
		return
	}
	resp.Diagnostics.Append(resp.State.Set(ctx, &dataplaneDataModel{
		ID: m.ID, Name: m.Name, GPUFamilies: m.GPUFamilies, KubernetesVersion: m.KubernetesVersion, NodeCount: m.NodeCount, GPUCapacity: m.GPUCapacity,
	})...)
}
