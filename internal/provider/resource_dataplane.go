package provider

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
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
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
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
	_ resource.ResourceWithConfigure   = (*dataplaneResource)(nil)
	_ resource.ResourceWithImportState = (*dataplaneResource)(nil)
	_ resource.ResourceWithIdentity    = (*dataplaneResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*dataplaneResource)(nil)
)

// NewDataplaneResource returns the gpuplane_dataplane resource.
func NewDataplaneResource() resource.Resource { return &dataplaneResource{} }

type dataplaneResource struct{ p *providerData }

type dataplaneModel struct {
	ID                types.String              `tfsdk:"id"`
	Name              types.String              `tfsdk:"name"`
	GPUFamilies       map[string]gpuFamilyModel `tfsdk:"gpu_families"`
	QuotaBackend      types.String              `tfsdk:"quota_backend"`
	KueueSA           types.String              `tfsdk:"kueue_service_account"`
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

// serviceAccountPattern is namespace/name.
var serviceAccountPattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$`)

// familyNamePattern: catalog keys are what users write in quotas.
var familyNamePattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$`)

func (r *dataplaneResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_dataplane"
}

func (r *dataplaneResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "The shared cluster, registered once, with its catalog of GPU families. Installs gpuplane's " +
			"CRDs and ClusterRoles and the cluster-scoped `Dataplane` object. A cluster has one dataplane. Changing a family's " +
			"`resource_name` or `device_class` rewrites every quota of every tenant and project in the same apply.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{
				Computed: true, MarkdownDescription: "The dataplane name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()},
			},
			"name": schema.StringAttribute{
				Required: true, MarkdownDescription: "Name of the dataplane (a DNS-1123 label). Changing it replaces the dataplane: it must have no tenants or computes left (the destroy refuses otherwise); gpuplane's CRDs and admission policies are deleted and installed anew.",
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
						Validators:          []validator.Map{labelMap()},
					},
				}},
			},
			"quota_backend": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(platform.BackendResourceQuota),
				MarkdownDescription: "What enforces the GPU quotas of extended-resource families: `resource-quota` (default; " +
					"a ResourceQuota per project, so every family needs its own resource name) or `kueue` (Kueue's ClusterQueues " +
					"and Cohorts, which tell families that share `nvidia.com/gpu` apart by their node labels and enforce a " +
					"tenant's total even with `overcommit`; Kueue v0.17 or later must be installed). DRA families are always " +
					"enforced by ResourceQuota. Changing it replaces the dataplane, which needs its tenants and computes " +
					"destroyed first. See the Kueue guide.",
				Validators:    []validator.String{stringvalidator.OneOf(platform.BackendResourceQuota, platform.BackendKueue)},
				PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()},
			},
			"kueue_service_account": schema.StringAttribute{
				Optional: true, Computed: true, Default: stringdefault.StaticString(platform.DefaultKueueServiceAccount),
				MarkdownDescription: "Service account (`namespace/name`) of Kueue's controller manager: with `quota_backend = " +
					"\"kueue\"`, only it may start a queued GPU Job or release a queued pod in a project namespace.",
				Validators: []validator.String{stringvalidator.RegexMatches(serviceAccountPattern,
					"must be namespace/name, two DNS-1123 labels, e.g. kueue-system/kueue-controller-manager")},
			},
			"kubernetes_version": schema.StringAttribute{Computed: true, MarkdownDescription: "Version of the API server."},
			"node_count":         schema.Int64Attribute{Computed: true, MarkdownDescription: "Nodes in the cluster."},
			"gpu_capacity": schema.MapAttribute{
				ElementType: types.Int64Type, Computed: true,
				MarkdownDescription: "GPUs per family: for extended-resource families the allocatable GPUs of the nodes " +
					"that match the family's `node_selector`; for DRA families the devices in ResourceSlices of the driver " +
					"the device class selects (when its one selector is `device.driver == \"<driver>\"`; other classes count 0) " +
					"on those nodes.",
			},
			"timeouts": timeoutsAttribute(ctx),
		},
	}
}

func (r *dataplaneResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// ModifyPlan records the planned catalog, so that tenants and projects
// planned in the same run are checked against it. What is known is
// recorded: a family whose resource name or device class is known only at
// apply is recorded without them (checks that need them wait for apply),
// and a catalog with any such value is incomplete (capacity waits too).
func (r *dataplaneResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.p == nil {
		return
	}
	var name, backend types.String
	var families types.Map
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("name"), &name)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("gpu_families"), &families)...)
	resp.Diagnostics.Append(req.Plan.GetAttribute(ctx, path.Root("quota_backend"), &backend)...)
	if resp.Diagnostics.HasError() || name.IsUnknown() {
		return
	}
	if families.IsUnknown() || backend.IsUnknown() {
		r.p.plans.setCatalog(name.ValueString(), nil, false) // known only at apply
		return
	}
	kueue := backend.ValueString() == platform.BackendKueue
	var m map[string]gpuFamilyModel
	resp.Diagnostics.Append(families.ElementsAs(ctx, &m, false)...)
	cat, complete := quota.Catalog{}, true
	for f, fam := range m {
		sel, selKnown := stringMap(fam.NodeSelector)
		complete = complete && selKnown && !fam.ResourceName.IsUnknown() && !fam.DeviceClass.IsUnknown()
		cat[f] = quota.Family{ResourceName: fam.ResourceName.ValueString(), DeviceClass: fam.DeviceClass.ValueString(), NodeSelector: sel,
			Queued: kueue && !fam.ResourceName.IsNull()}
	}
	r.p.plans.setCatalog(name.ValueString(), cat, complete)
	if kueue {
		resp.Diagnostics.Append(checkKueueCatalog(cat, complete)...)
		resp.Diagnostics.Append(r.checkKueueInstalled(ctx)...)
	}
}

// expandDataplane converts the catalog to the Dataplane object's spec.
func expandDataplane(ctx context.Context, m *dataplaneModel) (crds.DataplaneSpec, diag.Diagnostics) {
	var diags diag.Diagnostics
	spec := crds.DataplaneSpec{GPUFamilies: map[string]crds.GPUFamily{}, QuotaBackend: m.QuotaBackend.ValueString()}
	if spec.QuotaBackend == platform.BackendKueue {
		spec.KueueServiceAccount = m.KueueSA.ValueString()
	}
	for name, f := range m.GPUFamilies {
		sel := map[string]string{}
		diags.Append(f.NodeSelector.ElementsAs(ctx, &sel, false)...)
		spec.GPUFamilies[name] = crds.GPUFamily{
			ResourceName: f.ResourceName.ValueString(), DeviceClass: f.DeviceClass.ValueString(), NodeSelector: sel,
		}
	}
	return spec, diags
}

// flattenDataplane fills the user-facing attributes of m from a Dataplane's spec.
func flattenDataplane(name string, spec crds.DataplaneSpec, m *dataplaneModel) {
	m.ID, m.Name = types.StringValue(name), types.StringValue(name)
	m.QuotaBackend = types.StringValue(cmp.Or(spec.QuotaBackend, platform.BackendResourceQuota))
	m.KueueSA = types.StringValue(cmp.Or(spec.KueueServiceAccount, platform.DefaultKueueServiceAccount))
	prior := m.GPUFamilies
	m.GPUFamilies = map[string]gpuFamilyModel{}
	for family, f := range spec.GPUFamilies {
		priorSelector := types.MapNull(types.StringType)
		if p, ok := prior[family]; ok {
			priorSelector = p.NodeSelector
		}
		m.GPUFamilies[family] = gpuFamilyModel{
			ResourceName: optionalString(f.ResourceName), DeviceClass: optionalString(f.DeviceClass),
			NodeSelector: mapOrPrior(f.NodeSelector, priorSelector),
		}
	}
}

func (r *dataplaneResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer dataplaneIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan dataplaneModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Create, 10*time.Minute, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	if err := platform.CheckSingleDataplane(ctx, c, plan.Name.ValueString()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Cannot create dataplane", err.Error())
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics, target{&resp.State, true})
}

func (r *dataplaneResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer dataplaneIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan dataplaneModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Update, 10*time.Minute, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics, target{&resp.State, false})
}

// write installs (or, re-applied, upgrades to this provider version) the
// CRDs, roles and admission policies, then writes the Dataplane object.
func (r *dataplaneResource) write(ctx context.Context, c *kube.Client, m *dataplaneModel, diags *diag.Diagnostics, w target) {
	if err := platform.Install(ctx, c); err != nil {
		diags.AddError("Cannot install gpuplane CRDs and roles", err.Error())
		return
	}
	spec, d := expandDataplane(ctx, m)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	if err := platform.WriteDataplane(ctx, c, m.Name.ValueString(), spec); err != nil {
		diags.AddError("Cannot write dataplane", err.Error())
		return
	}
	m.ID = m.Name
	cat := platform.CatalogOf(spec)
	if cat.Queued() {
		if err := platform.WriteFlavors(ctx, c, cat); err != nil {
			diags.AddError("Cannot write Kueue ResourceFlavors", err.Error())
			return
		}
	}
	err := platform.RewriteAllDerived(ctx, c, m.Name.ValueString(), cat)
	diags.Append(refreshComputed(ctx, c, m)...)
	w.finish(ctx, m, "dataplane", "Cannot rewrite the quotas the catalog derives", err, diags)
}

func (r *dataplaneResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer dataplaneIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var state dataplaneModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.p.readClient(&resp.Diagnostics)
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
	spec, err := platform.GetDataplane(ctx, c, name)
	if err != nil {
		diags.AddError("Cannot read dataplane", err.Error())
		return false, diags
	}
	if spec == nil {
		return false, diags
	}
	flattenDataplane(name, *spec, m)
	diags.Append(refreshComputed(ctx, c, m)...)
	return true, diags
}

func (r *dataplaneResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state dataplaneModel
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
	tenants, computes, err := platform.DataplaneDependents(ctx, c)
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete dataplane", err.Error())
		return
	}
	for _, dep := range []struct {
		what, resourceType string
		names              []string
	}{{"tenants", "gpuplane_tenant", tenants}, {"computes", "gpuplane_compute", computes}} {
		if len(dep.names) > 0 {
			resp.Diagnostics.AddError("Dataplane still in use",
				fmt.Sprintf("Dataplane %q still has %s %s. Destroy those %s resources first (or remove them from the "+
					"configuration); deleting the dataplane would delete them with its CRDs.",
					name, dep.what, strings.Join(dep.names, ", "), dep.resourceType))
			return
		}
	}
	if err := platform.DeleteDataplane(ctx, c, name); err != nil {
		resp.Diagnostics.AddError("Cannot delete dataplane", err.Error())
	}
}

// refreshComputed reads the API server version and the nodes.
func refreshComputed(ctx context.Context, c *kube.Client, m *dataplaneModel) diag.Diagnostics {
	var diags diag.Diagnostics
	v, err := platform.ServerVersion(ctx, c)
	if err != nil {
		diags.AddError("Cannot read the Kubernetes version", err.Error())
		return diags
	}
	m.KubernetesVersion = types.StringValue(v)
	nodes, err := platform.ListNodes(ctx, c)
	if err != nil {
		diags.AddError("Cannot list nodes", err.Error())
		return diags
	}
	m.NodeCount = types.Int64Value(int64(len(nodes)))
	capacity := map[string]attr.Value{}
	spec, d := expandDataplane(ctx, m)
	diags.Append(d...)
	dra, err := platform.DRACapacity(ctx, c, platform.CatalogOf(spec), nodes)
	if err != nil {
		diags.AddError("Cannot count DRA devices", err.Error())
		return diags
	}
	for name, f := range m.GPUFamilies {
		if f.ResourceName.IsNull() {
			// DRA families: devices in ResourceSlices of the driver the class selects.
			capacity[name] = types.Int64Value(dra[name])
			continue
		}
		sel := map[string]string{}
		diags.Append(f.NodeSelector.ElementsAs(ctx, &sel, false)...)
		capacity[name] = types.Int64Value(platform.GPUCapacity(nodes, f.ResourceName.ValueString(), sel))
	}
	m.GPUCapacity = types.MapValueMust(types.Int64Type, capacity)
	return diags
}
