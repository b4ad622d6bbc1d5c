package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
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

	p, known, diags := expandProject(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	if known && r.p != nil && r.p.client.Known() && !resp.Diagnostics.HasError() {
		c := r.p.clientOrError(&resp.Diagnostics)
		if c == nil {
			return
		}
		r.planWithinTenant(ctx, c, p, !req.State.Raw.IsNull(), &plan, &resp.Diagnostics)
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
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
func (r *projectResource) planWithinTenant(ctx context.Context, c *kube.Client, p platform.Project, exists bool, plan *projectModel, diags *diag.Diagnostics) {
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
	if exists && !plan.Namespace.IsUnknown() {
		warnBelowUsage(ctx, c, t, eff, plan.Namespace.ValueString(), p.Name, diags)
	}
}

// check applies quota.CheckProject to the project within its tenant and
// among the tenant's other projects. planned selects the plan cache over
// live objects.
func (r *projectResource) check(ctx context.Context, c *kube.Client, t tenantView, p platform.Project, planned bool) (quota.Scope, diag.Diagnostics) {
	var diags diag.Diagnostics
	siblings, err := r.p.projectQuotas(ctx, c, t.Name, planned)
	if err != nil {
		diags.AddError("Cannot check the tenant's other projects", err.Error())
		return quota.ProjectEffective(t.effective(), p.Quota, t.Catalog.Names()), diags
	}
	eff, problems := quota.CheckProject(t.rules(), t.Catalog, p.Rules(), siblings)
	addProblems(&diags, problems)
	return eff, diags
}

// warnBelowUsage is rule 6, from the ResourceQuota's status.used.
func warnBelowUsage(ctx context.Context, c *kube.Client, t tenantView, eff quota.Scope, namespace, name string, diags *diag.Diagnostics) {
	rq, err := platform.GetResourceQuota(ctx, c, namespace)
	if err != nil || rq == nil {
		return
	}
	addProblems(diags, quota.BelowUsage(eff, t.Catalog, platform.QuotaUsed(rq), fmt.Sprintf("project %q", name)))
}
