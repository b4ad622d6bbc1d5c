package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// The tenant's plan: quota rules, computes, and the plan cache entry its
// projects are checked against.

func (r *tenantResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() {
		r.warnDestroy(ctx, req, &resp.Diagnostics) // restrict is checked at apply
		return
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
	if plan.Phase.ValueString() != "Active" {
		// The apply writes the tenant namespace (again): its phase is known then.
		plan.Phase = types.StringUnknown()
	}
	plan.EffectiveGPUQuota = unknownEffective()
	plan.ComputeCapacity = types.MapUnknown(types.Int64Type)

	tenant, known, diags := expandTenant(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	owner := platform.Owner{Tenant: tenant.Name}
	if r.p != nil && !plan.Name.IsUnknown() {
		r.p.claimNamespace(tenant.Namespace(), owner, path.Root("name"), &resp.Diagnostics)
	}
	if known && r.p != nil && r.p.client.Known() {
		c := r.p.clientOrError(&resp.Diagnostics)
		if c == nil {
			return
		}
		if req.State.Raw.IsNull() {
			if _, err := platform.PlanNamespaceAdoptable(ctx, c, tenant.Namespace(), owner, false); err != nil {
				resp.Diagnostics.AddAttributeError(path.Root("name"), "Namespace not available", err.Error())
			}
		}
		t, eff, diags := r.check(ctx, c, &plan, true)
		resp.Diagnostics.Append(diags...)
		if eff != nil {
			plan.EffectiveGPUQuota = flattenEffectiveQuota(eff)
			r.p.plans.setTenant(t)
			plan.ComputeCapacity = r.p.computeCapacity(ctx, c, t, eff, true, &resp.Diagnostics)
			r.warnTenantBelowUsage(ctx, c, req, t, eff, plan.EffectiveGPUQuota, &resp.Diagnostics)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// check applies quota.CheckTenant against the tenant's live projects (those
// planned in this run check themselves against it), and checks that its
// computes exist. planned selects the plan cache over live objects for the
// dataplane and computes. eff is nil when the check could not run.
func (r *tenantResource) check(ctx context.Context, c *kube.Client, m *tenantModel, planned bool) (tenantView, quota.Scope, diag.Diagnostics) {
	var diags diag.Diagnostics
	cat, complete, err := r.p.catalog(ctx, c, m.Dataplane.ValueString(), planned)
	if errors.Is(err, errCatalogUnknown) {
		return tenantView{}, nil, diags
	}
	if err != nil {
		diags.AddAttributeError(path.Root("dataplane"), "Unknown dataplane", err.Error())
		return tenantView{}, nil, diags
	}
	tenant, _, d := expandTenant(ctx, m)
	diags.Append(d...)
	t := tenantView{Tenant: tenant, Catalog: cat, ComputesKnown: !m.Computes.IsUnknown(), CatalogComplete: complete}
	if diags.HasError() {
		return t, nil, diags
	}
	projects, err := platform.ListProjects(ctx, c, t.Name)
	if err != nil {
		diags.AddError("Cannot check the tenant's projects", err.Error())
		return t, t.effective(), diags
	}
	rules := make([]quota.Project, 0, len(projects))
	for _, p := range projects {
		rules = append(rules, p.Rules())
	}
	eff, problems := quota.CheckTenant(t.rules(), cat, rules)
	addProblems(&diags, r.p.onceForTenant(t.Name, problems))
	if t.ComputesKnown {
		if _, _, err := r.p.placement(ctx, c, t, planned); err != nil {
			diags.AddAttributeError(path.Root("computes"), "Unknown compute", err.Error())
		}
	}
	return t, eff, diags
}

// computeCapacity sums the GPUs per family on the nodes of the tenant's
// computes (each node once), and warns where the tenant's limit exceeds it.
// It is null when the tenant lists no computes.
func (d *providerData) computeCapacity(ctx context.Context, c *kube.Client, t tenantView, eff quota.Scope, planned bool, diags *diag.Diagnostics) types.Map {
	unknown := types.MapNull(types.Int64Type) // state holds no unknowns
	if planned {
		unknown = types.MapUnknown(types.Int64Type)
	}
	placement, known, err := d.placement(ctx, c, t, planned)
	if err != nil || !known || !t.CatalogComplete {
		return unknown
	}
	if len(placement) == 0 {
		return types.MapNull(types.Int64Type)
	}
	nodes, err := platform.ListNodes(ctx, c)
	if err != nil {
		diags.AddError("Cannot list nodes", err.Error())
		return unknown
	}
	capacity := platform.PoolCapacity(nodes, placement, t.Catalog)
	for _, f := range t.Catalog.Names() {
		if n, ok := capacity[f]; ok && eff[f].Limit.Finite() && eff[f].Limit.N > n {
			diags.AddAttributeWarning(path.Root("gpu_quota"), "Tenant quota exceeds its computes",
				fmt.Sprintf("tenant %q, family %s: the limit of %d exceeds the %d GPUs on the nodes of its computes (%s); "+
					"workloads beyond that stay Pending.", t.Name, f, eff[f].Limit.N, n, strings.Join(t.Computes, ", ")))
		}
	}
	return types.MapValueMust(types.Int64Type, int64Values(capacity))
}

// warnTenantBelowUsage is rule 6 for a tenant whose effective quota the
// plan changes: the tenant total (its namespace and every project's)
// against its new limits.
func (r *tenantResource) warnTenantBelowUsage(ctx context.Context, c *kube.Client, req resource.ModifyPlanRequest, t tenantView,
	eff quota.Scope, planned types.Map, diags *diag.Diagnostics) {
	var prior types.Map
	if req.State.Raw.IsNull() || req.State.GetAttribute(ctx, path.Root("effective_gpu_quota"), &prior).HasError() || prior.Equal(planned) {
		return
	}
	projects, err := platform.ListProjects(ctx, c, t.Name)
	if err != nil {
		return
	}
	namespaces := []string{t.Namespace()}
	for _, p := range projects {
		namespaces = append(namespaces, p.Namespace)
	}
	warnBelowUsage(ctx, c, t.Catalog, eff, namespaces, fmt.Sprintf("tenant %q", t.Name), diags)
}

// warnDestroy: a plan that destroys the tenant says which workloads its
// namespaces (with cascade, its projects' too) delete.
func (r *tenantResource) warnDestroy(ctx context.Context, req resource.ModifyPlanRequest, diags *diag.Diagnostics) {
	var state tenantModel
	if r.p == nil || !r.p.client.Known() || req.State.Get(ctx, &state).HasError() {
		return
	}
	c := r.p.clientOrError(diags)
	if c == nil {
		return
	}
	namespaces := []string{state.Namespace.ValueString()}
	if state.DeletionPolicy.ValueString() == "cascade" {
		projects, err := platform.ListProjects(ctx, c, state.Name.ValueString())
		if err != nil {
			return
		}
		for _, p := range projects {
			namespaces = append(namespaces, p.Namespace)
		}
	}
	warnDeletion(ctx, c, fmt.Sprintf("tenant %q", state.Name.ValueString()), "destroys", state.DeletionProtection, namespaces, diags)
}
