package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
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

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var (
	_ resource.ResourceWithConfigure   = (*projectResource)(nil)
	_ resource.ResourceWithImportState = (*projectResource)(nil)
	_ resource.ResourceWithIdentity    = (*projectResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*projectResource)(nil)
)

// NewProjectResource returns the gpuplane_project resource.
func NewProjectResource() resource.Resource { return &projectResource{} }

type projectResource struct{ p *providerData }

type projectModel struct {
	ID                 types.String      `tfsdk:"id"`
	Tenant             types.String      `tfsdk:"tenant"`
	Name               types.String      `tfsdk:"name"`
	Namespace          types.String      `tfsdk:"namespace"`
	Compute            types.String      `tfsdk:"compute"`
	RoleMapping        *roleMappingModel `tfsdk:"role_mapping"`
	GPUQuota           *gpuQuotaModel    `tfsdk:"gpu_quota"`
	Labels             types.Map         `tfsdk:"labels"`
	EffectiveGPUQuota  types.Map         `tfsdk:"effective_gpu_quota"`
	Placement          types.Map         `tfsdk:"placement"`
	ObjectsInSync      types.Bool        `tfsdk:"objects_in_sync"`
	DeletionProtection types.Bool        `tfsdk:"deletion_protection"`
	AdoptNamespace     types.Bool        `tfsdk:"adopt_namespace"`
	Timeouts           timeouts.Value    `tfsdk:"timeouts"`
}

type roleMappingModel struct {
	Viewer types.List `tfsdk:"viewer"`
	Editor types.List `tfsdk:"editor"`
	Admin  types.List `tfsdk:"admin"`
}

func (r *projectResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_project"
}

func (r *projectResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	groups := func(role string) schema.ListAttribute {
		return schema.ListAttribute{ElementType: types.StringType, Optional: true,
			MarkdownDescription: fmt.Sprintf("Groups bound to the built-in `%s` role in the project namespace.", role),
			Validators: []validator.List{listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A team workspace inside a tenant: its own namespace, RoleBindings for its groups and the " +
			"tenant's admins, and a GPU quota that must fit inside the tenant's (checked at plan time) and inherits the " +
			"tenant's for families it leaves out. The quota becomes a ResourceQuota (`requests.<resource>` per family) " +
			"and a per-pod cap (the largest workload per family, checked by gpuplane's admission policy), both enforced by the API server. Admins of the project cannot " +
			"change either. A project is identified by its tenant and name, and its namespace belongs to it alone (see the provider " +
			"page: identity, failures). Changing `tenant`, `name` or `namespace` replaces the project: its namespace, and every " +
			"workload in it, is deleted, and its quota is freed in the same plan.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<tenant>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"tenant": schema.StringAttribute{Required: true,
				MarkdownDescription: "Name of the tenant. A project cannot move to another tenant: changing it replaces the project.",
				Validators:          []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Project name (a DNS-1123 label), unique in its tenant. Changing it replaces the project: its namespace and its workloads are deleted.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"namespace": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Namespace of the project; default `<tenant>-<name>`, which must fit in 63 characters. Changing it " +
					"replaces the project: the namespace and its workloads are deleted. Not a " +
					"system namespace (`default`, `kube-*`), nor one that exists and belongs to something else; an existing namespace " +
					"is used only when its labels say it is this project's.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"compute": schema.StringAttribute{Optional: true,
				MarkdownDescription: "The project's main compute (node pool): must be one of the tenant's `computes`, and " +
					"the tenant cannot drop a compute a project names. Today it is a record (the `Project` object's " +
					"`spec.compute`, shown by `kubectl get projects`): it does not pin or default pod placement, so the " +
					"project's pods may run on any of the tenant's computes (see `placement`).",
				Validators: []validator.String{dnsLabel()}},
			"role_mapping": schema.SingleNestedAttribute{Optional: true,
				MarkdownDescription: "Groups per project role.",
				Attributes:          map[string]schema.Attribute{"viewer": groups("view"), "editor": groups("edit"), "admin": groups("admin")}},
			"gpu_quota": gpuQuotaAttribute("project"),
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Labels added to every object of the project (on top of the tenant's).",
				Validators:          []validator.Map{userLabels()}},
			"effective_gpu_quota": effectiveQuotaAttribute("project"),
			"placement": schema.MapAttribute{Computed: true, ElementType: types.MapType{ElemType: types.StringType},
				MarkdownDescription: "The tenant's computes and their node selectors: when the tenant lists computes, pods in " +
					"the project must select one of them (`spec.nodeSelector` with all of a compute's labels, or required node " +
					"affinity pinning them with `In`); the API server refuses others. Null when the tenant lists none."},
			"objects_in_sync":     objectsInSyncAttribute(),
			"deletion_protection": deletionProtectionAttribute("project"),
			"adopt_namespace": schema.BoolAttribute{Optional: true,
				MarkdownDescription: "When true, a create may take over a `namespace` that already exists and was not made by " +
					"gpuplane (e.g. one a `kubernetes_namespace` resource made): gpuplane adds its labels, quota, bindings and " +
					"policies and leaves the rest of the namespace as it is. Without it such a namespace is refused at plan. " +
					"Only a create looks at it; from then on the namespace is the project's, and destroying or replacing the " +
					"project deletes it. A namespace of another tenant or project, or a system one, is never adopted. See the " +
					"migration guide."},
			"timeouts": timeoutsAttribute(ctx),
		},
	}
}

func (r *projectResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// expandProject converts the model; known is false when something the
// project's checks need is unknown.
func expandProject(ctx context.Context, m *projectModel) (p platform.Project, known bool, diags diag.Diagnostics) {
	q, known, diags := expandGPUQuota(m.GPUQuota)
	p = platform.Project{Tenant: m.Tenant.ValueString(), Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(),
		Compute: m.Compute.ValueString(), Quota: q}
	if rm := m.RoleMapping; rm != nil {
		diags.Append(rm.Viewer.ElementsAs(ctx, &p.Roles.Viewer, true)...)
		diags.Append(rm.Editor.ElementsAs(ctx, &p.Roles.Editor, true)...)
		diags.Append(rm.Admin.ElementsAs(ctx, &p.Roles.Admin, true)...)
	}
	diags.Append(m.Labels.ElementsAs(ctx, &p.Labels, true)...)
	known = known && !m.Tenant.IsUnknown() && !m.Name.IsUnknown() && !m.Compute.IsUnknown()
	return p, known, diags
}

// flattenProject fills the user-facing attributes of m from a live project.
func flattenProject(p platform.Project, m *projectModel) {
	m.ID = types.StringValue(p.Tenant + "/" + p.Name)
	m.Tenant, m.Name, m.Namespace = types.StringValue(p.Tenant), types.StringValue(p.Name), types.StringValue(p.Namespace)
	m.Compute = optionalString(p.Compute)
	m.RoleMapping = flattenRoleMapping(p.Roles, m.RoleMapping)
	m.GPUQuota = flattenGPUQuota(p.Quota, m.GPUQuota)
	m.Labels = mapOrPrior(p.Labels, m.Labels)
	m.Placement = flattenPlacement(p.Placement)
}

// flattenRoleMapping converts the spec; an empty mapping reads back as
// prior when prior holds no groups, and each empty list as prior's.
func flattenRoleMapping(rm crds.RoleMapping, prior *roleMappingModel) *roleMappingModel {
	if len(rm.Viewer) == 0 && len(rm.Editor) == 0 && len(rm.Admin) == 0 {
		return prior
	}
	if prior == nil {
		prior = &roleMappingModel{Viewer: types.ListNull(types.StringType), Editor: types.ListNull(types.StringType), Admin: types.ListNull(types.StringType)}
	}
	return &roleMappingModel{Viewer: listOrPrior(rm.Viewer, prior.Viewer), Editor: listOrPrior(rm.Editor, prior.Editor),
		Admin: listOrPrior(rm.Admin, prior.Admin)}
}

// flattenPlacement renders a placement; null when the tenant lists no computes.
func flattenPlacement(pl map[string]map[string]string) types.Map {
	t := types.MapType{ElemType: types.StringType}
	if len(pl) == 0 {
		return types.MapNull(t)
	}
	els := map[string]attr.Value{}
	for name, sel := range pl {
		els[name] = optionalMap(sel)
	}
	return types.MapValueMust(t, els)
}

func (r *projectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer projectIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Create, defaultWriteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	tenant, name, ns := plan.Tenant.ValueString(), plan.Name.ValueString(), plan.Namespace.ValueString()
	id := tenant + "/" + name
	owner := platform.Owner{Tenant: tenant, Project: name}
	if !adoptable(ctx, c, existingObject{crds.Projects, ns, name, "Project", id, "gpuplane_project", id, owner}, &resp.Diagnostics) {
		return
	}
	if err := platform.AwaitNamespaceAdoptable(ctx, c, ns, owner, plan.AdoptNamespace.ValueBool()); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("namespace"), "Cannot create project", err.Error())
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics, target{&resp.State, true})
}

func (r *projectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer projectIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Update, defaultWriteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics, target{&resp.State, false})
}

// write re-checks the rules against the live tenant and projects, then
// writes the namespace, the Project object and its objects.
func (r *projectResource) write(ctx context.Context, c *kube.Client, m *projectModel, diags *diag.Diagnostics, w target) {
	p, _, d := expandProject(ctx, m)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	t, found, err := r.p.tenant(ctx, c, p.Tenant, false)
	if err != nil {
		diags.AddAttributeError(path.Root("tenant"), "Cannot read tenant", err.Error())
		return
	}
	if !found {
		diags.AddAttributeError(path.Root("tenant"), "Unknown tenant", fmt.Sprintf("Tenant %q does not exist. Create it (gpuplane_tenant), "+
			"or reference one that does.", p.Tenant))
		return
	}
	eff, d := r.checkAtApply(ctx, c, t, p)
	diags.Append(d...)
	placement, _, err := r.p.placement(ctx, c, t, false)
	if err != nil {
		diags.AddAttributeError(path.Root("tenant"), "Cannot read the tenant's computes", err.Error())
	}
	if diags.HasError() {
		return
	}
	if !r.reserve(ctx, c, t, p, diags) {
		return
	}
	p.Placement = placement
	m.ID = types.StringValue(p.Tenant + "/" + p.Name)
	m.Placement = flattenPlacement(placement)
	m.EffectiveGPUQuota = flattenEffectiveQuota(eff)
	wrote, err := platform.WriteProject(ctx, c, p, t.Tenant, t.Catalog, eff)
	if !wrote {
		diags.AddError("Cannot create the project namespace", err.Error())
		return
	}
	m.ObjectsInSync = types.BoolValue(err == nil)
	w.finish(ctx, m, "project", "Cannot write the project's objects", err, diags)
}

// reserve records the project's quota in its tenant's ledger, checking the
// tenant total once more against the Tenant object and every project as
// they are at that instant, linearizably (platform.ReserveProjectQuota): two
// applies that add projects to one tenant at once never both pass when
// together they overflow it. A tenant with overcommit has no total to hold.
func (r *projectResource) reserve(ctx context.Context, c *kube.Client, t tenantView, p platform.Project, diags *diag.Diagnostics) bool {
	if t.Overcommit {
		return true
	}
	var refused []quota.Problem
	err := platform.ReserveProjectQuota(ctx, c, p.Tenant, p.Name, p.Quota, func(live platform.Tenant, siblings map[string]quota.Quota, prior *quota.Quota) error {
		view := tenantView{Tenant: live, Catalog: t.Catalog, ComputesKnown: true}
		rules := p.Rules()
		rules.Prior = prior
		_, problems := quota.CheckProject(view.rules(), t.Catalog, rules, siblings)
		if refused = quota.Errors(problems); len(refused) > 0 {
			return errRefused
		}
		return nil
	})
	switch {
	case errors.Is(err, errRefused):
		addProblems(diags, refused)
		return false
	case err != nil:
		diags.AddError("Cannot reserve the project's quota in its tenant", err.Error())
		return false
	}
	return true
}

// errRefused: the tenant's quota refuses the project; the problems say why.
var errRefused = errors.New("refused by the quota rules")

func (r *projectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer projectIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var state projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.p.readClient(&resp.Diagnostics)
	if c == nil {
		return
	}
	found, diags := r.p.readProject(ctx, c, state.Tenant.ValueString(), state.Name.ValueString(), state.Namespace.ValueString(), &state)
	resp.Diagnostics.Append(diags...)
	if !found && !diags.HasError() {
		tflog.Info(ctx, "project is gone; removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	if !diags.HasError() {
		resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
	}
}

// readProject fills m from the Project object and its objects; found is
// false when there is no such project. namespace may be "" (import, data
// source). The resource and the data source share it.
func (d *providerData) readProject(ctx context.Context, c *kube.Client, tenant, name, namespace string, m *projectModel) (found bool, diags diag.Diagnostics) {
	p, err := platform.FindProject(ctx, c, tenant, name, namespace)
	if err != nil {
		diags.AddError("Cannot read project", err.Error())
		return false, diags
	}
	if p == nil {
		return false, diags
	}
	flattenProject(*p, m)
	m.EffectiveGPUQuota = emptyEffective()
	m.ObjectsInSync = types.BoolValue(false)
	t, found, err := d.tenant(ctx, c, p.Tenant, false)
	if err != nil || !found {
		if err != nil {
			diags.AddError("Cannot read the project's objects", err.Error())
		}
		return true, diags
	}
	eff := quota.ProjectEffective(t.effective(), p.Quota, t.Catalog.Names())
	m.EffectiveGPUQuota = flattenEffectiveQuota(eff)
	placement, _, err := d.placement(ctx, c, t, false)
	if err != nil {
		return true, diags // a compute of the tenant is gone: out of sync
	}
	inSync, err := platform.ProjectObjectsInSync(ctx, c, *p, t.Tenant, t.Catalog, eff, placement)
	if err != nil {
		diags.AddError("Cannot read the project's objects", err.Error())
		return true, diags
	}
	m.ObjectsInSync = types.BoolValue(inSync)
	return true, diags
}

func (r *projectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	what := fmt.Sprintf("project %q", state.ID.ValueString())
	if refuseDeletion(ctx, c, what, state.DeletionProtection, []string{state.Namespace.ValueString()}, &resp.Diagnostics) {
		return
	}
	queued, err := platform.TenantQueued(ctx, c, state.Tenant.ValueString())
	if err == nil {
		err = platform.DeleteProject(ctx, c, state.Namespace.ValueString(), queued)
	}
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete project", err.Error())
		return
	}
	// Its namespace is terminating: its ledger entry goes now; its Project
	// object keeps counting against the tenant until the namespace
	// controller removes it (the ledger counts live Project objects).
	if err := platform.ReleaseProjectQuota(ctx, c, state.Tenant.ValueString(), state.Name.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot release the project's quota in its tenant", err.Error())
	}
}

// splitQualified splits "<tenant>/<name>" or the DataOS form "<tenant>:<name>".
func splitQualified(id string) (tenant, name string, ok bool) {
	for _, sep := range []string{"/", ":"} {
		if t, n, found := strings.Cut(id, sep); found && t != "" && n != "" && !strings.ContainsAny(n, "/:") {
			return t, n, true
		}
	}
	return "", "", false
}
