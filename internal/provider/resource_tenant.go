package provider

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringdefault"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

var (
	_ resource.ResourceWithConfigure   = (*tenantResource)(nil)
	_ resource.ResourceWithImportState = (*tenantResource)(nil)
	_ resource.ResourceWithIdentity    = (*tenantResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*tenantResource)(nil)
)

// NewTenantResource returns the gpuplane_tenant resource.
func NewTenantResource() resource.Resource { return &tenantResource{} }

type tenantResource struct{ p *providerData }

type tenantModel struct {
	ID                 types.String   `tfsdk:"id"`
	Dataplane          types.String   `tfsdk:"dataplane"`
	Name               types.String   `tfsdk:"name"`
	DisplayName        types.String   `tfsdk:"display_name"`
	AdminGroups        types.List     `tfsdk:"admin_groups"`
	Computes           types.List     `tfsdk:"computes"`
	GPUQuota           *gpuQuotaModel `tfsdk:"gpu_quota"`
	Overcommit         types.Bool     `tfsdk:"overcommit"`
	DeletionPolicy     types.String   `tfsdk:"deletion_policy"`
	Labels             types.Map      `tfsdk:"labels"`
	Namespace          types.String   `tfsdk:"namespace"`
	UID                types.String   `tfsdk:"uid"`
	EffectiveGPUQuota  types.Map      `tfsdk:"effective_gpu_quota"`
	Phase              types.String   `tfsdk:"phase"`
	ComputeCapacity    types.Map      `tfsdk:"compute_gpu_capacity"`
	ObjectsInSync      types.Bool     `tfsdk:"objects_in_sync"`
	DeletionProtection types.Bool     `tfsdk:"deletion_protection"`
	Timeouts           timeouts.Value `tfsdk:"timeouts"`
}

func (r *tenantResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant"
}

func (r *tenantResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An organisation on the dataplane: a cluster-scoped `Tenant`, a namespace named after it, a " +
			"RoleBinding of `admin_groups` to `admin`, and a ResourceQuota that allows no GPU in the tenant namespace " +
			"(GPU work runs in projects, under their quotas). Its `gpu_quota` bounds every project's. A tenant's apply rewrites " +
			"what each of its projects derives from it (quota, per-pod cap, placement, admin binding, labels), wherever the " +
			"project is managed; its plan warns about live projects that would no longer fit.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"dataplane": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the dataplane. Changing it replaces the tenant (see `name`).",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Tenant name (a DNS-1123 label); also its namespace. Changing it replaces the tenant: the tenant " +
					"namespace is deleted with everything in it (with `deletion_policy = \"cascade\"`, its projects' namespaces " +
					"too; with `restrict`, a tenant that still has projects cannot be replaced), then made anew.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"display_name": schema.StringAttribute{Optional: true, MarkdownDescription: "Human-readable name.",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 256)}},
			"admin_groups": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Groups bound to `admin` in the tenant namespace and in every project namespace of the tenant.",
				Validators: []validator.List{listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}},
			"computes": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Names of the computes (node pools) the tenant's projects may use.",
				Validators:          []validator.List{listvalidator.UniqueValues(), listvalidator.ValueStringsAre(dnsLabel())}},
			"gpu_quota": gpuQuotaAttribute("tenant"),
			"overcommit": schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(false),
				MarkdownDescription: "When false (the default), the projects' limits must add up to at most the tenant's, per " +
					"family, so the API server's per-namespace quotas guarantee the tenant total. When true, each project " +
					"must only fit within the tenant's limit and projects share the tenant's pool; the total is reported " +
					"(`gpuplane_gpu_usage`) but not refused at admission."},
			"deletion_policy": schema.StringAttribute{Optional: true, Computed: true, Default: stringdefault.StaticString("restrict"),
				MarkdownDescription: "`restrict` (default): destroying a tenant that still has projects fails. `cascade`: " +
					"destroying the tenant deletes its projects and their namespaces too.",
				Validators: []validator.String{stringvalidator.OneOf("restrict", "cascade")}},
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Labels added to every object of the tenant (e.g. a cost center for billing).",
				Validators:          []validator.Map{userLabels()}},
			"namespace": schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant namespace.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"uid": schema.StringAttribute{Computed: true, MarkdownDescription: "UID of the `Tenant` object.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"effective_gpu_quota": effectiveQuotaAttribute("tenant"),
			"phase": schema.StringAttribute{Computed: true, MarkdownDescription: "Phase of the tenant namespace (`Active`, `Terminating`, or `Missing`).",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"compute_gpu_capacity": schema.MapAttribute{Computed: true, ElementType: types.Int64Type,
				MarkdownDescription: "GPUs per family on the nodes of the tenant's computes (null without computes). The plan " +
					"warns when the tenant's limit for a family exceeds it."},
			"objects_in_sync":     objectsInSyncAttribute(),
			"deletion_protection": deletionProtectionAttribute("tenant"),
			"timeouts":            timeoutsAttribute(ctx),
		},
	}
}

func (r *tenantResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// expandTenant converts the model; known is false when something the
// quota checks need (name, dataplane, quota, overcommit) is unknown. Admin
// groups, labels and computes often come from other resources of the same
// apply (an identity provider's group): they may be unknown, and the tenant
// is still checked and recorded for its projects.
func expandTenant(ctx context.Context, m *tenantModel) (t platform.Tenant, known bool, diags diag.Diagnostics) {
	q, known, diags := expandGPUQuota(m.GPUQuota)
	t = platform.Tenant{
		Name: m.Name.ValueString(), Dataplane: m.Dataplane.ValueString(), DisplayName: m.DisplayName.ValueString(),
		DeletionPolicy: m.DeletionPolicy.ValueString(), Quota: q, Overcommit: m.Overcommit.ValueBool(),
	}
	diags.Append(m.Computes.ElementsAs(ctx, &t.Computes, true)...)
	diags.Append(m.AdminGroups.ElementsAs(ctx, &t.AdminGroups, true)...)
	diags.Append(m.Labels.ElementsAs(ctx, &t.Labels, true)...)
	known = known && !m.Name.IsUnknown() && !m.Dataplane.IsUnknown() && !m.Overcommit.IsUnknown()
	return t, known, diags
}

// flattenTenant fills the user-facing attributes of m from a live tenant.
func flattenTenant(t platform.Tenant, uid string, m *tenantModel) {
	m.ID, m.Name, m.Namespace = types.StringValue(t.Name), types.StringValue(t.Name), types.StringValue(t.Namespace())
	m.Dataplane = types.StringValue(t.Dataplane)
	m.DisplayName = optionalString(t.DisplayName)
	m.AdminGroups = listOrPrior(t.AdminGroups, m.AdminGroups)
	m.Computes = listOrPrior(t.Computes, m.Computes)
	m.GPUQuota = flattenGPUQuota(t.Quota, m.GPUQuota)
	m.Overcommit = types.BoolValue(t.Overcommit)
	m.DeletionPolicy = types.StringValue(orDefault(t.DeletionPolicy, "restrict"))
	m.Labels = mapOrPrior(t.Labels, m.Labels)
	m.UID = types.StringValue(uid)
}

func (r *tenantResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer tenantIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan tenantModel
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
	owner := platform.Owner{Tenant: name}
	if !adoptable(ctx, c, existingObject{crds.Tenants, "", name, "Tenant", strconv.Quote(name), "gpuplane_tenant", name, owner}, &resp.Diagnostics) {
		return
	}
	if err := platform.AwaitNamespaceAdoptable(ctx, c, name, owner, false); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Cannot create tenant", err.Error())
		return
	}
	r.write(ctx, c, &plan, nil, &resp.Diagnostics, target{&resp.State, true})
}

func (r *tenantResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer tenantIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan tenantModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	var prior []string
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("computes"), &prior)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Update, defaultWriteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	r.write(ctx, c, &plan, prior, &resp.Diagnostics, target{&resp.State, false})
}

// stateSetter is the part of tfsdk.State that a write needs.
type stateSetter interface {
	Set(context.Context, any) diag.Diagnostics
}

// write re-checks the rules against the live cluster, then writes the
// Tenant object (the record of intent) and its objects. On a failure after
// the Tenant is written, the state records it with objects_in_sync = false.
func (r *tenantResource) write(ctx context.Context, c *kube.Client, m *tenantModel, priorComputes []string, diags *diag.Diagnostics, w target) {
	t, eff, d := r.check(ctx, c, m, false)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	uid, err := platform.WriteTenant(ctx, c, t.Tenant)
	if err != nil {
		diags.AddError("Cannot write tenant", err.Error())
		return
	}
	m.ID, m.Namespace, m.UID = types.StringValue(t.Name), types.StringValue(t.Namespace()), types.StringValue(uid)
	m.EffectiveGPUQuota = flattenEffectiveQuota(eff)
	m.ComputeCapacity = r.p.computeCapacity(ctx, c, t, eff, false, &diag.Diagnostics{})
	m.Phase = types.StringValue("Active")
	err = platform.WriteTenantObjects(ctx, c, t.Tenant, t.Catalog, priorComputes)
	m.ObjectsInSync = types.BoolValue(err == nil)
	w.finish(ctx, m, "tenant", "Cannot write the tenant's objects", err, diags)
}

func (r *tenantResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer tenantIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var state tenantModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.p.readClient(&resp.Diagnostics)
	if c == nil {
		return
	}
	found, diags := r.p.readTenant(ctx, c, state.Name.ValueString(), &state)
	resp.Diagnostics.Append(diags...)
	if !found && !diags.HasError() {
		tflog.Info(ctx, "tenant is gone; removing it from state", map[string]any{"name": state.Name.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if !diags.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

// readTenant fills m from the Tenant object and its objects; found is false
// when there is no such tenant. The resource and the data source share it.
func (d *providerData) readTenant(ctx context.Context, c *kube.Client, name string, m *tenantModel) (found bool, diags diag.Diagnostics) {
	t, uid, err := platform.GetTenant(ctx, c, name)
	if err != nil {
		diags.AddError("Cannot read tenant", err.Error())
		return false, diags
	}
	if t == nil {
		return false, diags
	}
	flattenTenant(*t, uid, m)
	phase, err := platform.TenantPhase(ctx, c, *t)
	if err != nil {
		diags.AddError("Cannot read tenant namespace", err.Error())
		return true, diags
	}
	m.Phase = types.StringValue(phase)
	m.EffectiveGPUQuota = emptyEffective()
	m.ComputeCapacity = types.MapNull(types.Int64Type)
	cat, _, err := d.catalog(ctx, c, t.Dataplane, false)
	if err == nil {
		view := tenantView{Tenant: *t, Catalog: cat, ComputesKnown: true, CatalogComplete: true}
		eff := view.effective()
		m.EffectiveGPUQuota = flattenEffectiveQuota(eff)
		m.ComputeCapacity = d.computeCapacity(ctx, c, view, eff, false, &diag.Diagnostics{})
	}
	inSync, err := platform.TenantObjectsInSync(ctx, c, *t, cat)
	if err != nil {
		diags.AddError("Cannot read the tenant's objects", err.Error())
		return true, diags
	}
	m.ObjectsInSync = types.BoolValue(inSync)
	return true, diags
}

func (r *tenantResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state tenantModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	t, _, diags := expandTenant(ctx, &state)
	resp.Diagnostics.Append(diags...)
	projects, err := platform.ListProjects(ctx, c, t.Name)
	var going []string
	if err == nil {
		// Projects destroyed earlier in this run (their namespaces still
		// terminating) are going: neither restrict nor protection holds for them.
		going, err = platform.ProjectsBeingDeleted(ctx, c, t.Name)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete tenant", err.Error())
		return
	}
	live := slices.DeleteFunc(slices.Clone(projects), func(p platform.Project) bool { return slices.Contains(going, p.Name) })
	if len(live) > 0 && state.DeletionPolicy.ValueString() != "cascade" {
		names := make([]string, 0, len(live))
		for _, p := range live {
			names = append(names, p.Name)
		}
		resp.Diagnostics.AddError("Tenant still has projects",
			fmt.Sprintf("Tenant %q still has projects %s and its deletion_policy is \"restrict\". Destroy those "+
				"gpuplane_project resources first, or set deletion_policy = \"cascade\" (and apply) to delete them with the tenant.",
				t.Name, strings.Join(names, ", ")))
		return
	}
	namespaces := []string{t.Namespace()}
	for _, p := range live {
		namespaces = append(namespaces, p.Namespace)
	}
	if refuseDeletion(ctx, c, fmt.Sprintf("tenant %q", t.Name), state.DeletionProtection, namespaces, &resp.Diagnostics) {
		return
	}
	if err := platform.DeleteTenant(ctx, c, t, projects); err != nil {
		resp.Diagnostics.AddError("Cannot delete tenant", err.Error())
	}
}

func objectsInSyncAttribute() schema.BoolAttribute {
	return schema.BoolAttribute{Computed: true,
		MarkdownDescription: "False when an object gpuplane manages for this resource (namespace, RoleBinding, " +
			"ResourceQuota) was deleted or changed outside Terraform; the next apply restores it."}
}
