package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// The membership's plan: its derived name, and that it stays inside its tenant.

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
		plan.Name = types.StringValue(platform.DefaultMembershipName(crds.Subject{Kind: s.Kind.ValueString(), Name: s.Name.ValueString(), Namespace: s.Namespace.ValueString()}))
	}
	if !plan.Tenant.IsUnknown() && !plan.Name.IsUnknown() {
		plan.ID = types.StringValue(plan.Tenant.ValueString() + "/" + plan.Name.ValueString())
	}
	plan.ObjectsInSync = types.BoolValue(true)
	mb, known, diags := expandMembership(ctx, &plan)
	resp.Diagnostics.Append(diags...)
	// Terraform plans a replacement twice, the second time without prior
	// state; that second plan is this membership, not a second one.
	replan := false
	if known {
		var prior membershipModel
		switch {
		case req.State.Raw.IsNull():
			replan = r.p.plans.replanned("membership/" + mb.Key())
		case !req.State.Get(ctx, &prior).HasError() && replaces(prior, plan):
			r.p.plans.expectReplan("membership/" + mb.Key())
		}
	}
	if known && !replan && r.p.client.Known() && !resp.Diagnostics.HasError() {
		if c := r.p.clientOrError(&resp.Diagnostics); c != nil {
			resp.Diagnostics.Append(r.p.checkMembership(ctx, c, mb)...)
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

// checkMembership: the tenant exists (planned or live), the listed projects
// are the tenant's (planned in this run or live), and no other membership of
// the tenant has the same subject.
func (d *providerData) checkMembership(ctx context.Context, c *kube.Client, mb platform.Membership) diag.Diagnostics {
	var diags diag.Diagnostics
	_, found, err := d.tenant(ctx, c, mb.Tenant, true)
	if err != nil {
		diags.AddAttributeError(path.Root("tenant"), "Cannot read tenant", err.Error())
		return diags
	}
	if !found {
		diags.AddAttributeError(path.Root("tenant"), "Unknown tenant",
			fmt.Sprintf("Tenant %q does not exist and is not planned in this run. Reference it, e.g. tenant = gpuplane_tenant.%s.name.",
				mb.Tenant, mb.Tenant))
		return diags
	}
	planned, _, err := d.projectQuotas(ctx, c, mb.Tenant, true)
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
		if other, err := platform.ProjectTenant(ctx, c, p); err == nil && other != "" {
			detail = fmt.Sprintf("projects[%d] = %q belongs to tenant %q, not to %q: a membership never reaches outside its tenant.",
				i, p, other, mb.Tenant)
		}
		diags.AddAttributeError(path.Root("projects").AtListIndex(i), "Project outside the tenant", detail)
	}
	diags.Append(d.checkUniqueSubject(ctx, c, mb)...)
	return diags
}

// checkUniqueSubject: each resource is planned once per run, so a subject
// planned twice in one tenant is two memberships of it (even under one
// derived name); a live one of another name is a duplicate too.
func (d *providerData) checkUniqueSubject(ctx context.Context, c *kube.Client, mb platform.Membership) diag.Diagnostics {
	var diags diag.Diagnostics
	others, err := platform.ListMemberships(ctx, c, mb.Tenant)
	if err != nil {
		diags.AddError("Cannot list the tenant's memberships", err.Error())
		return diags
	}
	key := platform.SubjectKey(mb.Subject)
	prior, ok := d.plans.claimSubject(mb.Tenant, key, mb.Name)
	dup := !ok
	for _, o := range others {
		if !dup && platform.SubjectKey(o.Subject) == key && o.Name != mb.Name {
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

// replaces reports whether a plan changes what replaces a membership.
func replaces(prior, plan membershipModel) bool {
	if prior.Subject == nil || plan.Subject == nil {
		return prior.Subject != plan.Subject
	}
	return !prior.Tenant.Equal(plan.Tenant) || !prior.Name.Equal(plan.Name) || !prior.Subject.Kind.Equal(plan.Subject.Kind) ||
		!prior.Subject.Name.Equal(plan.Subject.Name) || !prior.Subject.Namespace.Equal(plan.Subject.Namespace)
}
