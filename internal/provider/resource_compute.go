package provider

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var (
	_ resource.ResourceWithConfigure   = (*computeResource)(nil)
	_ resource.ResourceWithImportState = (*computeResource)(nil)
	_ resource.ResourceWithIdentity    = (*computeResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*computeResource)(nil)
)

// NewComputeResource returns the gpuplane_compute resource.
func NewComputeResource() resource.Resource { return &computeResource{} }

type computeResource struct{ p *providerData }

type computeModel struct {
	ID           types.String      `tfsdk:"id"`
	Dataplane    types.String      `tfsdk:"dataplane"`
	Name         types.String      `tfsdk:"name"`
	DisplayName  types.String      `tfsdk:"display_name"`
	NodeSelector types.Map         `tfsdk:"node_selector"`
	Tolerations  []tolerationModel `tfsdk:"tolerations"`
	GPUFamily    types.String      `tfsdk:"gpu_family"`
	NodeCount    types.Int64       `tfsdk:"node_count"`
	Nodes        types.List        `tfsdk:"nodes"`
	GPUCapacity  types.Map         `tfsdk:"gpu_capacity"`
	Timeouts     timeouts.Value    `tfsdk:"timeouts"`
}

type tolerationModel struct {
	Key      types.String `tfsdk:"key"`
	Operator types.String `tfsdk:"operator"`
	Value    types.String `tfsdk:"value"`
	Effect   types.String `tfsdk:"effect"`
}

func (r *computeResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_compute"
}

func (r *computeResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A node pool of the dataplane, chosen by node labels (e.g. the H100 nodes). Tenants list the " +
			"computes their projects may use; pods in those projects must then select one of them (`spec.nodeSelector` " +
			"or required node affinity), which gpuplane's admission policy enforces.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The compute name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"dataplane": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the dataplane. Changing it replaces the compute (see `name`).",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Compute name (a DNS-1123 label). Changing it replaces the compute: only its `Compute` object is " +
				"deleted and made anew (no namespace, no workload); tenants that list it must follow the new name.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"display_name": schema.StringAttribute{Optional: true, MarkdownDescription: "Human-readable name.",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 256)}},
			"node_selector": schema.MapAttribute{Required: true, ElementType: types.StringType,
				MarkdownDescription: "Labels of the pool's nodes. Pods of the tenants that use this compute set the same labels " +
					"in their `nodeSelector`. A selector that matches no node is a plan warning.",
				Validators: []validator.Map{mapvalidator.SizeAtLeast(1), labelMap()}},
			"tolerations": schema.ListNestedAttribute{Optional: true,
				MarkdownDescription: "Tolerations of the pool's taints, for pods to copy (e.g. `nvidia.com/gpu` `Exists` `NoSchedule`).",
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"key": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint key."},
					"operator": schema.StringAttribute{Optional: true, MarkdownDescription: "`Exists` or `Equal` (default).",
						Validators: []validator.String{stringvalidator.OneOf("Exists", "Equal")}},
					"value": schema.StringAttribute{Optional: true, MarkdownDescription: "Taint value (with `Equal`).",
						Validators: []validator.String{stringvalidator.ConflictsWith(path.MatchRelative().AtParent().AtName("operator"))}},
					"effect": schema.StringAttribute{Optional: true, MarkdownDescription: "`NoSchedule`, `PreferNoSchedule` or `NoExecute`; empty matches all.",
						Validators: []validator.String{stringvalidator.OneOf("NoSchedule", "PreferNoSchedule", "NoExecute")}},
				}}},
			"gpu_family": schema.StringAttribute{Optional: true, MarkdownDescription: "GPU family of the pool's nodes; must be in the dataplane catalog."},
			"node_count": schema.Int64Attribute{Computed: true, MarkdownDescription: "Nodes the selector matches."},
			"nodes":      schema.ListAttribute{Computed: true, ElementType: types.StringType, MarkdownDescription: "Names of those nodes, sorted."},
			"gpu_capacity": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "Allocatable GPUs per catalog family on those nodes (families with none are left out, but `gpu_family`)."},
			"timeouts": timeoutsAttribute(ctx),
		},
	}
}

func (r *computeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// expandCompute converts the model to the Compute object's spec; known is
// false when the node selector is unknown.
func expandCompute(m *computeModel) (spec crds.ComputeSpec, known bool) {
	sel, known := stringMap(m.NodeSelector)
	spec = crds.ComputeSpec{Dataplane: m.Dataplane.ValueString(), DisplayName: m.DisplayName.ValueString(),
		GPUFamily: m.GPUFamily.ValueString(), NodeSelector: sel}
	for _, t := range m.Tolerations {
		spec.Tolerations = append(spec.Tolerations, crds.Toleration{Key: t.Key.ValueString(), Operator: t.Operator.ValueString(),
			Value: t.Value.ValueString(), Effect: t.Effect.ValueString()})
	}
	return spec, known
}

// flattenCompute fills the user-facing attributes of m from a Compute's spec.
func flattenCompute(name string, spec crds.ComputeSpec, m *computeModel) {
	m.ID, m.Name = types.StringValue(name), types.StringValue(name)
	m.Dataplane = types.StringValue(spec.Dataplane)
	m.DisplayName = optionalString(spec.DisplayName)
	m.GPUFamily = optionalString(spec.GPUFamily)
	m.NodeSelector = optionalMap(spec.NodeSelector)
	if len(spec.Tolerations) > 0 || len(m.Tolerations) > 0 {
		m.Tolerations = nil // but an empty list the configuration wrote reads back as it is
	}
	for _, t := range spec.Tolerations {
		m.Tolerations = append(m.Tolerations, tolerationModel{Key: optionalString(t.Key), Operator: optionalString(t.Operator),
			Value: optionalString(t.Value), Effect: optionalString(t.Effect)})
	}
}

func (r *computeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer computeIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan computeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Create, defaultWriteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	name := plan.Name.ValueString()
	if !adoptable(ctx, c, existingObject{crds.Computes, "", name, "Compute", strconv.Quote(name), "gpuplane_compute", name, platform.Owner{}}, &resp.Diagnostics) {
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

func (r *computeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer computeIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan computeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Update, defaultWriteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

// write checks the family against the live catalog, then writes the Compute object.
func (r *computeResource) write(ctx context.Context, c *kube.Client, m *computeModel, diags *diag.Diagnostics) {
	cat, _, err := r.p.catalog(ctx, c, m.Dataplane.ValueString(), false)
	if err != nil {
		diags.AddAttributeError(path.Root("dataplane"), "Unknown dataplane", err.Error())
		return
	}
	diags.Append(checkGPUFamily(m.GPUFamily, cat)...)
	if diags.HasError() {
		return
	}
	spec, _ := expandCompute(m)
	if err := platform.WriteCompute(ctx, c, m.Name.ValueString(), spec); err != nil {
		diags.AddError("Cannot write compute", err.Error())
		return
	}
	m.ID = m.Name
	diags.Append(computeNodes(ctx, c, spec.NodeSelector, cat, spec.GPUFamily, m)...)
}

func (r *computeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer computeIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var state computeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.p.readClient(&resp.Diagnostics)
	if c == nil {
		return
	}
	name := state.Name.ValueString()
	spec, err := platform.GetCompute(ctx, c, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read compute", err.Error())
		return
	}
	if spec == nil {
		tflog.Info(ctx, "compute is gone; removing it from state", map[string]any{"name": name})
		resp.State.RemoveResource(ctx)
		return
	}
	flattenCompute(name, *spec, &state)
	cat, _, err := r.p.catalog(ctx, c, spec.Dataplane, false)
	if err != nil {
		cat = quota.Catalog{}
	}
	resp.Diagnostics.Append(computeNodes(ctx, c, spec.NodeSelector, cat, spec.GPUFamily, &state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *computeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state computeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	name := state.Name.ValueString()
	users, err := platform.TenantsUsingCompute(ctx, c, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete compute", err.Error())
		return
	}
	if len(users) > 0 {
		resp.Diagnostics.AddError("Compute still attached",
			fmt.Sprintf("Compute %q is attached to tenant(s) %s. Remove it from their computes first (and from the compute of "+
				"their projects), then destroy it.", name, strings.Join(users, ", ")))
		return
	}
	if err := platform.DeleteCompute(ctx, c, name); err != nil {
		resp.Diagnostics.AddError("Cannot delete compute", err.Error())
	}
}
