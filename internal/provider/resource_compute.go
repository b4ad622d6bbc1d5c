package provider

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var (
	_ resource.ResourceWithConfigure   = (*computeResource)(nil)
	_ resource.ResourceWithImportState = (*computeResource)(nil)
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

func (r *computeResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A node pool of the dataplane, chosen by node labels (e.g. the H100 nodes). Tenants list the " +
			"computes their projects may use; pods in those projects must then select one of them (`spec.nodeSelector` " +
			"or required node affinity), which gpuplane's admission policy enforces.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The compute name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"dataplane": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the dataplane. Changing it replaces the compute.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Compute name (a DNS-1123 label). Changing it replaces the compute.",
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
		},
	}
}

func (r *computeResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

func (r *computeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.p == nil {
		return
	}
	var plan computeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Name.IsUnknown() {
		return
	}
	plan.ID = plan.Name
	sel, known := stringMap(plan.NodeSelector)
	if !known {
		r.p.plans.setCompute(plan.Name.ValueString(), nil)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	r.p.plans.setCompute(plan.Name.ValueString(), sel)
	if !r.p.client.Known() || plan.Dataplane.IsUnknown() || plan.GPUFamily.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	cat, err := r.p.catalog(ctx, c, plan.Dataplane.ValueString(), true)
	switch {
	case err == errCatalogUnknown:
	case err != nil:
		resp.Diagnostics.AddAttributeError(path.Root("dataplane"), "Unknown dataplane", err.Error())
	default:
		resp.Diagnostics.Append(checkGPUFamily(plan.GPUFamily, cat)...)
		// The plan shows the nodes the selector picks now.
		resp.Diagnostics.Append(computeNodes(ctx, c, sel, cat, plan.GPUFamily.ValueString(), &plan)...)
		if plan.NodeCount.ValueInt64() == 0 {
			resp.Diagnostics.AddAttributeWarning(path.Root("node_selector"), "Compute selects no node",
				fmt.Sprintf("node_selector %s matches no node of the cluster (yet). Pods placed on compute %q will stay "+
					"Pending until nodes with these labels join.", formatSelector(sel), plan.Name.ValueString()))
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func checkGPUFamily(family types.String, cat quota.Catalog) diag.Diagnostics {
	var diags diag.Diagnostics
	if family.IsNull() {
		return diags
	}
	if _, ok := cat[family.ValueString()]; !ok {
		diags.AddAttributeError(path.Root("gpu_family"), "Unknown GPU family",
			fmt.Sprintf("gpu_family = %q is not a GPU family of the dataplane; use one of %s.", family.ValueString(), strings.Join(cat.Names(), ", ")))
	}
	return diags
}

func (r *computeResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan computeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := plan.Name.ValueString()
	existing, err := c.Get(ctx, crds.Computes, "", name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create compute", err.Error())
		return
	}
	if existing != nil && !kube.IsManaged(existing.GetLabels()) {
		resp.Diagnostics.AddError("Compute already exists",
			fmt.Sprintf("Compute %q exists but was not created by gpuplane. Import it with: terraform import gpuplane_compute.<name> %s", name, name))
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

func (r *computeResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan computeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics)
	if !resp.Diagnostics.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
	}
}

// write checks the family against the live catalog, then writes the Compute object.
func (r *computeResource) write(ctx context.Context, c *kube.Client, m *computeModel, diags *diag.Diagnostics) {
	cat, err := r.p.catalog(ctx, c, m.Dataplane.ValueString(), false)
	if err != nil {
		diags.AddAttributeError(path.Root("dataplane"), "Unknown dataplane", err.Error())
		return
	}
	diags.Append(checkGPUFamily(m.GPUFamily, cat)...)
	sel, _ := stringMap(m.NodeSelector)
	spec := &crds.ComputeSpec{Dataplane: m.Dataplane.ValueString(), DisplayName: m.DisplayName.ValueString(),
		GPUFamily: m.GPUFamily.ValueString(), NodeSelector: sel}
	for _, t := range m.Tolerations {
		spec.Tolerations = append(spec.Tolerations, crds.Toleration{Key: t.Key.ValueString(), Operator: t.Operator.ValueString(),
			Value: t.Value.ValueString(), Effect: t.Effect.ValueString()})
	}
	if diags.HasError() {
		return
	}
	obj, err := crds.New("Compute", "", m.Name.ValueString(), managedLabels(nil), spec)
	if err == nil {
		_, err = c.Apply(ctx, crds.Computes, obj)
	}
	if err != nil {
		diags.AddError("Cannot write compute", err.Error())
		return
	}
	m.ID = m.Name
	diags.Append(computeNodes(ctx, c, sel, cat, m.GPUFamily.ValueString(), m)...)
}

func (r *computeResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state computeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.p.client.Known() {
		return
	}
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	obj, err := c.Get(ctx, crds.Computes, "", state.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read compute", err.Error())
		return
	}
	if obj == nil {
		tflog.Info(ctx, "compute is gone; removing it from state", map[string]any{"name": state.Name.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	var spec crds.ComputeSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		resp.Diagnostics.AddError("Cannot decode compute", err.Error())
		return
	}
	state.ID, state.Name = types.StringValue(obj.GetName()), types.StringValue(obj.GetName())
	state.Dataplane = types.StringValue(spec.Dataplane)
	state.DisplayName = optionalString(spec.DisplayName)
	state.GPUFamily = optionalString(spec.GPUFamily)
	state.NodeSelector = optionalMap(spec.NodeSelector)
	state.Tolerations = nil
	for _, t := range spec.Tolerations {
		state.Tolerations = append(state.Tolerations, tolerationModel{Key: optionalString(t.Key), Operator: optionalString(t.Operator),
			Value: optionalString(t.Value), Effect: optionalString(t.Effect)})
	}
	cat, err := r.p.catalog(ctx, c, spec.Dataplane, false)
	if err != nil {
		cat = quota.Catalog{}
	}
	resp.Diagnostics.Append(computeNodes(ctx, c, spec.NodeSelector, cat, spec.GPUFamily, &state)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *computeResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state computeModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	name := state.Name.ValueString()
	users, err := tenantsUsingCompute(ctx, c, name)
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
	if err := c.Delete(ctx, crds.Computes, "", name); err != nil {
		resp.Diagnostics.AddError("Cannot delete compute", err.Error())
	}
}

func (r *computeResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// tenantsUsingCompute lists the tenants that list a compute, sorted.
func tenantsUsingCompute(ctx context.Context, c *kube.Client, compute string) ([]string, error) {
	items, err := c.List(ctx, crds.Tenants, "", "")
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range items {
		var spec crds.TenantSpec
		if err := crds.SpecOf(&items[i], &spec); err != nil {
			return nil, err
		}
		for _, name := range spec.Computes {
			if name == compute {
				out = append(out, items[i].GetName())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// computeNodes fills node_count, nodes and gpu_capacity from the nodes the
// selector matches (one label-selected LIST).
func computeNodes(ctx context.Context, c *kube.Client, sel map[string]string, cat quota.Catalog, family string, m *computeModel) diag.Diagnostics {
	var diags diag.Diagnostics
	nodes, err := listNodesMatching(ctx, c, sel)
	if err != nil {
		diags.AddError("Cannot list the compute's nodes", err.Error())
		return diags
	}
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	capacity := map[string]attr.Value{}
	for f, fam := range cat {
		if fam.ResourceName == "" {
			continue
		}
		if n := gpuCapacity(nodes, fam.ResourceName, fam.NodeSelector); n > 0 || f == family {
			capacity[f] = types.Int64Value(n)
		}
	}
	m.NodeCount = types.Int64Value(int64(len(nodes)))
	m.Nodes = types.ListValueMust(types.StringType, stringValues(names))
	m.GPUCapacity = types.MapValueMust(types.Int64Type, capacity)
	return diags
}

// listNodesMatching lists the nodes with the given labels.
func listNodesMatching(ctx context.Context, c *kube.Client, sel map[string]string) ([]corev1.Node, error) {
	nodes, err := listNodes(ctx, c)
	if err != nil {
		return nil, err
	}
	s := labels.SelectorFromSet(sel)
	return slices.DeleteFunc(nodes, func(n corev1.Node) bool { return !s.Matches(labels.Set(n.Labels)) }), nil
}

// stringMap converts a map(string); known is false when any part is unknown.
func stringMap(m types.Map) (map[string]string, bool) {
	if m.IsUnknown() {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		out[k] = s.ValueString()
	}
	return out, true
}

func formatSelector(sel map[string]string) string {
	return labels.SelectorFromSet(sel).String()
}
