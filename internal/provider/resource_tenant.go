package provider

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var (
	_ resource.ResourceWithConfigure   = (*tenantResource)(nil)
	_ resource.ResourceWithImportState = (*tenantResource)(nil)
	_ resource.ResourceWithModifyPlan  = (*tenantResource)(nil)
)

// NewTenantResource returns the gpuplane_tenant resource.
func NewTenantResource() resource.Resource { return &tenantResource{} }

type tenantResource struct{ p *providerData }

type tenantModel struct {
	ID                types.String   `tfsdk:"id"`
	Dataplane         types.String   `tfsdk:"dataplane"`
	Name              types.String   `tfsdk:"name"`
	DisplayName       types.String   `tfsdk:"display_name"`
	AdminGroups       types.List     `tfsdk:"admin_groups"`
	Computes          types.List     `tfsdk:"computes"`
	GPUQuota          *gpuQuotaModel `tfsdk:"gpu_quota"`
	Overcommit        types.Bool     `tfsdk:"overcommit"`
	DeletionPolicy    types.String   `tfsdk:"deletion_policy"`
	Labels            types.Map      `tfsdk:"labels"`
	Namespace         types.String   `tfsdk:"namespace"`
	UID               types.String   `tfsdk:"uid"`
	EffectiveGPUQuota types.Map      `tfsdk:"effective_gpu_quota"`
	Phase             types.String   `tfsdk:"phase"`
	ComputeCapacity   types.Map      `tfsdk:"compute_gpu_capacity"`
	ObjectsInSync     types.Bool     `tfsdk:"objects_in_sync"`
	Timeouts          timeouts.Value `tfsdk:"timeouts"`
}

// tenantAdminBinding binds a tenant's admin groups to the built-in admin
// role, in the tenant namespace and in each of its project namespaces.
const tenantAdminBinding = "gpuplane-tenant-admins"

// reservedLabelKeys are the labels gpuplane sets itself.
var reservedLabelKeys = []string{kube.LabelManagedBy, kube.LabelTenant, kube.LabelProject}

func (r *tenantResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant"
}

func (r *tenantResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "An organisation on the dataplane: a cluster-scoped `Tenant`, a namespace named after it, a " +
			"RoleBinding of `admin_groups` to `admin`, and a ResourceQuota that allows no GPU in the tenant namespace " +
			"(GPU work runs in projects, under their quotas). Its `gpu_quota` bounds every project's.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "The tenant name.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"dataplane": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the dataplane. Changing it replaces the tenant.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Required: true,
				MarkdownDescription: "Tenant name (a DNS-1123 label); also its namespace. Changing it replaces the tenant.",
				Validators:          []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"display_name": schema.StringAttribute{Optional: true, MarkdownDescription: "Human-readable name.",
				Validators: []validator.String{stringvalidator.LengthBetween(1, 256)}},
			"admin_groups": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Groups bound to `admin` in the tenant namespace and in every project namespace of the tenant.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(stringvalidator.LengthAtLeast(1))}},
			"computes": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Names of the computes (node pools) the tenant's projects may use.",
				Validators:          []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(), listvalidator.ValueStringsAre(dnsLabel())}},
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
				Validators: []validator.Map{mapvalidator.SizeAtLeast(1), labelMap(),
					mapvalidator.KeysAre(stringvalidator.NoneOf(reservedLabelKeys...))}},
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
			"objects_in_sync": objectsInSyncAttribute(),
			"timeouts":        timeouts.Attributes(ctx, timeouts.Opts{Create: true, Update: true, Delete: true}),
		},
	}
}

func (r *tenantResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// tenantQuotaOf converts the model to what projects need; ok is false when
// something is unknown.
func tenantQuotaOf(ctx context.Context, m *tenantModel, cat quota.Catalog) (t tenantQuota, ok bool, diags diag.Diagnostics) {
	q, ok, diags := quotaFromModel(m.GPUQuota)
	t = tenantQuota{
		Name: m.Name.ValueString(), Dataplane: m.Dataplane.ValueString(), Catalog: cat, Quota: q,
		Overcommit: m.Overcommit.ValueBool(), ComputesKnown: !m.Computes.IsUnknown(),
	}
	diags.Append(m.Computes.ElementsAs(ctx, &t.Computes, true)...)
	diags.Append(m.AdminGroups.ElementsAs(ctx, &t.AdminGroups, true)...)
	diags.Append(m.Labels.ElementsAs(ctx, &t.Labels, true)...)
	ok = ok && !m.Name.IsUnknown() && !m.Dataplane.IsUnknown() && !m.Overcommit.IsUnknown() &&
		!m.AdminGroups.IsUnknown() && !m.Labels.IsUnknown()
	return t, ok, diags
}

// check applies the quota rules to a tenant: its own (rules 1, 2, 5) and,
// when it exists, against its live projects (rules 3 and 4). planned
// selects the in-process plan cache over live objects for the dataplane.
func (r *tenantResource) check(ctx context.Context, c *kube.Client, m *tenantModel, planned bool) (tenantQuota, quota.Scope, diag.Diagnostics) {
	var diags diag.Diagnostics
	cat, err := r.p.catalog(ctx, c, m.Dataplane.ValueString(), planned)
	if errors.Is(err, errCatalogUnknown) {
		return tenantQuota{}, nil, diags
	}
	if err != nil {
		diags.AddAttributeError(path.Root("dataplane"), "Unknown dataplane", err.Error())
		return tenantQuota{}, nil, diags
	}
	t, _, d := tenantQuotaOf(ctx, m, cat)
	diags.Append(d...)
	if diags.HasError() {
		return t, nil, diags
	}
	scope := fmt.Sprintf("tenant %q", t.Name)
	eff := t.Effective()
	problems := quota.CheckKeys(t.Quota, cat, scope)
	problems = append(problems, quota.CheckRequestsWithinLimits(eff, scope)...)
	problems = append(problems, quota.CheckSharedResources(eff, cat, scope)...)
	addProblems(&diags, problems)

	// The live projects: those planned in this run are planned after the
	// tenant, and check themselves against it.
	projects, err := projectsOf(ctx, c, t.Name)
	if err != nil {
		diags.AddError("Cannot check the tenant's projects", err.Error())
		return t, eff, diags
	}
	families := cat.Names()
	scopes := map[string]quota.Scope{}
	var cross []quota.Problem
	for _, p := range projects {
		scopes[p.Name] = quota.ProjectEffective(eff, quotaFromCRD(p.Spec.GPUQuota), families)
		cross = append(cross, quota.CheckProjectInTenant(t.Name, eff, p.Name, scopes[p.Name])...)
	}
	cross = append(cross, quota.CheckTenantTotal(t.Name, eff, scopes, t.Overcommit)...)
	for i := range cross {
		// Reported on the tenant: point at its quota, and say how to lower both.
		cross[i].Attribute = nil
		if cross[i].Severity == quota.Error {
			cross[i].Detail += " To lower a tenant and its projects together, lower the projects first (one apply), then the tenant."
		}
	}
	addProblems(&diags, cross)
	diags.Append(r.checkComputes(ctx, c, t, projects, planned)...)
	return t, eff, diags
}

// checkComputes: the tenant's computes exist, and no project of the tenant
// uses a compute the tenant no longer lists (rule 7).
func (r *tenantResource) checkComputes(ctx context.Context, c *kube.Client, t tenantQuota, projects []liveProject, planned bool) diag.Diagnostics {
	var diags diag.Diagnostics
	if !t.ComputesKnown {
		return diags
	}
	if _, _, err := r.p.placement(ctx, c, t, planned); err != nil {
		diags.AddAttributeError(path.Root("computes"), "Unknown compute", err.Error())
	}
	for _, p := range projects {
		if p.Spec.Compute != "" && !slices.Contains(t.Computes, p.Spec.Compute) {
			diags.AddAttributeError(path.Root("computes"), "Compute still in use",
				fmt.Sprintf("Project %q of tenant %q uses compute %q, which computes no longer lists. Change the project's "+
					"compute first (one apply), or keep %q in the tenant's computes.", p.Name, t.Name, p.Spec.Compute, p.Spec.Compute))
		}
	}
	return diags
}

// computeCapacity sums the GPUs per family on the nodes of the tenant's
// computes (each node once), and warns where the tenant's limit exceeds it.
// It is null when the tenant lists no computes.
func (d *providerData) computeCapacity(ctx context.Context, c *kube.Client, t tenantQuota, eff quota.Scope, planned bool, diags *diag.Diagnostics) types.Map {
	unknown := types.MapNull(types.Int64Type) // state holds no unknowns
	if planned {
		unknown = types.MapUnknown(types.Int64Type)
	}
	placement, known, err := d.placement(ctx, c, t, planned)
	if err != nil || !known {
		return unknown
	}
	if len(placement) == 0 {
		return types.MapNull(types.Int64Type)
	}
	nodes, err := listNodes(ctx, c)
	if err != nil {
		diags.AddError("Cannot list nodes", err.Error())
		return unknown
	}
	var pool []corev1.Node
	for _, n := range nodes {
		for _, sel := range placement {
			if labels.SelectorFromSet(sel).Matches(labels.Set(n.Labels)) {
				pool = append(pool, n)
				break
			}
		}
	}
	capacity := map[string]int64{}
	for f, fam := range t.Catalog {
		if fam.ResourceName == "" {
			continue
		}
		capacity[f] = gpuCapacity(pool, fam.ResourceName, fam.NodeSelector)
		if l := eff[f].Limit; l.Finite() && l.N > capacity[f] {
			diags.AddAttributeWarning(path.Root("gpu_quota"), "Tenant quota exceeds its computes",
				fmt.Sprintf("tenant %q, family %s: the limit of %d exceeds the %d GPUs on the nodes of its computes (%s); "+
					"workloads beyond that stay Pending.", t.Name, f, l.N, capacity[f], strings.Join(t.Computes, ", ")))
		}
	}
	return types.MapValueMust(types.Int64Type, int64Values(capacity))
}

func (r *tenantResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		return // destroy: checked (restrict) at apply
	}
	var plan tenantModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	if !plan.Name.IsUnknown() {
		plan.ID, plan.Namespace = plan.Name, plan.Name
	}
	plan.ObjectsInSync = types.BoolValue(true)
	plan.EffectiveGPUQuota = unknownEffective()
	plan.ComputeCapacity = types.MapUnknown(types.Int64Type)

	_, known, diags := tenantQuotaOf(ctx, &plan, nil)
	resp.Diagnostics.Append(diags...)
	if known && r.p != nil && r.p.client.Known() {
		c := r.p.clientOrError(&resp.Diagnostics)
		if c == nil {
			return
		}
		t, eff, diags := r.check(ctx, c, &plan, true)
		resp.Diagnostics.Append(diags...)
		if eff != nil {
			plan.EffectiveGPUQuota = effectiveValue(eff)
			r.p.plans.setTenant(t)
			plan.ComputeCapacity = r.p.computeCapacity(ctx, c, t, eff, true, &resp.Diagnostics)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func (r *tenantResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan tenantModel
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
	name := plan.Name.ValueString()
	existing, err := c.Get(ctx, crds.Tenants, "", name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot create tenant", err.Error())
		return
	}
	if existing != nil && !kube.IsManaged(existing.GetLabels()) {
		resp.Diagnostics.AddError("Tenant already exists",
			fmt.Sprintf("Tenant %q exists but was not created by gpuplane. Import it with: terraform import gpuplane_tenant.<name> %s", name, name))
		return
	}
	if err := checkNamespaceAdoptable(ctx, c, name, fmt.Sprintf("tenant %q", name)); err != nil {
		resp.Diagnostics.AddAttributeError(path.Root("name"), "Cannot create tenant", err.Error())
		return
	}
	r.write(ctx, c, &plan, nil, &resp.Diagnostics, &resp.State)
}

func (r *tenantResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan tenantModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	var prior []string
	resp.Diagnostics.Append(req.State.GetAttribute(ctx, path.Root("computes"), &prior)...)
	timeout, diags := plan.Timeouts.Update(ctx, 5*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	r.write(ctx, c, &plan, prior, &resp.Diagnostics, &resp.State)
}

// stateSetter is the part of tfsdk.State that write needs.
type stateSetter interface {
	Set(context.Context, any) diag.Diagnostics
}

// write re-checks the rules against the live cluster, then writes the
// Tenant object (the record of intent) and its children. On a failure after
// the Tenant is written, the state records it with objects_in_sync = false.
func (r *tenantResource) write(ctx context.Context, c *kube.Client, m *tenantModel, priorComputes []string, diags *diag.Diagnostics, state stateSetter) {
	t, eff, d := r.check(ctx, c, m, false)
	diags.Append(d...)
	if diags.HasError() {
		return
	}
	spec := &crds.TenantSpec{
		Dataplane: t.Dataplane, Namespace: t.Name, DisplayName: m.DisplayName.ValueString(),
		AdminGroups: t.AdminGroups, Computes: t.Computes, GPUQuota: crdQuota(t.Quota), Overcommit: t.Overcommit,
		DeletionPolicy: m.DeletionPolicy.ValueString(), Labels: t.Labels,
	}
	labels := tenantLabels(t.Name, t.Labels)
	obj, err := crds.New("Tenant", "", t.Name, labels, spec)
	if err == nil {
		obj, err = c.Apply(ctx, crds.Tenants, obj)
	}
	if err != nil {
		diags.AddError("Cannot write tenant", err.Error())
		return
	}
	m.ID, m.Namespace, m.UID = types.StringValue(t.Name), types.StringValue(t.Name), types.StringValue(string(obj.GetUID()))
	m.EffectiveGPUQuota = effectiveValue(eff)
	m.ComputeCapacity = r.p.computeCapacity(ctx, c, t, eff, false, &diag.Diagnostics{})
	m.Phase = types.StringValue("Active")
	m.ObjectsInSync = types.BoolValue(false)

	err = r.writeChildren(ctx, c, t, labels)
	if err == nil {
		err = attachComputes(ctx, c, t.Name, t.Computes, priorComputes)
	}
	if err == nil {
		m.ObjectsInSync = types.BoolValue(true)
	} else {
		diags.AddError("Cannot write the tenant's objects",
			err.Error()+"\n\nThe tenant is saved with objects_in_sync = false; the next apply writes what is missing.")
	}
	diags.Append(state.Set(ctx, m)...)
}

// attachComputes marks each compute the tenant attaches with the tenant's
// own label, written under a field manager of the tenant's own, and unmarks
// those it no longer attaches: server-side apply drops what that manager no
// longer sends. The exclusive-computes policy reads these labels.
func attachComputes(ctx context.Context, c *kube.Client, tenant string, attach, prior []string) error {
	opts := metav1.ApplyOptions{FieldManager: c.FieldManager + "/tenant-" + tenant}
	mark := func(name string, labels map[string]string) error {
		obj := &unstructured.Unstructured{Object: map[string]any{}}
		obj.SetAPIVersion(crds.Group + "/" + crds.Version)
		obj.SetKind("Compute")
		obj.SetName(name)
		obj.SetLabels(labels)
		return kube.ApplyTyped(ctx, "Compute", name, func(ctx context.Context) error {
			_, err := c.Dynamic.Resource(crds.Computes).Apply(ctx, name, obj, opts)
			return err
		})
	}
	for _, name := range attach {
		if err := mark(name, map[string]string{labelAttached + tenant: "true"}); err != nil {
			return err
		}
	}
	for _, name := range prior {
		if slices.Contains(attach, name) {
			continue
		}
		// Applying to a deleted compute would create a bare one.
		if obj, err := c.Get(ctx, crds.Computes, "", name); err != nil || obj == nil {
			if err != nil {
				return err
			}
			continue
		}
		if err := mark(name, nil); err != nil {
			return err
		}
	}
	return nil
}

func (r *tenantResource) writeChildren(ctx context.Context, c *kube.Client, t tenantQuota, labels map[string]string) error {
	if err := applyNamespace(ctx, c, t.Name, labels); err != nil {
		return err
	}
	if err := applyGroupBinding(ctx, c, t.Name, groupBinding{tenantAdminBinding, "admin", t.AdminGroups}, labels); err != nil {
		return err
	}
	if err := applyResourceQuota(ctx, c, t.Name, quota.Lockdown(t.Catalog), labels); err != nil {
		return err
	}
	// Tenant admins administer every project of the tenant.
	projects, err := projectsOf(ctx, c, t.Name)
	if err != nil {
		return err
	}
	for _, p := range projects {
		pl := projectLabels(t.Name, p.Name, t.Labels, p.Spec.Labels)
		if err := applyGroupBinding(ctx, c, p.Namespace, groupBinding{tenantAdminBinding, "admin", t.AdminGroups}, pl); err != nil {
			return err
		}
	}
	return nil
}

func (r *tenantResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state tenantModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.p.client.Known() {
		return
	}
	c := r.p.clientOrError(&resp.Diagnostics)
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

// readTenant fills m from the Tenant object and its children; found is false
// when there is no such tenant. The resource and the data source share it.
func (d *providerData) readTenant(ctx context.Context, c *kube.Client, name string, m *tenantModel) (found bool, diags diag.Diagnostics) {
	obj, err := c.Get(ctx, crds.Tenants, "", name)
	if err != nil {
		diags.AddError("Cannot read tenant", err.Error())
		return false, diags
	}
	if obj == nil {
		return false, diags
	}
	var spec crds.TenantSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		diags.AddError("Cannot decode tenant", err.Error())
		return true, diags
	}
	m.ID, m.Name, m.Namespace = types.StringValue(name), types.StringValue(name), types.StringValue(spec.Namespace)
	m.Dataplane = types.StringValue(spec.Dataplane)
	m.DisplayName = optionalString(spec.DisplayName)
	m.AdminGroups = optionalList(spec.AdminGroups)
	m.Computes = optionalList(spec.Computes)
	m.GPUQuota = quotaToModel(spec.GPUQuota, m.GPUQuota)
	m.Overcommit = types.BoolValue(spec.Overcommit)
	m.DeletionPolicy = types.StringValue(orDefault(spec.DeletionPolicy, "restrict"))
	m.Labels = optionalMap(spec.Labels)
	m.UID = types.StringValue(string(obj.GetUID()))

	ns, err := kube.CachedGetAs[corev1.Namespace](ctx, c, kube.Namespaces, kube.ManagedSelector, "", spec.Namespace)
	if err != nil {
		diags.AddError("Cannot read tenant namespace", err.Error())
		return true, diags
	}
	m.Phase = types.StringValue("Missing")
	if ns != nil {
		m.Phase = types.StringValue(string(ns.Status.Phase))
	}
	inSync := ns != nil
	ok, err := groupBindingInSync(ctx, c, spec.Namespace, groupBinding{tenantAdminBinding, "admin", spec.AdminGroups})
	if err != nil {
		diags.AddError("Cannot read tenant RoleBinding", err.Error())
		return true, diags
	}
	inSync = inSync && ok

	m.EffectiveGPUQuota = emptyEffective()
	m.ComputeCapacity = types.MapNull(types.Int64Type)
	if cat, err := d.catalog(ctx, c, spec.Dataplane, false); err == nil {
		eff := quota.TenantEffective(quotaFromCRD(spec.GPUQuota), cat.Names())
		m.EffectiveGPUQuota = effectiveValue(eff)
		t := tenantQuota{Name: name, Catalog: cat, Computes: spec.Computes, ComputesKnown: true}
		m.ComputeCapacity = d.computeCapacity(ctx, c, t, eff, false, &diag.Diagnostics{})
		rq, err := getResourceQuota(ctx, c, spec.Namespace)
		if err != nil {
			diags.AddError("Cannot read tenant ResourceQuota", err.Error())
			return true, diags
		}
		inSync = inSync && rq != nil && resourceListEqual(rq.Spec.Hard, quota.Lockdown(cat))
	}
	for _, compute := range spec.Computes {
		obj, err := c.CachedGet(ctx, crds.Computes, kube.ManagedSelector, "", compute)
		if err != nil {
			diags.AddError("Cannot read the tenant's computes", err.Error())
			return true, diags
		}
		inSync = inSync && obj != nil && obj.GetLabels()[labelAttached+name] == "true"
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
	timeout, diags := state.Timeouts.Delete(ctx, 10*time.Minute)
	resp.Diagnostics.Append(diags...)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	name := state.Name.ValueString()
	projects, err := projectsOf(ctx, c, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot delete tenant", err.Error())
		return
	}
	if len(projects) > 0 && state.DeletionPolicy.ValueString() != "cascade" {
		names := make([]string, 0, len(projects))
		for _, p := range projects {
			names = append(names, p.Name)
		}
		resp.Diagnostics.AddError("Tenant still has projects",
			fmt.Sprintf("Tenant %q still has projects %s and its deletion_policy is \"restrict\". Destroy those "+
				"gpuplane_project resources first, or set deletion_policy = \"cascade\" (and apply) to delete them with the tenant.",
				name, strings.Join(names, ", ")))
		return
	}
	// Children first: project namespaces (with everything in them), then
	// the tenant namespace, then the record of intent.
	for _, p := range projects {
		if err := deleteNamespace(ctx, c, p.Namespace); err != nil {
			resp.Diagnostics.AddError("Cannot delete project "+p.Name, err.Error())
			return
		}
	}
	if err := deleteNamespace(ctx, c, state.Namespace.ValueString()); err != nil {
		resp.Diagnostics.AddError("Cannot delete tenant namespace", err.Error())
		return
	}
	// Memberships mean nothing without their tenant.
	mbs, err := membershipsOf(ctx, c, name)
	if err != nil {
		resp.Diagnostics.AddError("Cannot list the tenant's memberships", err.Error())
		return
	}
	for _, mb := range mbs {
		if err := deleteMembership(ctx, c, mb); err != nil {
			resp.Diagnostics.AddError("Cannot delete membership "+mb.Name, err.Error())
			return
		}
	}
	var computes []string
	resp.Diagnostics.Append(state.Computes.ElementsAs(ctx, &computes, true)...)
	if err := attachComputes(ctx, c, name, nil, computes); err != nil {
		resp.Diagnostics.AddError("Cannot detach the tenant's computes", err.Error())
		return
	}
	if err := c.Delete(ctx, crds.Tenants, "", name); err != nil {
		resp.Diagnostics.AddError("Cannot delete tenant", err.Error())
	}
}

func (r *tenantResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), req.ID)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), req.ID)...)
}

func tenantLabels(tenant string, user map[string]string) map[string]string {
	l := managedLabels(user)
	l[kube.LabelTenant] = tenant
	return l
}

func objectsInSyncAttribute() schema.BoolAttribute {
	return schema.BoolAttribute{Computed: true,
		MarkdownDescription: "False when an object gpuplane manages for this resource (namespace, RoleBinding, " +
			"ResourceQuota) was deleted or changed outside Terraform; the next apply restores it."}
}

func optionalList(s []string) types.List {
	if len(s) == 0 {
		return types.ListNull(types.StringType)
	}
	return types.ListValueMust(types.StringType, stringValues(s))
}

func optionalMap(m map[string]string) types.Map {
	if len(m) == 0 {
		return types.MapNull(types.StringType)
	}
	v, _ := types.MapValueFrom(context.Background(), types.StringType, m)
	return v
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
