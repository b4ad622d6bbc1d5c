package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema/booldefault"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// Deleting a tenant or project deletes namespaces, and the namespace
// controller deletes every workload in them. That is never an accident:
// the plan says which workloads a destroy or a replacement deletes, and
// the apply refuses while they run unless the configuration opted in.

// deletionProtectionAttribute is the deletion_protection attribute.
func deletionProtectionAttribute(what string) schema.BoolAttribute {
	return schema.BoolAttribute{Optional: true, Computed: true, Default: booldefault.StaticBool(true),
		MarkdownDescription: fmt.Sprintf("When true (the default), destroying or replacing the %s is refused while its "+
			"namespace%s hold running or pending pods, which the namespace controller would delete. To delete them with it, "+
			"set `deletion_protection = false` and apply first (a replacement's destroy reads the value in state). The plan "+
			"names such pods either way.", what, map[string]string{"project": "", "tenant": "s (and, with cascade, its projects')"}[what])}
}

// workloadsAt lists the running or pending pods a deletion would delete.
func workloadsAt(ctx context.Context, c *kube.Client, namespaces []string, diags *diag.Diagnostics) []string {
	pods, err := platform.Workloads(ctx, c, namespaces)
	if err != nil {
		diags.AddError("Cannot read the workloads a deletion would delete", err.Error())
	}
	return pods
}

// refuseDeletion adds an error, and returns true, when protection is on and
// the namespaces hold workloads.
func refuseDeletion(ctx context.Context, c *kube.Client, what string, protection types.Bool, namespaces []string, diags *diag.Diagnostics) bool {
	if !protection.IsNull() && !protection.ValueBool() {
		return false
	}
	pods := workloadsAt(ctx, c, namespaces, diags)
	if diags.HasError() {
		return true
	}
	if len(pods) == 0 {
		return false
	}
	diags.AddError("Deletion protection",
		fmt.Sprintf("Deleting %s deletes namespace(s) %s, which hold %s; deletion_protection is on, so gpuplane deletes "+
			"nothing. Move or stop those workloads, or set deletion_protection = false and apply, then apply this again.",
			what, strings.Join(namespaces, ", "), platform.DescribeWorkloads(pods)))
	return true
}

// warnDeletion says in a plan which workloads a destroy or a replacement
// deletes, and whether the apply will refuse.
func warnDeletion(ctx context.Context, c *kube.Client, what, action string, protection types.Bool, namespaces []string, diags *diag.Diagnostics) {
	var read diag.Diagnostics
	pods := workloadsAt(ctx, c, namespaces, &read)
	if read.HasError() {
		return
	}
	if len(pods) == 0 {
		if action == "replaces" {
			diags.AddWarning(fmt.Sprintf("This plan replaces %s", what),
				fmt.Sprintf("Replaces %s: namespace(s) %s and everything in them are deleted (no pod runs there now).",
					what, strings.Join(namespaces, ", ")))
		}
		return
	}
	then := "deletion_protection is off: they are deleted with it."
	if protection.IsNull() || protection.ValueBool() {
		then = "deletion_protection is on: the apply refuses (set it to false and apply first to let it go ahead)."
	}
	diags.AddWarning(fmt.Sprintf("This plan %s %s and deletes its workloads", action, what),
		fmt.Sprintf("%s %s: namespace(s) %s and everything in them are deleted, including %s. %s",
			strings.ToUpper(action[:1])+action[1:], what, strings.Join(namespaces, ", "), platform.DescribeWorkloads(pods), then))
}
