package provider

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var (
	_ resource.ResourceWithConfigure   = (*dataplaneResource)(nil)
	_ resource.ResourceWithImportState = (*dataplaneResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*dataplaneResource)(nil)
)

// NewDataplaneResource returns the gpuplane_dataplane resource.
func NewDataplaneResource() resource.Resource { return &dataplaneResource{} }

type dataplaneResource struct{ p *providerData }

type dataplaneModel struct {
	ID                types.String              `tfsdk:"id"`
	Name              types.String              `tfsdk:"name"`
	GPUFamilies       map[string]gpuFamilyModel `tfsdk:"gpu_families"`
	KubernetesVersion types.String              `tfsdk:"kubernetes_version"`
	NodeCount         types.Int64               `tfsdk:"node_count"`
	GPUCapacity       types.Map                 `tfsdk:"gpu_capacity"`
	Timeouts          timeouts.Value            `tfsdk:"timeouts"`
}

type gpuFamilyModel struct {
	ResourceName types.String `tfsdk:"resource_name"`
	DeviceClass  types.String `tfsdk:"device_class"`
	NodeSelector types.Map    `tfsdk:"node_selector"`
}

// familyNamePattern: catalog keys are what users write in quotas.
var familyNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

func (r *dataplaneResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dataplane"
}

func (r *dataplaneResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The shared cluster, registered once, with its catalog of GPU families. Installs gpuplane's " +
			"CRDs and ClusterRoles and the cluster-scoped `Dataplane` object. A cluster has one dataplane.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The dataplane name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true, MarkdownDescription: "Name of the dataplane (a DNS-1123 label). Changing it replaces the dataplane.",
				Validators:    []validator.String{dnsLabel()},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"gpu_families": schema.MapNestedAttribute{
				Required: true,
				MarkdownDescription: "GPU families by name (e.g. `NVIDIA-H100`): the extended resource (`resource_name`) " +
					"or DRA device class (`device_class`) of the family, and the labels of its nodes. Quotas are " +
					"written per family. `Default` is reserved.",
				Validators: []validator.Map{mapvalidator.KeysAre(
					stringvalidator.RegexMatches(familyNamePattern, "must be 1-63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit"),
					stringvalidator.NoneOf("Default"),
				)},
				NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
					"resource_name": schema.StringAttribute{
						Optional: true,
						MarkdownDescription: "Extended resource name of the family, e.g. `nvidia.com/gpu` or a MIG profile " +
							"such as `nvidia.com/mig-1g.10gb`.",
						Validators: []validator.String{
							stringvalidator.ExactlyOneOf(path.MatchRelative().AtParent().AtName("device_class")),
							extendedResourceName(),
						},
					},
					"device_class": schema.StringAttribute{
						Optional:            true,
						MarkdownDescription: "DRA DeviceClass of the family, e.g. `h100.nvidia.com`.",
						Validators:          []validator.String{dnsSubdomain()},
					},
					"node_selector": schema.MapAttribute{
						ElementType: types.StringType, Optional: true,
						MarkdownDescription: "Labels that the family's nodes carry.",
						Validators:          []validator.Map{mapvalidator.SizeAtLeast(1), labelMap()},
					},
				}},
			},
			"kubernetes_version": schema.StringAttribute{Computed: true, MarkdownDescription: "Version of the API server."},
			"node_count":         schema.Int64Attribute{Computed: true, MarkdownDescription: "Nodes in the cluster."},
			"gpu_capacity": schema.MapAttribute{
				ElementType: types.Int64Type, Computed: true,
				MarkdownDescription: "Allocatable GPUs per family (extended-resource families), summed over the nodes " +
					"that match the family's `node_selector`.",
			},
			"timeouts": timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *dataplaneResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan records the planned catalog, so that tenants and projects
// planned in the same run are checked against it.
func (r *dataplaneResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.p == nil {
		return
	}
	var name types.String
	var families types.Map
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("gpu_families"), &families)...)
	if resp.Diagnostics.HasError() || name.IsUnknown() {
		return
	}
	known := !families.IsUnknown()
	var m map[string]gpuFamilyModel
	if known {
		resp.Diagnostics.Append(families.ElementsAs(ctx, &m, false)...)
	}
	cat := quota.Catalog{}
	for f, fam := range m {
		known = known && !fam.ResourceName.IsUnknown() && !fam.DeviceClass.IsUnknown()
		cat[f] = quota.Family{ResourceName: fam.ResourceName.ValueString(), DeviceClass: fam.DeviceClass.ValueString()}
	}
	if !known {
		cat = nil // known only at apply
	}
	r.p.plans.setCatalog(name.ValueString(), cat)
}

func (r *dataplaneResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan dataplaneModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	name := plan.Name.ValueString()

	if err := checkSingleDataplane(ctx, c, name); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Cannot create dataplane", err.Error())
		return
	}
	if err := installPlatform(ctx, c); err != nil {
		resp.Diagnostics.AddError("Cannot install gpuplane CRDs and roles", err.Error())
		return
	}
	if err := r.apply(ctx, c, &plan); err != nil {
		resp.Diagnostics.AddError("Cannot create dataplane", err.Error())
		return
	}
	resp.Diagnostics.Append(refreshComputed(ctx, c, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dataplaneResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state dataplaneModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.p.client.Known() {
		return
	}
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	found, diags := readDataplane(ctx, c, state.Name.ValueString(), &state)
	resp.Diagnostics.Append(diags...)
	if !found && !diags.HasError() {
		tflog.Info(ctx, "dataplane is gone; removing it from state", map[string]any{"name": state.Name.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if !diags.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

// readDataplane fills m from the cluster; found is false when there is no
// such dataplane. The resource and the data source share it.
func readDataplane(ctx context.Context, c *kube.Client, name string, m *dataplaneModel) (found bool, diags diag.Diagnostics) {
	obj, err := c.Get(ctx, crds.Dataplanes, "", name)
	if err != nil {
		diags.AddError("Cannot read dataplane", err.Error())
		return false, diags
	}
	if obj == nil {
		return false, diags
	}
	diags.Append(dataplaneFromObject(ctx, obj, m)...)
	diags.Append(refreshComputed(ctx, c, m)...)
	return true, diags
}

func (r *dataplaneResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan dataplaneModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	// Re-applying the CRDs upgrades them to this provider version's schema.
	if err := installPlatform(ctx, c); err != nil {
		resp.Diagnostics.AddError("Cannot upgrade gpuplane CRDs and roles", err.Error())
		return
	}
	if err := r.apply(ctx, c, &plan); err != nil {
		resp.Diagnostics.AddError("Cannot update dataplane", err.Error())
		return
	}
	resp.Diagnostics.Append(refreshComputed(ctx, c, &plan)...)
	resp.Diagnostics.Append(resp.State.Set(ctx, &plan)...)
}

func (r *dataplaneResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state dataplaneModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	name := state.Name.ValueString()
	for _, dep := range []struct {
		what, resourceType string
		list               func() ([]unstructured.Unstructured, error)
	}{
		{"tenants", "gpuplane_tenant", func() ([]unstructured.Unstructured, error) { return c.List(ctx, crds.Tenants, "", "") }},
		{"computes", "gpuplane_compute", func() ([]unstructured.Unstructured, error) { return c.List(ctx, crds.Computes, "", "") }},
	} {
		items, err := dep.list()
		if err != nil && !apierrors.IsNotFound(err) {
			resp.Diagnostics.AddError("Cannot delete dataplane", err.Error())
			return
		}
		if len(items) > 0 {
			resp.Diagnostics.AddError("Dataplane still in use",
				fmt.Sprintf("Dataplane %q still has %s %s. Destroy those %s resources first (or remove them from the "+
					"configuration); deleting the dataplane would delete them with its CRDs.",
					name, dep.what, strings.Join(objectNames(items), ", "), dep.resourceType))
			return
		}
	}
	if err := c.Delete(ctx, crds.Dataplanes, "", name); err != nil {
		resp.Diagnostics.AddError("Cannot delete dataplane", err.Error())
		return
	}
	if err := uninstallPlatform(ctx, c); err != nil {
		resp.Diagnostics.AddError("Cannot remove gpuplane CRDs and roles", err.Error())
	}
}

func (r *dataplaneResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

// apply writes the Dataplane object, adopting an existing one only if gpuplane wrote it.
func (r *dataplaneResource) apply(ctx context.Context, c *kube.Client, m *dataplaneModel) error {
	spec := crds.DataplaneSpec{GPUFamilies: map[string]crds.GPUFamily{}}
	for name, f := range m.GPUFamilies {
		sel := map[string]string{}
		if d := f.NodeSelector.ElementsAs(ctx, &sel, false); d.HasError() {
			return fmt.Errorf("node_selector of %s: %v", name, d)
		}
		spec.GPUFamilies[name] = crds.GPUFamily{
			ResourceName: f.ResourceName.ValueString(), DeviceClass: f.DeviceClass.ValueString(), NodeSelector: sel,
		}
	}
	obj, err := crds.New("Dataplane", "", m.Name.ValueString(), managedLabels(nil), &spec)
	if err != nil {
		return err
	}
	if _, err := c.Apply(ctx, crds.Dataplanes, obj); err != nil {
		return err
	}
	m.ID = m.Name
	return nil
}

// dataplaneFromObject fills the user-facing fields of m from the cluster object.
func dataplaneFromObject(ctx context.Context, obj *unstructured.Unstructured, m *dataplaneModel) diag.Diagnostics {
	var diags diag.Diagnostics
	var spec crds.DataplaneSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		diags.AddError("Cannot decode dataplane", err.Error())
		return diags
	}
	m.ID = types.StringValue(obj.GetName())
	m.Name = types.StringValue(obj.GetName())
	m.GPUFamilies = map[string]gpuFamilyModel{}
	for name, f := range spec.GPUFamilies {
		sel := types.MapNull(types.StringType)
		if len(f.NodeSelector) > 0 {
			var d diag.Diagnostics
			sel, d = types.MapValueFrom(ctx, types.StringType, f.NodeSelector)
			diags.Append(d...)
		}
		m.GPUFamilies[name] = gpuFamilyModel{
			ResourceName: optionalString(f.ResourceName), DeviceClass: optionalString(f.DeviceClass), NodeSelector: sel,
		}
	}
	return diags
}

// refreshComputed reads the API server version and the nodes.
func refreshComputed(ctx context.Context, c *kube.Client, m *dataplaneModel) diag.Diagnostics {
	var diags diag.Diagnostics
	v, err := c.Typed.Discovery().ServerVersion()
	if err != nil {
		diags.AddError("Cannot read the Kubernetes version", err.Error())
		return diags
	}
	m.KubernetesVersion = types.StringValue(v.GitVersion)
	nodes, err := listNodes(ctx, c)
	if err != nil {
		diags.AddError("Cannot list nodes", err.Error())
		return diags
	}
	m.NodeCount = types.Int64Value(int64(len(nodes)))
	capacity := map[string]attr.Value{}
	for name, f := range m.GPUFamilies {
		if f.ResourceName.IsNull() {
			continue // DRA families: capacity lives in ResourceSlices, not node allocatable.
		}
		sel := map[string]string{}
		diags.Append(f.NodeSelector.ElementsAs(ctx, &sel, false)...)
		capacity[name] = types.Int64Value(gpuCapacity(nodes, f.ResourceName.ValueString(), sel))
	}
	m.GPUCapacity = types.MapValueMust(types.Int64Type, capacity)
	return diags
}

// listNodes reads every node (from the cached LIST).
func listNodes(ctx context.Context, c *kube.Client) ([]corev1.Node, error) {
	return kube.CachedListAs[corev1.Node](ctx, c, kube.Nodes, "")
}

// gpuCapacity sums the allocatable resource over the nodes whose labels match selector.
func gpuCapacity(nodes []corev1.Node, resourceName string, selector map[string]string) int64 {
	sel := labels.SelectorFromSet(selector)
	var total int64
	for _, n := range nodes {
		if !sel.Matches(labels.Set(n.Labels)) {
			continue
		}
		q, ok := n.Status.Allocatable[corev1.ResourceName(resourceName)]
		if !ok {
			q = n.Status.Capacity[corev1.ResourceName(resourceName)]
		}
		total += q.Value()
	}
	return total
}

// checkSingleDataplane refuses a second dataplane on a cluster and an
// existing one that gpuplane did not write.
func checkSingleDataplane(ctx context.Context, c *kube.Client, name string) error {
	existing, err := c.List(ctx, crds.Dataplanes, "", "")
	if apierrors.IsNotFound(err) {
		return nil // CRDs not installed yet: a new cluster.
	}
	if err != nil {
		return err
	}
	for _, dp := range existing {
		if dp.GetName() != name {
			return fmt.Errorf("this cluster already has dataplane %q, and a cluster has one dataplane. Use that name, "+
				"or bring it under this configuration with: terraform import gpuplane_dataplane.<name> %s", dp.GetName(), dp.GetName())
		}
		if !kube.IsManaged(dp.GetLabels()) {
			return fmt.Errorf("dataplane %q exists but was not created by gpuplane (it lacks the label %s=%s). "+
				"Import it with: terraform import gpuplane_dataplane.<name> %s", name, kube.LabelManagedBy, kube.ManagedBy, name)
		}
	}
	return nil
}

func managedLabels(extra map[string]string) map[string]string {
	l := map[string]string{kube.LabelManagedBy: kube.ManagedBy}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func objectNames(items []unstructured.Unstructured) []string {
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, it.GetName())
	}
	sort.Strings(names)
	return names
}
