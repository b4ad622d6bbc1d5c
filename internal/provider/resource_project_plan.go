package provider

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"github.com/hashicorp/terraform-plugin-log/tflog"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// The project's plan: its namespace, its quota within its tenant's (planned
// in this run or live), placement and the below-usage warning.

func (r *projectResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		var state projectModel
		resp.Diagnostics.Append(req.State.Get(ctx, &state)...)
		if r.p != nil && !resp.Diagnostics.HasError() {
			r.p.plans.setProject(state.Tenant.ValueString(), state.Name.ValueString(), nil)
			r.warnDeletion(ctx, &state, "destroys", &resp.Diagnostics)
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
	planProjectNamespace(&plan, configNamespace, &resp.Diagnostics)
	plan.ObjectsInSync = types.BoolValue(true)
	plan.EffectiveGPUQuota = unknownEffective()
	plan.Placement = types.MapUnknown(types.MapType{ElemType: types.StringType})

	var prior *projectModel
	if !req.State.Raw.IsNull() {
		prior = &projectModel{}
		resp.Diagnostics.Append(req.State.Get(ctx, prior)...)
	}
	p, known, diags := expandProject(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	if r.p != nil && prior != nil && (prior.Tenant.ValueString() != p.Tenant || prior.Name.ValueString() != p.Name) {
		// A rename or a move replaces the project: the old one's quota is freed.
		r.p.plans.setProject(prior.Tenant.ValueString(), prior.Name.ValueString(), nil)
	}
	if r.p != nil && prior != nil && !plan.Namespace.IsUnknown() && (prior.Tenant.ValueString() != p.Tenant ||
		prior.Name.ValueString() != p.Name || prior.Namespace.ValueString() != p.Namespace) {
		r.warnDeletion(ctx, prior, "replaces", &resp.Diagnostics)
	}
	if known && r.p != nil && !plan.Namespace.IsUnknown() {
		r.p.claimNamespace(p.Namespace, platform.Owner{Tenant: p.Tenant, Project: p.Name}, path.Root("namespace"), &resp.Diagnostics)
		r.p.claimProject(p, &resp.Diagnostics)
	}
	if known && r.p != nil && r.p.client.Known() && !resp.Diagnostics.HasError() {
		c := r.p.clientOrError(&resp.Diagnostics)
		if c == nil {
			return
		}
		// Terraform plans a replacement twice, the second time without
		// prior state: the identity was checked the first time, with it.
		replanKey := "project/" + p.Tenant + "/" + p.Name + "/" + p.Namespace
		if prior != nil && (prior.Tenant.ValueString() != p.Tenant || prior.Name.ValueString() != p.Name ||
			prior.Namespace.ValueString() != p.Namespace) {
			r.p.plans.expectReplan(replanKey)
		}
		if !plan.Namespace.IsUnknown() && (prior != nil || !r.p.plans.replanned(replanKey)) {
			priorNamespace := ""
			if prior != nil {
				priorNamespace = prior.Namespace.ValueString()
			}
			checkLiveIdentity(ctx, c, p, priorNamespace, plan.AdoptNamespace.ValueBool(), &resp.Diagnostics)
		}
		priorEffective := types.MapNull(plan.EffectiveGPUQuota.ElementType(ctx))
		if prior != nil {
			priorEffective = prior.EffectiveGPUQuota
		}
		r.planWithinTenant(ctx, c, p, priorEffective, &plan, &resp.Diagnostics)
		if prior != nil && !prior.ObjectsInSync.ValueBool() {
			r.warnDrift(ctx, c, prior, &resp.Diagnostics)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// warnDeletion: a plan that destroys or replaces the project says which
// workloads its namespace deletes (deletion_protection.go).
func (r *projectResource) warnDeletion(ctx context.Context, state *projectModel, action string, diags *diag.Diagnostics) {
	if !r.p.client.Known() {
		return
	}
	if c := r.p.clientOrError(diags); c != nil {
		warnDeletion(ctx, c, fmt.Sprintf("project %q", state.ID.ValueString()), action, state.DeletionProtection,
			[]string{state.Namespace.ValueString()}, diags)
	}
}

// warnDrift: when refresh found the project's objects changed outside
// Terraform, the plan says what changed, who changed it, and what the apply
// restores (it takes back exactly the fields gpuplane sets).
func (r *projectResource) warnDrift(ctx context.Context, c *kube.Client, prior *projectModel, diags *diag.Diagnostics) {
	live, err := platform.FindProject(ctx, c, prior.Tenant.ValueString(), prior.Name.ValueString(), prior.Namespace.ValueString())
	if err != nil || live == nil {
		return
	}
	t, found, err := r.p.tenant(ctx, c, live.Tenant, false)
	if err != nil || !found {
		return
	}
	eff := quota.ProjectEffective(t.effective(), live.Quota, t.Catalog.Names())
	lines, err := platform.ProjectDrift(ctx, c, *live, t.Tenant, t.Catalog, eff)
	if err != nil || len(lines) == 0 {
		return
	}
	diags.AddWarning("Objects changed outside Terraform",
		fmt.Sprintf("Project %q: %s. The apply takes back exactly the fields gpuplane sets; others' fields stay.",
			prior.ID.ValueString(), strings.Join(lines, "; ")))
}

// planProjectNamespace sets the ID and, when the configuration sets none,
// the default namespace <tenant>-<name>, which must be a DNS label.
func planProjectNamespace(plan *projectModel, configNamespace types.String, diags *diag.Diagnostics) {
	if plan.Tenant.IsUnknown() || plan.Name.IsUnknown() {
		return
	}
	plan.ID = types.StringValue(plan.Tenant.ValueString() + "/" + plan.Name.ValueString())
	if !configNamespace.IsNull() {
		return
	}
	ns := plan.Tenant.ValueString() + "-" + plan.Name.ValueString()
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		diags.AddAttributeError(path.Root("name"), "Project namespace name too long",
			fmt.Sprintf("The project's namespace would be %q (%d characters): %s. Shorten the tenant or project "+
				"name, or set namespace explicitly.", ns, len(ns), strings.Join(errs, "; ")))
	}
	plan.Namespace = types.StringValue(ns)
}

// planWithinTenant checks the project against its tenant (planned in this
// run, or live) and fills its effective quota and placement.
func (r *projectResource) planWithinTenant(ctx context.Context, c *kube.Client, p platform.Project, priorEffective types.Map,
	plan *projectModel, diags *diag.Diagnostics) {
	t, found, err := r.p.tenant(ctx, c, p.Tenant, true)
	switch {
	case err != nil:
		diags.AddAttributeError(path.Root("tenant"), "Cannot read tenant", err.Error())
		return
	case !found:
		diags.AddAttributeError(path.Root("tenant"), "Unknown tenant",
			fmt.Sprintf("Tenant %q does not exist and is not planned in this run. Create it (gpuplane_tenant) and reference it, "+
				"e.g. tenant = gpuplane_tenant.%s.name, so Terraform plans and creates it first.", p.Tenant, p.Tenant))
		return
	}
	// Record before checking: Terraform plans sibling projects concurrently,
	// and of two that overflow the tenant together at least the later check
	// must see the other.
	r.p.plans.setProject(p.Tenant, p.Name, &p.Quota)
	eff, d := r.check(ctx, c, t, p, true)
	diags.Append(d...)
	plan.EffectiveGPUQuota = flattenEffectiveQuota(eff)
	// The tenant reports a compute that does not exist; here it stays unknown.
	if pl, known, err := r.p.placement(ctx, c, t, true); err == nil && known {
		plan.Placement = flattenPlacement(pl)
	}
	// Only a change can newly fall below usage; an unchanged plan reads nothing more.
	if !priorEffective.IsNull() && !priorEffective.Equal(plan.EffectiveGPUQuota) && !plan.Namespace.IsUnknown() {
		warnBelowUsage(ctx, c, t.Catalog, eff, []string{p.Namespace}, fmt.Sprintf("project %q", p.Name), diags)
	}
}

// check applies quota.CheckProject to the project within its tenant and
// among the tenant's other projects. planned selects the plan cache over
// live objects. Terraform plans a tenant's projects concurrently, so a
// sibling may not be planned yet when this project is: an overflow of the
// tenant total that only a not-yet-planned sibling's live quota causes is a
// warning (that sibling may be lowered later in this run; if not, its own
// plan, or the apply-time check, refuses it).
func (r *projectResource) check(ctx context.Context, c *kube.Client, t tenantView, p platform.Project, planned bool) (quota.Scope, diag.Diagnostics) {
	var diags diag.Diagnostics
	siblings, unplanned, err := r.p.projectQuotas(ctx, c, t.Name, planned)
	if err != nil {
		diags.AddError("Cannot check the tenant's other projects", err.Error())
		return quota.ProjectEffective(t.effective(), p.Quota, t.Catalog.Names()), diags
	}
	rules := p.Rules()
	if prior, live := siblings[p.Name]; live && !planned {
		rules.Prior = &prior // at apply: refuse only what this write raises
	}
	eff, problems := quota.CheckProject(t.rules(), t.Catalog, rules, siblings)
	if len(unplanned) > 0 && hasTenantTotalError(problems) {
		known := maps.Clone(siblings)
		for _, name := range unplanned {
			delete(known, name)
		}
		if _, without := quota.CheckProject(t.rules(), t.Catalog, rules, known); !hasTenantTotalError(without) {
			for i := range problems {
				if problems[i].Summary == quota.TenantTotalSummary {
					problems[i].Severity = quota.Warning
					problems[i].Detail += fmt.Sprintf(" This counts project(s) %s as they are now: not planned in this run so far, "+
						"they may be lowered later in it, or be managed in another configuration; their own plans, and the "+
						"apply, refuse what does not fit.", strings.Join(unplanned, ", "))
				}
			}
		}
	}
	addProblems(&diags, r.p.onceForTenant(t.Name, problems))
	return eff, diags
}

func hasTenantTotalError(problems []quota.Problem) bool {
	for _, p := range problems {
		if p.Severity == quota.Error && p.Summary == quota.TenantTotalSummary {
			return true
		}
	}
	return false
}

// deletionGrace is how long an apply-time check waits for a deletion to
// begin that may free the quota it needs: Terraform destroys one project
// and creates another in the same apply concurrently.
const deletionGrace = 20 * time.Second

// checkAtApply re-checks the project against the live tenant and projects
// before any write. When the only broken rule is the tenant total (rule 4),
// a project being deleted in the same apply may be about to free it: the
// check waits, within the operation's timeout, while a project of the
// tenant is being deleted (and for deletionGrace for one to begin), and
// fails as before only if the overflow stays.
func (r *projectResource) checkAtApply(ctx context.Context, c *kube.Client, t tenantView, p platform.Project) (quota.Scope, diag.Diagnostics) {
	begin := time.Now()
	for {
		eff, diags := r.check(ctx, c, t, p, false)
		if !onlyTenantTotal(diags) {
			return eff, diags
		}
		deleting, err := platform.ProjectsBeingDeleted(ctx, c, t.Name)
		if err != nil || (len(deleting) == 0 && time.Since(begin) > deletionGrace) {
			return eff, diags
		}
		tflog.Info(ctx, "the tenant's projects exceed its limit; waiting for projects being deleted",
			map[string]any{"tenant": t.Name, "deleting": deleting})
		select {
		case <-ctx.Done():
			return eff, diags
		case <-time.After(time.Second):
		}
		c.Forget() // read what others changed meanwhile
	}
}

// onlyTenantTotal reports whether the errors are all rule 4's.
func onlyTenantTotal(diags diag.Diagnostics) bool {
	errs := diags.Errors()
	for _, d := range errs {
		if d.Summary() != quota.TenantTotalSummary {
			return false
		}
	}
	return len(errs) > 0
}

// warnBelowUsage is rule 6: a limit below what the namespaces use now is
// a warning that quotes the numbers. Usage comes from the quotas' status,
// or from pods for a family a quota did not count before.
func warnBelowUsage(ctx context.Context, c *kube.Client, cat quota.Catalog, eff quota.Scope, namespaces []string, scope string, diags *diag.Diagnostics) {
	used, err := platform.UsedPerQuotaKey(ctx, c, namespaces, cat)
	if err != nil {
		return // a warning is not worth failing the plan for
	}
	addProblems(diags, quota.BelowUsage(eff, cat, used, scope))
}
