package provider

import (
	"context"
	"fmt"
	"regexp"
	"strconv"

	"github.com/hashicorp/terraform-plugin-framework-timeouts/resource/timeouts"
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

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

var (
	_ resource.ResourceWithConfigure      = (*membershipResource)(nil)
	_ resource.ResourceWithImportState    = (*membershipResource)(nil)
	_ resource.ResourceWithIdentity       = (*membershipResource)(nil)
	_ resource.ResourceWithModifyPlan     = (*membershipResource)(nil)
	_ resource.ResourceWithValidateConfig = (*membershipResource)(nil)
)

// NewTenantMembershipResource returns the gpuplane_tenant_membership resource.
func NewTenantMembershipResource() resource.Resource { return &membershipResource{} }

type membershipResource struct{ p *providerData }

type membershipModel struct {
	ID            types.String   `tfsdk:"id"`
	Tenant        types.String   `tfsdk:"tenant"`
	Name          types.String   `tfsdk:"name"`
	Subject       *subjectModel  `tfsdk:"subject"`
	Role          types.String   `tfsdk:"role"`
	Projects      types.List     `tfsdk:"projects"`
	ObjectsInSync types.Bool     `tfsdk:"objects_in_sync"`
	Timeouts      timeouts.Value `tfsdk:"timeouts"`
}

type subjectModel struct {
	Kind      types.String `tfsdk:"kind"`
	Name      types.String `tfsdk:"name"`
	Namespace types.String `tfsdk:"namespace"`
}

func (r *membershipResource) Metadata(_ context.Context, req resource.MetadataRequest, resp *resource.MetadataResponse) {
	resp.TypeName = req.ProviderTypeName + "_tenant_membership"
}

func (r *membershipResource) Schema(ctx context.Context, _ resource.SchemaRequest, resp *resource.SchemaResponse) {
	resp.Schema = schema.Schema{
		MarkdownDescription: "A user, group or service account with a role in a tenant and its projects, never outside it: " +
			"a cluster-scoped `TenantMembership` and RoleBindings in the tenant namespace and in each covered project " +
			"namespace (`admin` → admin, `developer` → edit, `viewer` → view). Projects created later are covered too " +
			"when `projects` is omitted; creating projects and memberships in any order, or at once, loses no binding.",
		Attributes: map[string]schema.Attribute{
			"id": schema.StringAttribute{Computed: true, MarkdownDescription: "`<tenant>/<name>`.",
				PlanModifiers: []planmodifier.String{stringplanmodifier.UseStateForUnknown()}},
			"tenant": schema.StringAttribute{Required: true, MarkdownDescription: "Name of the tenant. Changing it replaces the membership: its RoleBindings are deleted and written " +
				"anew (no workload is touched).",
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
				MarkdownDescription: "Projects of the tenant the role covers; omitted (or `[]`): every project of the tenant, including later ones.",
				Validators: []validator.List{listvalidator.UniqueValues(),
					listvalidator.ValueStringsAre(dnsLabel())}},
			"objects_in_sync": schema.BoolAttribute{Computed: true,
				MarkdownDescription: "False when a RoleBinding of the membership was deleted or changed outside Terraform; the next apply restores it."},
			"timeouts": timeoutsAttribute(ctx),
		},
	}
}

func (r *membershipResource) Configure(_ context.Context, req resource.ConfigureRequest, resp *resource.ConfigureResponse) {
	r.p = configureData(req.ProviderData, &resp.Diagnostics)
}

// expandMembership converts the model; known is false when something is unknown.
func expandMembership(ctx context.Context, m *membershipModel) (mb platform.Membership, known bool, diags diag.Diagnostics) {
	mb = platform.Membership{Tenant: m.Tenant.ValueString(), Name: m.Name.ValueString(), Role: m.Role.ValueString()}
	if m.Subject != nil {
		mb.Subject = crds.Subject{Kind: m.Subject.Kind.ValueString(), Name: m.Subject.Name.ValueString(), Namespace: m.Subject.Namespace.ValueString()}
	}
	diags.Append(m.Projects.ElementsAs(ctx, &mb.Projects, true)...)
	known = !m.Tenant.IsUnknown() && !m.Name.IsUnknown() && !m.Role.IsUnknown() && !m.Projects.IsUnknown() && m.Subject != nil &&
		!m.Subject.Kind.IsUnknown() && !m.Subject.Name.IsUnknown() && !m.Subject.Namespace.IsUnknown()
	return mb, known, diags
}

// flattenMembership fills the user-facing attributes of m from a live membership.
func flattenMembership(mb platform.Membership, m *membershipModel) {
	m.ID = types.StringValue(mb.Tenant + "/" + mb.Name)
	m.Tenant, m.Name, m.Role = types.StringValue(mb.Tenant), types.StringValue(mb.Name), types.StringValue(mb.Role)
	m.Subject = &subjectModel{Kind: types.StringValue(mb.Subject.Kind), Name: types.StringValue(mb.Subject.Name),
		Namespace: optionalString(mb.Subject.Namespace)}
	m.Projects = listOrPrior(mb.Projects, m.Projects)
}

func (r *membershipResource) Create(ctx context.Context, req resource.CreateRequest, resp *resource.CreateResponse) {
	defer membershipIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan membershipModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Create, defaultWriteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	mb, _, diags := expandMembership(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	id := mb.Tenant + "/" + mb.Name
	if !adoptable(ctx, c, existingObject{crds.TenantMemberships, "", mb.Key(), "TenantMembership", strconv.Quote(mb.Key()),
		"gpuplane_tenant_membership", id, platform.Owner{Tenant: mb.Tenant}}, &resp.Diagnostics) {
		return
	}
	r.write(ctx, c, mb, &plan, &resp.Diagnostics, target{&resp.State, true})
}

func (r *membershipResource) Update(ctx context.Context, req resource.UpdateRequest, resp *resource.UpdateResponse) {
	defer membershipIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var plan membershipModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, plan.Timeouts.Update, defaultWriteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	mb, _, diags := expandMembership(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	r.write(ctx, c, mb, &plan, &resp.Diagnostics, target{&resp.State, false})
}

// write writes the TenantMembership first, then its RoleBindings (see
// platform.SyncMemberBindings for why concurrent projects lose none).
func (r *membershipResource) write(ctx context.Context, c *kube.Client, mb platform.Membership, m *membershipModel, diags *diag.Diagnostics, w target) {
	_, found, err := r.p.tenant(ctx, c, mb.Tenant, false)
	if err != nil {
		diags.AddAttributeError(path.Root("tenant"), "Cannot read tenant", err.Error())
		return
	}
	if !found {
		diags.AddAttributeError(path.Root("tenant"), "Unknown tenant", fmt.Sprintf("Tenant %q does not exist. Create it (gpuplane_tenant), "+
			"or reference one that does.", mb.Tenant))
		return
	}
	if err := platform.WriteMembership(ctx, c, mb); err != nil {
		diags.AddError("Cannot write membership", err.Error())
		return
	}
	m.ID = types.StringValue(mb.Tenant + "/" + mb.Name)
	err = platform.SyncMemberBindings(ctx, c, mb)
	m.ObjectsInSync = types.BoolValue(err == nil)
	w.finish(ctx, m, "membership", "Cannot write the membership's RoleBindings", err, diags)
}

func (r *membershipResource) Read(ctx context.Context, req resource.ReadRequest, resp *resource.ReadResponse) {
	defer membershipIdentity.sync(ctx, &resp.State, resp.Identity, &resp.Diagnostics)
	var state membershipModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	c := r.p.readClient(&resp.Diagnostics)
	if c == nil {
		return
	}
	mb, err := platform.GetMembership(ctx, c, state.Tenant.ValueString(), state.Name.ValueString())
	if err != nil {
		resp.Diagnostics.AddError("Cannot read membership", err.Error())
		return
	}
	if mb == nil {
		tflog.Info(ctx, "membership is gone; removing it from state", map[string]any{"id": state.ID.ValueString()})
		resp.State.RemoveResource(ctx)
		return
	}
	flattenMembership(*mb, &state)
	inSync, err := platform.MemberBindingsInSync(ctx, c, *mb)
	if err != nil {
		resp.Diagnostics.AddError("Cannot read the membership's RoleBindings", err.Error())
		return
	}
	state.ObjectsInSync = types.BoolValue(inSync)
	resp.Diagnostics.Append(resp.State.Set(ctx, &state)...)
}

func (r *membershipResource) Delete(ctx context.Context, req resource.DeleteRequest, resp *resource.DeleteResponse) {
	var state membershipModel
	resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
	if resp.Diagnostics.HasError() {
		return
	}
	ctx, cancel, c := r.p.begin(ctx, state.Timeouts.Delete, defaultDeleteTimeout, &resp.Diagnostics)
	defer cancel()
	if c == nil {
		return
	}
	mb := platform.Membership{Tenant: state.Tenant.ValueString(), Name: state.Name.ValueString()}
	if err := platform.DeleteMembership(ctx, c, mb); err != nil {
		resp.Diagnostics.AddError("Cannot delete membership", err.Error())
	}
}
