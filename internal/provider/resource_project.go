package provider

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
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
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var (
	_ resource.ResourceWithConfigure   = (*projectResource)(nil)
	_ resource.ResourceWithImportState = (*projectResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*projectResource)(nil)
)

// NewProjectResource returns the gpuplane_project resource.
func NewProjectResource() resource.Resource { return &projectResource{} }

type projectResource struct{ p *providerData }

type projectModel struct {
	ID                types.String      `tfsdk:"id"`
	Tenant            types.String      `tfsdk:"tenant"`
	Name              types.String      `tfsdk:"name"`
	Namespace         types.String      `tfsdk:"namespace"`
	Compute           types.String      `tfsdk:"compute"`
	RoleMapping       *roleMappingModel `tfsdk:"role_mapping"`
	GPUQuota          *gpuQuotaModel    `tfsdk:"gpu_quota"`
	Labels            types.Map         `tfsdk:"labels"`
	EffectiveGPUQuota types.Map         `tfsdk:"effective_gpu_quota"`
	Placement         types.Map         `tfsdk:"placement"`
	ObjectsInSync     types.Bool        `tfsdk:"objects_in_sync"`
	Timeouts          timeouts.Value    `tfsdk:"timeouts"`
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
			Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
				listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}}
	}
	resp.Schema = schema.Schema{
		MarkdownDescription: "A team workspace inside a tenant: its own namespace, RoleBindings for its groups and the " +
			"tenant's admins, and a GPU quota that must fit inside the tenant's (checked at plan time) and inherits the " +
			"tenant's for families it leaves out. The quota becomes a ResourceQuota (`requests.<resource>` per family) " +
			"and a per-pod cap (the largest workload per family, checked by gpuplane's admission policy), both enforced by the API server. Admins of the project cannot " +
			"change either.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<tenant>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"tenant": schema.StringAttribute{Required: true,
				MarkdownDescription: "Name of the tenant. A project cannot move to another tenant: changing it replaces the project.",
				Validators:          []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Required: true, MarkdownDescription: "Project name (a DNS-1123 label), unique in its tenant.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"namespace": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Namespace of the project; default `<tenant>-<name>`, which must fit in 63 characters.",
				Validators:          []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"compute": schema.StringAttribute{Optional: true,
				MarkdownDescription: "Default compute (node pool) of the project; must be one of the tenant's `computes`.",
				Validators:          []validator.String{dnsLabel()}},
			"role_mapping": schema.SingleNestedAttribute{Optional: true,
				MarkdownDescription: "Groups per project role.",
				Attributes:          map[string]schema.Attribute{"viewer": groups("view"), "editor": groups("edit"), "admin": groups("admin")}},
			"gpu_quota": gpuQuotaAttribute("project"),
			"labels": schema.MapAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Labels added to every object of the project (on top of the tenant's).",
				Validators: []validator.Map{mapvalidator.SizeAtLeast(1), labelMap(),
					mapvalidator.KeysAre(stringvalidator.NoneOf(reservedLabelKeys...))}},
			"effective_gpu_quota": effectiveQuotaAttribute("project"),
			"placement": schema.MapAttribute{Computed: true, ElementType: types.MapType{ElemType: types.StringType},
				MarkdownDescription: "The tenant's computes and their node selectors: when the tenant lists computes, pods in " +
					"the project must select one of them (`spec.nodeSelector` with all of a compute's labels, or required node " +
					"affinity pinning them with `In`); the API server refuses others. Null when the tenant lists none."},
			"objects_in_sync": objectsInSyncAttribute(),
			"timeouts":        timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *projectResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// projectIntent is a project as gpuplane writes it.
type projectIntent struct {
	Tenant, Name, Namespace, Compute string
	Roles                            crds.RoleMapping
	Quota                            quota.Quota
	Labels                           map[string]string
}

// intentOf converts the model; ok is false when something is unknown.
func intentOf(ctx context.Context, m *projectModel) (p projectIntent, ok bool, diags diag.Diagnostics) {
	q, ok, diags := quotaFromModel(m.GPUQuota)
	p = projectIntent{Tenant: m.Tenant.ValueString(), Name: m.Name.ValueString(), Namespace: m.Namespace.ValueString(),
		Compute: m.Compute.ValueString(), Quota: q}
	if rm := m.RoleMapping; rm != nil {
		diags.Append(rm.Viewer.ElementsAs(ctx, &p.Roles.Viewer, true)...)
		diags.Append(rm.Editor.ElementsAs(ctx, &p.Roles.Editor, true)...)
		diags.Append(rm.Admin.ElementsAs(ctx, &p.Roles.Admin, true)...)
	}
	diags.Append(m.Labels.ElementsAs(ctx, &p.Labels, true)...)
	ok = ok && !m.Tenant.IsUnknown() && !m.Name.IsUnknown() && !m.Compute.IsUnknown()
	return p, ok, diags
}

// check applies the quota rules to a project within its tenant: rules 1,
// 2, 3 and 5 on the project, rule 4 over the tenant's projects, and rule 7
// for its compute. planned selects the plan cache over live objects.
func (r *projectResource) check(ctx context.Context, c *kube.Client, t tenantQuota, p projectIntent, planned bool) (quota.Scope, diag.Diagnostics) {
	var diags diag.Diagnostics
	families := t.Catalog.Names()
	teff := t.Effective()
	eff := quota.ProjectEffective(teff, p.Quota, families)
	scope := fmt.Sprintf("project %q of tenant %q", p.Name, t.Name)
	problems := quota.CheckKeys(p.Quota, t.Catalog, scope)
	problems = append(problems, quota.CheckRequestsWithinLimits(eff, scope)...)
	problems = append(problems, quota.CheckProjectInTenant(t.Name, teff, p.Name, eff)...)
	problems = append(problems, quota.CheckSharedResources(eff, t.Catalog, scope)...)

	others, err := r.p.projectQuotas(ctx, c, t.Name, planned)
	if err != nil {
		diags.AddError("Cannot check the tenant's other projects", err.Error())
		return eff, diags
	}
	others[p.Name] = p.Quota
	scopes := map[string]quota.Scope{}
	for name, q := range others {
		scopes[name] = quota.ProjectEffective(teff, q, families)
	}
	problems = append(problems, quota.CheckTenantTotal(t.Name, teff, scopes, t.Overcommit)...)
	addProblems(&diags, problems)

	if p.Compute != "" && t.ComputesKnown && !slices.Contains(t.Computes, p.Compute) {
		diags.AddAttributeError(path.Root("compute"), "Compute not attached to the tenant",
			fmt.Sprintf("compute = %q, but tenant %q's computes are [%s]. Add %q to the tenant's computes, or choose one of them.",
				p.Compute, t.Name, strings.Join(t.Computes, ", "), p.Compute))
	}
	return eff, diags
}

func (r *projectResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		var state projectModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if r.p != nil && !resp.Diagnostics.HasError() {
			r.p.plans.setProject(state.Tenant.ValueString(), state.Name.ValueString(), nil)
		}
		return
	}
	var plan projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	var configNamespace types.String
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("namespace"), &configNamespace)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.Tenant.IsUnknown() && !plan.Name.IsUnknown() {
		plan.ID = types.StringValue(plan.Tenant.ValueString() + "/" + plan.Name.ValueString())
		if configNamespace.IsNull() {
			ns := plan.Tenant.ValueString() + "-" + plan.Name.ValueString()
			if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
				resp.Diagnostics.AddAttributeError(path.Root("name"), "Project namespace name too long",
					fmt.Sprintf("The project's namespace would be %q (%d characters): %s. Shorten the tenant or project "+
						"name, or set namespace explicitly.", ns, len(ns), strings.Join(errs, "; ")))
			}
			plan.Namespace = types.StringValue(ns)
		}
	}
	plan.ObjectsInSync = types.BoolValue(true)
	plan.EffectiveGPUQuota = unknownEffective()
	plan.Placement = types.MapUnknown(types.MapType{ElemType: types.StringType})

	p, known, diags := intentOf(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	if known && r.p != nil && r.p.client.Known() && !resp.Diagnostics.HasError() {
		c := r.p.clientOrError(&resp.Diagnostics)
		if c == nil {
			return
		}
		t, found, err := r.p.tenant(ctx, c, p.Tenant, true)
		switch {
		case err != nil:
			resp.Diagnostics.AddAttributeError(path.Root("tenant"), "Cannot read tenant", err.Error())
		case !found:
			resp.Diagnostics.AddAttributeError(path.Root("tenant"), "Unknown tenant",
				fmt.Sprintf("Tenant %q does not exist and is not planned in this run. Create it (gpuplane_tenant) and reference it, "+
					"e.g. tenant = gpuplane_tenant.%s.name, so Terraform plans and creates it first.", p.Tenant, p.Tenant))
		default:
			// Record before checking: Terraform plans sibling projects
			// concurrently, and of two that overflow the tenant together at
			// least the later check must see the other.
			r.p.plans.setProject(p.Tenant, p.Name, &p.Quota)
			eff, diags := r.check(ctx, c, t, p, true)
			resp.Diagnostics.Append(diags...)
			plan.EffectiveGPUQuota = effectiveValue(eff)
			// The tenant reports a compute that does not exist; here it stays unknown.
			if pl, known, err := r.p.placement(ctx, c, t, true); err == nil && known {
				plan.Placement = placementValue(pl)
			}

			if !req.State.Raw.IsNull() && !plan.Namespace.IsUnknown() {
				r.warnBelowUsage(ctx, c, t, eff, plan.Namespace.ValueString(), p.Name, &resp.Diagnostics)
			}
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// warnBelowUsage is rule 6, from the ResourceQuota's status.used.
func (r *projectResource) warnBelowUsage(ctx context.Context, c *kube.Client, t tenantQuota, eff quota.Scope, namespace, name string, diags *diag.Diagnostics) {
	rq, err := getResourceQuota(ctx, c, namespace)
	if err != nil || rq == nil {
		return
	}
	addProblems(diags, quota.BelowUsage(eff, t.Catalog, quotaUsed(rq), fmt.Sprintf("project %q", name)))
}

func (r *projectResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Create(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	tenant, name, ns := plan.Tenant.ValueString(), plan.Name.ValueString(), plan.Namespace.ValueString()
	// Uncached and by name: an object gpuplane did not write has no labels of ours.
	existing, err := c.Get(ctx, crds.Projects, ns, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create project", err.Error())
		return
	}
	if existing != nil && !kube.IsManaged(existing.GetLabels()) {
		resp.Diagnostics.AddError("Project already exists",
			fmt.Sprintf("Project %s/%s exists but was not created by gpuplane. Import it with: terraform import gpuplane_project.<name> %s/%s",
				tenant, name, tenant, name))
		return
	}
	if err := checkNamespaceAdoptable(ctx, c, ns, fmt.Sprintf("project %s/%s", tenant, name)); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("namespace"), "Cannot create project", err.Error())
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics, &resp.State)
}

func (r *projectResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan projectModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	timeout, diags := plan.Timeouts.Update(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	r.write(ctx, c, &plan, &resp.Diagnostics, &resp.State)
}

// write re-checks the rules against the live tenant and projects, then
// writes the namespace, the Project object and the children.
func (r *projectResource) write(ctx context.Context, c *kube.Client, m *projectModel, diags *diag.Diagnostics, state stateSetter) {
	p, _, d := intentOf(ctx, m)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	t, found, err := r.p.tenant(ctx, c, p.Tenant, false)
	if err != nil || !found {
		diags.AddAttributeError(path.Root("tenant"), "Unknown tenant", fmt.Sprintf("Tenant %q does not exist (%v).", p.Tenant, err))
		return
	}
	eff, d := r.check(ctx, c, t, p, false)
	diags.Append(d...)
	placement, _, err := r.p.placement(ctx, c, t, false)
	if err != nil {
		diags.AddAttributeError(path.Root("tenant"), "Cannot read the tenant's computes", err.Error())
	}

	if diags.HasError() {
		return
	}
	m.ID = types.StringValue(p.Tenant + "/" + p.Name)
	m.Placement = placementValue(placement)

	m.EffectiveGPUQuota = effectiveValue(eff)
	m.ObjectsInSync = types.BoolValue(false)

	labels := projectLabels(p.Tenant, p.Name, t.Labels, p.Labels)
	if err := applyNamespace(ctx, c, p.Namespace, labels); err != nil {
		diags.AddError("Cannot create the project namespace", err.Error())
		return
	}
	spec := &crds.ProjectSpec{Tenant: p.Tenant, Project: p.Name, Compute: p.Compute, RoleMapping: p.Roles,
		GPUQuota: crdQuota(p.Quota), Labels: p.Labels, MaxPerPod: quota.PodMax(eff, t.Catalog), Placement: placement}
	obj, err := crds.New("Project", p.Namespace, p.Name, labels, spec)
	if err == nil {
		_, err = c.Apply(ctx, crds.Projects, obj)
	}
	if err == nil {
		err = writeProjectChildren(ctx, c, t, p, eff, labels)
	}
	if err == nil {
		m.ObjectsInSync = types.BoolValue(true)
	} else {
		diags.AddError("Cannot write the project's objects",
			err.Error()+"\n\nThe project is saved with objects_in_sync = false; the next apply writes what is missing.")
	}
	diags.Append(state.Set(ctx, m)...)
}

// projectBindings are the RoleBindings of a project namespace.
func projectBindings(t tenantQuota, roles crds.RoleMapping) []groupBinding {
	return []groupBinding{
		{"gpuplane-viewers", "view", roles.Viewer},
		{"gpuplane-editors", "edit", roles.Editor},
		{"gpuplane-admins", "admin", roles.Admin},
		{tenantAdminBinding, "admin", t.AdminGroups},
	}
}

func writeProjectChildren(ctx context.Context, c *kube.Client, t tenantQuota, p projectIntent, eff quota.Scope, labels map[string]string) error {
	for _, b := range projectBindings(t, p.Roles) {
		if err := applyGroupBinding(ctx, c, p.Namespace, b, labels); err != nil {
			return err
		}
	}
	if err := applyResourceQuota(ctx, c, p.Namespace, quota.Hard(eff, t.Catalog), labels); err != nil {
		return err
	}
	// The Project object is written; memberships written since list it and
	// bind, and those written before are bound here.
	if err := bindMembershipsInProject(ctx, c, p.Tenant, p.Name, p.Namespace); err != nil {
		return err
	}
	// Report success only once the pod policies are enforced in the namespace.
	return waitPodPolicies(ctx, c, p.Namespace)
}

// findProject finds a Project object (from the cached LIST): in namespace
// when it is known, else by its labels (import). A missing one is (nil, nil).
func findProject(ctx context.Context, c *kube.Client, tenant, name, namespace string) (*unstructured.Unstructured, error) {
	if namespace != "" {
		return c.CachedGet(ctx, crds.Projects, kube.ManagedSelector, namespace, name)
	}
	items, err := c.CachedList(ctx, crds.Projects, kube.ManagedSelector)
	if err != nil {
		return nil, err
	}
	for i := range items {
		if l := items[i].GetLabels(); l[kube.LabelTenant] == tenant && l[kube.LabelProject] == name {
			return &items[i], nil
		}
	}
	return nil, nil
}

func (r *projectResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state projectModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.p.client.Known() {
		return
	}
	c := r.p.clientOrError(&resp.Diagnostics)
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

// readProject fills m from the Project object and its children; found is
// false when there is no such project. namespace may be "" (import, data
// source). The resource and the data source share it.
func (d *providerData) readProject(ctx context.Context, c *kube.Client, tenant, name, namespace string, m *projectModel) (found bool, diags diag.Diagnostics) {
	obj, err := findProject(ctx, c, tenant, name, namespace)
	if err != nil {
		diags.AddError("Cannot read project", err.Error())
		return false, diags
	}
	if obj == nil {
		return false, diags
	}
	var spec crds.ProjectSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		diags.AddError("Cannot decode project", err.Error())
		return true, diags
	}
	ns := obj.GetNamespace()
	m.ID = types.StringValue(spec.Tenant + "/" + spec.Project)
	m.Tenant, m.Name, m.Namespace = types.StringValue(spec.Tenant), types.StringValue(spec.Project), types.StringValue(ns)
	m.Compute = optionalString(spec.Compute)
	m.RoleMapping = roleMappingToModel(spec.RoleMapping, m.RoleMapping)
	m.GPUQuota = quotaToModel(spec.GPUQuota, m.GPUQuota)
	m.Labels = optionalMap(spec.Labels)
	m.Placement = placementValue(spec.Placement)

	inSync, eff, err := d.childrenInSync(ctx, c, spec, ns)
	if err != nil {
		diags.AddError("Cannot read the project's objects", err.Error())
		return true, diags
	}
	m.EffectiveGPUQuota = emptyEffective()
	if eff != nil {
		m.EffectiveGPUQuota = effectiveValue(eff)
	}
	m.ObjectsInSync = types.BoolValue(inSync)
	return true, diags
}

// childrenInSync compares the project's namespace, bindings, quota and
// per-pod cap with what its spec and live tenant call for.
func (d *providerData) childrenInSync(ctx context.Context, c *kube.Client, spec crds.ProjectSpec, ns string) (bool, quota.Scope, error) {
	t, found, err := d.tenant(ctx, c, spec.Tenant, false)
	if err != nil || !found {
		return false, nil, err
	}
	eff := quota.ProjectEffective(t.Effective(), quotaFromCRD(spec.GPUQuota), t.Catalog.Names())
	live, err := kube.CachedGetAs[corev1.Namespace](ctx, c, kube.Namespaces, kube.ManagedSelector, "", ns)
	if err != nil || live == nil {
		return false, eff, err
	}
	for _, b := range projectBindings(t, spec.RoleMapping) {
		if ok, err := groupBindingInSync(ctx, c, ns, b); err != nil || !ok {
			return false, eff, err
		}
	}
	// The per-pod cap lives in the Project object itself (the admission
	// policy's parameters); it changes with the tenant's quota.
	if !maps.Equal(spec.MaxPerPod, quota.PodMax(eff, t.Catalog)) {
		return false, eff, nil
	}
	placement, _, err := d.placement(ctx, c, t, false)
	if err != nil || !maps.EqualFunc(spec.Placement, placement, maps.Equal) {
		return false, eff, nil
	}

	rq, err := getResourceQuota(ctx, c, ns)
	return err == nil && rq != nil && resourceListEqual(rq.Spec.Hard, quota.Hard(eff, t.Catalog)), eff, err
}

func (r *projectResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state projectModel
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
	// The namespace holds the Project object and every child; the namespace
	// controller deletes them and the namespace goes last.
	if err := deleteNamespace(ctx, c, state.Namespace.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete project", err.Error())
	}
}

func (r *projectResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	tenant, name, ok := splitQualified(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import ID",
			fmt.Sprintf("Import ID %q is not <tenant>/<project> (or <tenant>:<project>), e.g. research/vision.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("tenant"), tenant)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), tenant+"/"+name)...)
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

func projectLabels(tenant, project string, tenantLabels, user map[string]string) map[string]string {
	l := managedLabels(tenantLabels)
	for k, v := range user {
		l[k] = v
	}
	l[kube.LabelTenant] = tenant
	l[kube.LabelProject] = project
	return l
}

// roleMappingToModel converts the spec; an empty mapping reads back as prior
// when prior holds no groups.
func roleMappingToModel(rm crds.RoleMapping, prior *roleMappingModel) *roleMappingModel {
	if len(rm.Viewer) == 0 && len(rm.Editor) == 0 && len(rm.Admin) == 0 {
		return prior
	}
	return &roleMappingModel{Viewer: optionalList(rm.Viewer), Editor: optionalList(rm.Editor), Admin: optionalList(rm.Admin)}
}

// placementValue renders a placement; null when the tenant lists no computes.
func placementValue(pl map[string]map[string]string) types.Map {
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

func stringValues(s []string) []attr.Value {
	out := make([]attr.Value, len(s))
	for i, v := range s {
		out[i] = types.StringValue(v)
	}
	return out
}
