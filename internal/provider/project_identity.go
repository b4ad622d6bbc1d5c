package provider

import (
	"context"
	"fmt"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// Identity at plan time: a project is identified by its tenant and name,
// and every namespace gpuplane manages belongs to exactly one tenant or
// project. Both are checked among the resources planned in this run (the
// plan cache) and, for what a plan creates, against the cluster.

// claimNamespace records that owner plans to hold namespace; a namespace
// another tenant or project of this run plans to hold, or one of the
// cluster's own, is an error on attr.
func (d *providerData) claimNamespace(namespace string, owner platform.Owner, attr path.Path, diags *diag.Diagnostics) {
	if platform.IsSystemNamespace(namespace) {
		diags.AddAttributeError(attr, "System namespace",
			fmt.Sprintf("%s would use namespace %q, one of the cluster's own (default, kube-*). Choose another name.", owner, namespace))
		return
	}
	if prior, ok := d.plans.claim("namespace/"+namespace, owner.String()); !ok {
		diags.AddAttributeError(attr, "Namespace claimed twice",
			fmt.Sprintf("Both %s and %s would use namespace %q, and every namespace gpuplane manages belongs to one tenant "+
				"or project (the other would overwrite its quota and, when destroyed, delete it). Rename one, or set the "+
				"project's namespace.", prior, owner, namespace))
	}
}

// claimProject records the project's tenant and name for namespace; two
// project resources of one tenant and name are an error.
func (d *providerData) claimProject(p platform.Project, diags *diag.Diagnostics) {
	if prior, ok := d.plans.claim("project/"+p.Tenant+"/"+p.Name, "namespace "+p.Namespace); !ok {
		diags.AddAttributeError(path.Root("name"), "Duplicate project",
			fmt.Sprintf("Two gpuplane_project resources are named %q in tenant %q (with %s and namespace %s). A project is "+
				"identified by its tenant and name, and together they would count twice against the tenant. Rename one.",
				p.Name, p.Tenant, prior, p.Namespace))
	}
}

// checkLiveIdentity checks what a plan creates against the cluster: no
// other project of the same tenant and name lives in another namespace, and
// the namespace is absent or this owner's own (or, with adopt, not
// gpuplane's at all: the plan then says what adopting means).
// priorNamespace is the namespace in state ("" for a create).
func checkLiveIdentity(ctx context.Context, c *kube.Client, p platform.Project, priorNamespace string, adopt bool, diags *diag.Diagnostics) {
	if priorNamespace == p.Namespace {
		return // nothing new to claim
	}
	live, err := platform.FindProject(ctx, c, p.Tenant, p.Name, "")
	switch {
	case err != nil:
		diags.AddError("Cannot read projects", err.Error())
		return
	case live != nil && live.Namespace != p.Namespace && live.Namespace != priorNamespace:
		diags.AddAttributeError(path.Root("name"), "Project already exists",
			fmt.Sprintf("Project %q of tenant %q already exists, in namespace %q. A project is identified by its tenant and "+
				"name: choose another name, or bring that project under this configuration with: terraform import "+
				"gpuplane_project.<name> %s/%s", p.Name, p.Tenant, live.Namespace, p.Tenant, p.Name))
		return
	}
	owner := platform.Owner{Tenant: p.Tenant, Project: p.Name}
	adopting, err := platform.PlanNamespaceAdoptable(ctx, c, p.Namespace, owner, adopt)
	switch {
	case err != nil:
		diags.AddAttributeError(path.Root("namespace"), "Namespace not available", err.Error())
	case adopting:
		diags.AddAttributeWarning(path.Root("adopt_namespace"), "Project adopts an existing namespace",
			fmt.Sprintf("Namespace %q exists and was not created by gpuplane; project %s/%s will adopt it (adopt_namespace = true): "+
				"gpuplane adds its labels, quota, bindings and policies, and leaves everything else in it as it is, including "+
				"ResourceQuotas and RoleBindings made by other tools (remove those that gpuplane now replaces). From then on the "+
				"namespace is the project's: destroying or replacing the project deletes it, with all of its workloads.",
				p.Namespace, p.Tenant, p.Name))
	}
}
