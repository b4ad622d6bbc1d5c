package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework-validators/listvalidator"
	"github.com/hashicorp/terraform-plugin-framework-validators/stringvalidator"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/objectplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/planmodifier"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/stringplanmodifier"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

var (
	_ resource.ResourceWithConfigure      = (*membershipResource)(nil)
	_ resource.ResourceWithImportState    = (*membershipResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*membershipResource)(nil)
	_ resource.ResourceWithValidateConfig = (*membershipResource)(nil)
)

// labelMembership marks the RoleBindings of one membership (<tenant>.<name>).
const labelMembership = "tenancy.gpuplane.dev/membership"

// memberRoles maps membership roles to the built-in ClusterRoles.
var memberRoles = map[string]string{"admin": "admin", "developer": "edit", "viewer": "view"}

// NewTenantMembershipResource returns the gpuplane_tenant_membership resource.
func NewTenantMembershipResource() resource.Resource { return &membershipResource{} }

type membershipResource struct{ p *providerData }

type membershipModel struct {
	ID            types.String  `tfsdk:"id"`
	Tenant        types.String  `tfsdk:"tenant"`
	Name          types.String  `tfsdk:"name"`
	Subject       *subjectModel `tfsdk:"subject"`
	Role          types.String  `tfsdk:"role"`
	Projects      types.List    `tfsdk:"projects"`
	ObjectsInSync types.Bool    `tfsdk:"objects_in_sync"`
}

type subjectModel struct {
	Kind      types.String `tfsdk:"kind"`
	Name      types.String `tfsdk:"name"`
	Namespace types.String `tfsdk:"namespace"`
}

func (r *membershipResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant_membership"
}

func (r *membershipResource) Schema(_ context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A user, group or service account with a role in a tenant and its projects, never outside it: " +
			"a cluster-scoped `TenantMembership` and RoleBindings in the tenant namespace and in each covered project " +
			"namespace (`admin` → admin, `developer` → edit, `viewer` → view). Projects created later are covered too " +
			"when `projects` is omitted; creating projects and memberships in any order, or at once, loses no binding.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<tenant>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"tenant": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the tenant. Changing it replaces the membership.",
				Validators: []validator.String{dnsLabel()}, PlanModifiers: []planmodifier.String{stringplanmodifier.RequiresReplace()}},
			"name": schema.StringAttribute{Optional: true, Computed: true,
				MarkdownDescription: "Name of the membership in its tenant; default: derived from the subject (e.g. `user-alice-example-com-1a2b3c4d`).",
				Validators:          []validator.String{dnsLabel()},
				PlanModifiers:       []planmodifier.String{stringplanmodifier.UseStateForUnknown(), stringplanmodifier.RequiresReplace()}},
			"subject": schema.SingleNestedAttribute{Required: true,
				MarkdownDescription: "Who: `kind` (`User`, `Group` or `ServiceAccount`), `name`, and `namespace` for a service account only. Changing it replaces the membership.",
				PlanModifiers:       []planmodifier.Object{objectplanmodifier.RequiresReplace()},
				Attributes: map[string]schema.Attribute{
					"kind": schema.StringAttribute{Required: true, MarkdownDescription: "`User`, `Group` or `ServiceAccount`.",
						Validators: []validator.String{stringvalidator.OneOf("User", "Group", "ServiceAccount")}},
					"name": schema.StringAttribute{Required: true, MarkdownDescription: "User, group or service account name.",
						Validators: []validator.String{stringvalidator.LengthAtLeast(1), stringvalidator.RegexMatches(regexp.MustCompile(`\S`), "must not be blank")}},
					"namespace": schema.StringAttribute{Optional: true, MarkdownDescription: "Namespace of a service account; not allowed for users and groups.",
						Validators: []validator.String{dnsLabel()}},
				}},
			"role": schema.StringAttribute{Required: true, MarkdownDescription: "`admin`, `developer` or `viewer`.",
				Validators: []validator.String{stringvalidator.OneOf("admin", "developer", "viewer")}},
			"projects": schema.ListAttribute{ElementType: types.StringType, Optional: true,
				MarkdownDescription: "Projects of the tenant the role covers; omitted: every project of the tenant, including later ones.",
				Validators: []validator.List{listvalidator.SizeAtLeast(1), listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(dnsLabel())}},
			"objects_in_sync": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "False when a RoleBinding of the membership was deleted or changed outside Terraform; the next apply restores it."},
		},
	}
}

func (r *membershipResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// ValidateConfig: Group and User subjects carry no namespace (RBAC would
// ignore it, so a config that sets one is a mistake); service accounts need one.
func (r *membershipResource) ValidateConfig(ctx context.Context, req resource.ValidateConfigRequest, resp *resource.ValidateConfigResponse) {
	var s *subjectModel
	resp.Diagnostics.Append(req.Config.GetAttribute(ctx, path.Root("subject"), &s)...)
	if s == nil || s.Kind.IsUnknown() || s.Namespace.IsUnknown() {
		return
	}
	at := path.Root("subject").AtName("namespace")
	switch kind := s.Kind.ValueString(); {
	case kind != "ServiceAccount" && !s.Namespace.IsNull():
		resp.Diagnostics.AddAttributeError(at, "Namespace on a "+kind+" subject",
			fmt.Sprintf("subject.namespace = %q, but %s subjects are cluster-wide and carry no namespace. Remove subject.namespace.",
				s.Namespace.ValueString(), kind))
	case kind == "ServiceAccount" && s.Namespace.IsNull():
		resp.Diagnostics.AddAttributeError(at, "Service account without namespace",
			"A ServiceAccount subject needs subject.namespace, the namespace the service account lives in.")
	}
}

// membership is a membership as gpuplane writes it.
type membership struct {
	Tenant, Name string
	Subject      crds.Subject
	Role         string
	Projects     []string // empty: every project
}

func (m membership) key() string         { return m.Tenant + "." + m.Name }
func (m membership) bindingName() string { return "gpuplane-member-" + m.Name }
func (m membership) covers(project string) bool {
	return len(m.Projects) == 0 || slices.Contains(m.Projects, project)
}

// coversBinding reports whether a binding of this membership belongs where
// it is: in the tenant namespace or a covered project's. It judges by the
// binding's project label, not by a list of projects read earlier: a project
// created meanwhile binds the membership itself, and that binding must stay.
func (m membership) coversBinding(rb rbacv1.RoleBinding) bool {
	project := rb.Labels[kube.LabelProject]
	return (project == "" && rb.Namespace == m.Tenant) || (project != "" && m.covers(project))
}

func subjectKey(s crds.Subject) string { return s.Kind + "/" + s.Namespace + "/" + s.Name }

// defaultMembershipName derives a DNS label from the subject, with a hash so
// that names that sanitise alike stay apart.
func defaultMembershipName(s crds.Subject) string {
	base := strings.ToLower(s.Kind + "-" + s.Namespace + "-" + s.Name)
	base = regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(base, "-")
	base = strings.Trim(base, "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	sum := sha256.Sum256([]byte(subjectKey(s)))
	return base + "-" + hex.EncodeToString(sum[:4])
}

func membershipOf(ctx context.Context, m *membershipModel) (mb membership, known bool, diags diag.Diagnostics) {
	mb = membership{Tenant: m.Tenant.ValueString(), Name: m.Name.ValueString(), Role: m.Role.ValueString()}
	if m.Subject != nil {
		mb.Subject = crds.Subject{Kind: m.Subject.Kind.ValueString(), Name: m.Subject.Name.ValueString(), Namespace: m.Subject.Namespace.ValueString()}
	}
	diags.Append(m.Projects.ElementsAs(ctx, &mb.Projects, true)...)
	known = !m.Tenant.IsUnknown() && !m.Name.IsUnknown() && !m.Role.IsUnknown() && !m.Projects.IsUnknown() && m.Subject != nil &&
		!m.Subject.Kind.IsUnknown() && !m.Subject.Name.IsUnknown() && !m.Subject.Namespace.IsUnknown()
	return mb, known, diags
}

func (r *membershipResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.p == nil {
		return
	}
	var plan membershipModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	s := plan.Subject
	if plan.Name.IsUnknown() && s != nil && !s.Kind.IsUnknown() && !s.Name.IsUnknown() && !s.Namespace.IsUnknown() {
		plan.Name = types.StringValue(defaultMembershipName(crds.Subject{Kind: s.Kind.ValueString(), Name: s.Name.ValueString(), Namespace: s.Namespace.ValueString()}))
	}
	if !plan.Tenant.IsUnknown() && !plan.Name.IsUnknown() {
		plan.ID = types.StringValue(plan.Tenant.ValueString() + "/" + plan.Name.ValueString())
	}
	plan.ObjectsInSync = types.BoolValue(true)
	mb, known, diags := membershipOf(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	if known && r.p.client.Known() && !resp.Diagnostics.HasError() {
		if c := r.p.clientOrError(&resp.Diagnostics); c != nil {
			resp.Diagnostics.Append(r.p.checkMembership(ctx, c, mb)...)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// checkMembership: the tenant exists (planned or live), the listed projects
// are the tenant's (planned in this run or live), and no other membership of
// the tenant has the same subject.
func (d *providerData) checkMembership(ctx context.Context, c *kube.Client, mb membership) diag.Diagnostics {
	var diags diag.Diagnostics
	if _, found, err := d.tenant(ctx, c, mb.Tenant, true); err != nil || !found {
		diags.AddAttributeError(path.Root("tenant"), "Unknown tenant",
			fmt.Sprintf("Tenant %q does not exist and is not planned in this run (%v). Reference it, e.g. tenant = gpuplane_tenant.%s.name.",
				mb.Tenant, err, mb.Tenant))
		return diags
	}
	planned, err := d.projectQuotas(ctx, c, mb.Tenant, true)
	if err != nil {
		diags.AddError("Cannot list the tenant's projects", err.Error())
		return diags
	}
	for i, p := range mb.Projects {
		if _, ok := planned[p]; ok {
			continue
		}
		detail := fmt.Sprintf("projects[%d] = %q is not a project of tenant %q (it is not in the cluster, and not planned before "+
			"this membership). A membership never reaches outside its tenant. If the project is created in this configuration, "+
			"reference it: projects = [gpuplane_project.%s.name].", i, p, mb.Tenant, p)
		if other, err := c.List(ctx, crds.Projects, "", kube.LabelProject+"="+p); err == nil && len(other) > 0 {
			detail = fmt.Sprintf("projects[%d] = %q belongs to tenant %q, not to %q: a membership never reaches outside its tenant.",
				i, p, other[0].GetLabels()[kube.LabelTenant], mb.Tenant)
		}
		diags.AddAttributeError(path.Root("projects").AtListIndex(i), "Project outside the tenant", detail)
	}
	others, err := membershipsOf(ctx, c, mb.Tenant)
	if err != nil {
		diags.AddError("Cannot list the tenant's memberships", err.Error())
		return diags
	}
	// Each resource is planned once per run: a subject planned twice in one
	// tenant is two memberships of it (even under one derived name); a live
	// one of another name is a duplicate too.
	key := subjectKey(mb.Subject)
	d.plans.mu.Lock()
	if d.plans.memberships[mb.Tenant] == nil {
		d.plans.memberships[mb.Tenant] = map[string]string{}
	}
	prior, dup := d.plans.memberships[mb.Tenant][key]
	if !dup {
		d.plans.memberships[mb.Tenant][key] = mb.Name
	}
	d.plans.mu.Unlock()
	for _, o := range others {
		if !dup && subjectKey(o.Subject) == key && o.Name != mb.Name {
			prior, dup = o.Name, true
		}
	}
	if dup {
		diags.AddAttributeError(path.Root("subject"), "Duplicate subject",
			fmt.Sprintf("%s %q already has membership %q in tenant %q. Give one membership the role it needs (change its role "+
				"or projects) instead of two.", mb.Subject.Kind, mb.Subject.Name, prior, mb.Tenant))
	}
	return diags
}

func (r *membershipResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	var plan membershipModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	mb, _, diags := membershipOf(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	existing, err := c.Get(ctx, crds.TenantMemberships, "", mb.key())
	if err != nil {
		resp.Diagnostics.AddError("Cannot create membership", err.Error())
		return
	}
	if existing != nil && !kube.IsManaged(existing.GetLabels()) {
		resp.Diagnostics.AddError("Membership already exists",
			fmt.Sprintf("TenantMembership %q exists but was not created by gpuplane. Import it with: terraform import gpuplane_tenant_membership.<name> %s/%s",
				mb.key(), mb.Tenant, mb.Name))
		return
	}
	r.write(ctx, c, mb, &plan, &resp.Diagnostics, &resp.State)
}

func (r *membershipResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	var plan membershipModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	c := r.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	mb, _, diags := membershipOf(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	r.write(ctx, c, mb, &plan, &resp.Diagnostics, &resp.State)
}

// write writes the TenantMembership first, then lists the tenant's projects
// and binds the covered ones; a project written concurrently lists the
// memberships after writing its own object, so one of the two binds.
func (r *membershipResource) write(ctx context.Context, c *kube.Client, mb membership, m *membershipModel, diags *diag.Diagnostics, state stateSetter) {
	if _, found, err := r.p.tenant(ctx, c, mb.Tenant, false); err != nil || !found {
		diags.AddAttributeError(path.Root("tenant"), "Unknown tenant", fmt.Sprintf("Tenant %q does not exist (%v).", mb.Tenant, err))
		return
	}
	spec := &crds.TenantMembershipSpec{Tenant: mb.Tenant, Membership: mb.Name, Subject: mb.Subject, Role: mb.Role, Projects: mb.Projects}
	obj, err := crds.New("TenantMembership", "", mb.key(), membershipLabels(mb, ""), spec)
	if err == nil {
		_, err = c.Apply(ctx, crds.TenantMemberships, obj)
	}
	if err != nil {
		diags.AddError("Cannot write membership", err.Error())
		return
	}
	m.ID = types.StringValue(mb.Tenant + "/" + mb.Name)
	m.ObjectsInSync = types.BoolValue(false)
	if err := syncMemberBindings(ctx, c, mb); err != nil {
		diags.AddError("Cannot write the membership's RoleBindings",
			err.Error()+"\n\nThe membership is saved with objects_in_sync = false; the next apply writes what is missing.")
	} else {
		m.ObjectsInSync = types.BoolValue(true)
	}
	diags.Append(state.Set(ctx, m)...)
}

// memberNamespaces are the namespaces a membership binds in: the tenant's
// and those of the covered projects that exist, with their project names.
func memberNamespaces(ctx context.Context, c *kube.Client, mb membership) (map[string]string, error) {
	projects, err := projectsOf(ctx, c, mb.Tenant)
	if err != nil {
		return nil, err
	}
	out := map[string]string{mb.Tenant: ""}
	for _, p := range projects {
		if mb.covers(p.Name) {
			out[p.Namespace] = p.Name
		}
	}
	return out, nil
}

// syncMemberBindings applies the membership's RoleBindings where it covers,
// and deletes those it no longer covers (found by label).
func syncMemberBindings(ctx context.Context, c *kube.Client, mb membership) error {
	want, err := memberNamespaces(ctx, c, mb)
	if err != nil {
		return err
	}
	for ns, project := range want {
		if err := applyMemberBinding(ctx, c, mb, ns, project); err != nil {
			return err
		}
	}
	live, err := memberBindings(ctx, c, mb)
	if err != nil {
		return err
	}
	return deleteRoleBindings(ctx, c, slices.DeleteFunc(live, mb.coversBinding))
}

// deleteRoleBindings deletes bindings; those already gone are no error.
func deleteRoleBindings(ctx context.Context, c *kube.Client, rbs []rbacv1.RoleBinding) error {
	for _, rb := range rbs {
		err := kube.Retry(ctx, func(ctx context.Context) error {
			return c.Typed.RbacV1().RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{})
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}

func membershipLabels(mb membership, project string) map[string]string {
	l := tenantLabels(mb.Tenant, nil)
	l[labelMembership] = mb.key()
	if project != "" {
		l[kube.LabelProject] = project
	}
	return l
}

func rbacSubject(s crds.Subject) *rbacv1ac.SubjectApplyConfiguration {
	sub := rbacv1ac.Subject().WithKind(s.Kind).WithName(s.Name)
	if s.Kind == rbacv1.ServiceAccountKind {
		return sub.WithNamespace(s.Namespace)
	}
	return sub.WithAPIGroup(rbacv1.GroupName)
}

func applyMemberBinding(ctx context.Context, c *kube.Client, mb membership, namespace, project string) error {
	rb := rbacv1ac.RoleBinding(mb.bindingName(), namespace).WithLabels(membershipLabels(mb, project)).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(memberRoles[mb.Role])).
		WithSubjects(rbacSubject(mb.Subject))
	return kube.ApplyTyped(ctx, "RoleBinding", namespace+"/"+mb.bindingName(), func(ctx context.Context) error {
		_, err := c.Typed.RbacV1().RoleBindings(namespace).Apply(ctx, rb, c.ApplyOptions())
		return err
	})
}

// memberBindings lists a membership's RoleBindings in every namespace (from
// the cached LIST of gpuplane's bindings).
func memberBindings(ctx context.Context, c *kube.Client, mb membership) ([]rbacv1.RoleBinding, error) {
	all, err := kube.CachedListAs[rbacv1.RoleBinding](ctx, c, kube.RoleBindings, kube.ManagedSelector)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(rb rbacv1.RoleBinding) bool { return rb.Labels[labelMembership] != mb.key() }), nil
}

// membershipsOf lists a tenant's memberships (one label-selected LIST).
func membershipsOf(ctx context.Context, c *kube.Client, tenant string) ([]membership, error) {
	items, err := c.CachedList(ctx, crds.TenantMemberships, kube.ManagedSelector)
	if err != nil {
		return nil, err
	}
	out := make([]membership, 0, len(items))
	for i := range items {
		if items[i].GetLabels()[kube.LabelTenant] != tenant {
			continue
		}
		var spec crds.TenantMembershipSpec
		if err := crds.SpecOf(&items[i], &spec); err != nil {
			return nil, err
		}
		out = append(out, membership{Tenant: spec.Tenant, Name: spec.Membership, Subject: spec.Subject, Role: spec.Role, Projects: spec.Projects})
	}
	return out, nil
}

// bindMembershipsInProject gives a project the RoleBindings of the tenant's
// memberships that cover it; the project calls it after writing its own object.
func bindMembershipsInProject(ctx context.Context, c *kube.Client, tenant, project, namespace string) error {
	mbs, err := membershipsOf(ctx, c, tenant)
	if err != nil {
		return err
	}
	for _, mb := range mbs {
		if mb.covers(project) {
			if err := applyMemberBinding(ctx, c, mb, namespace, project); err != nil {
				return err
			}
		}
	}
	return nil
}

func (r *membershipResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	var state membershipModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() || !r.p.client.Known() {
		return
	}
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	key := state.Tenant.ValueString() + "." + state.Name.ValueString()
	obj, err := c.Get(ctx, crds.TenantMemberships, "", key)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read membership", err.Error())
		return
	}
	if obj == nil {
		tflog.Info(ctx, "membership is gone; removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	var spec crds.TenantMembershipSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		resp.Diagnostics.AddError("Cannot decode membership", err.Error())
		return
	}
	mb := membership{Tenant: spec.Tenant, Name: spec.Membership, Subject: spec.Subject, Role: spec.Role, Projects: spec.Projects}
	state.ID = types.StringValue(mb.Tenant + "/" + mb.Name)
	state.Tenant, state.Name, state.Role = types.StringValue(mb.Tenant), types.StringValue(mb.Name), types.StringValue(mb.Role)
	state.Subject = &subjectModel{Kind: types.StringValue(mb.Subject.Kind), Name: types.StringValue(mb.Subject.Name),
		Namespace: optionalString(mb.Subject.Namespace)}
	state.Projects = optionalList(mb.Projects)
	inSync, err := memberBindingsInSync(ctx, c, mb)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the membership's RoleBindings", err.Error())
		return
	}
	state.ObjectsInSync = types.BoolValue(inSync)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

// memberBindingsInSync compares the live bindings with where the membership
// should bind, and what each grants.
func memberBindingsInSync(ctx context.Context, c *kube.Client, mb membership) (bool, error) {
	want, err := memberNamespaces(ctx, c, mb)
	if err != nil {
		return false, err
	}
	live, err := memberBindings(ctx, c, mb)
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for _, rb := range live {
		s := rb.Subjects
		ok := rb.RoleRef.Kind == "ClusterRole" && rb.RoleRef.Name == memberRoles[mb.Role] && len(s) == 1 &&
			s[0].Kind == mb.Subject.Kind && s[0].Name == mb.Subject.Name && s[0].Namespace == mb.Subject.Namespace
		if !mb.coversBinding(rb) || !ok {
			return false, nil
		}
		seen[rb.Namespace] = true
	}
	for ns := range want {
		if !seen[ns] {
			return false, nil
		}
	}
	return true, nil
}

func (r *membershipResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state membershipModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.p.clientOrError(&resp.Diagnostics)
	if resp.Diagnostics.HasError() {
		return
	}
	mb := membership{Tenant: state.Tenant.ValueString(), Name: state.Name.ValueString()}
	if err := deleteMembership(ctx, c, mb); err != nil {
		resp.Diagnostics.AddError("Cannot delete membership", err.Error())
	}
}

// deleteMembership removes the object first (so no project binds it again),
// then every RoleBinding it has.
func deleteMembership(ctx context.Context, c *kube.Client, mb membership) error {
	if err := c.Delete(ctx, crds.TenantMemberships, "", mb.key()); err != nil {
		return err
	}
	live, err := memberBindings(ctx, c, mb)
	if err != nil {
		return err
	}
	return deleteRoleBindings(ctx, c, live)
}

func (r *membershipResource) ImportState(ctx context.Context, req resource.ImportStateRequest, resp *resource.ImportStateResponse) {
	tenant, name, ok := splitQualified(req.ID)
	if !ok {
		resp.Diagnostics.AddError("Invalid import ID",
			fmt.Sprintf("Import ID %q is not <tenant>/<membership> (or <tenant>:<membership>), e.g. research/alice.", req.ID))
		return
	}
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("tenant"), tenant)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("name"), name)...)
	resp.Diagnostics.Append(resp.State.SetAttribute(ctx, path.Root("id"), tenant+"/"+name)...)
}
