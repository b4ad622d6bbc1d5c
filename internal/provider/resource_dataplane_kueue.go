package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// checkFlavorNames refuses two families whose Kueue ResourceFlavor names
// would be the same (names differ only in case, or in '_' and '-'), and a
// catalog above Kueue's limits. Kueue's other constraints (every flavor of
// a group covers the same resources, lending ≤ nominal, no borrowing limit
// without a cohort) hold by construction (platform.ClusterQueueSpec).
func checkFlavorNames(cat quota.Catalog) diag.Diagnostics {
	var diags diag.Diagnostics
	seen := map[string]string{}
	perResource := map[string][]string{}
	for _, f := range cat.Names() {
		if !cat[f].Queued {
			continue
		}
		flavor := platform.FlavorName(f)
		if other, ok := seen[flavor]; ok {
			diags.AddAttributeError(path.Root("gpu_families").AtMapKey(f), "GPU family names collide in Kueue",
				fmt.Sprintf("Families %q and %q would both become the Kueue ResourceFlavor %q (flavor names are lower case, "+
					"with '-' for '_'). Rename one of them.", other, f, flavor))
		}
		seen[flavor] = f
		perResource[cat[f].ResourceName] = append(perResource[cat[f].ResourceName], f)
	}
	// Kueue's limits on a ClusterQueue: 64 flavors in a resource group, and
	// 16 groups (one per resource name, and gpuplane's default flavor's).
	for r, fams := range perResource {
		if len(fams) > maxFlavorsPerResource {
			diags.AddAttributeError(path.Root("gpu_families"), "Too many GPU families for Kueue",
				fmt.Sprintf("%d families use the resource %s; a Kueue ClusterQueue holds at most %d flavors per resource.", len(fams), r, maxFlavorsPerResource))
		}
	}
	if len(perResource) > maxResourceGroups-1 {
		diags.AddAttributeError(path.Root("gpu_families"), "Too many GPU resource names for Kueue",
			fmt.Sprintf("The families use %d resource names; a Kueue ClusterQueue holds at most %d resource groups, one of which "+
				"is gpuplane's default flavor's (cpu, memory, ephemeral-storage).", len(perResource), maxResourceGroups))
	}
	return diags
}

// Kueue's limits (kueue.x-k8s.io/v1beta2 ClusterQueueSpec).
const (
	maxFlavorsPerResource = 64
	maxResourceGroups     = 16
)

// checkKueueInstalled fails the plan when the cluster does not serve
// Kueue's API (when the provider's cluster is known at plan).
func (r *dataplaneResource) checkKueueInstalled(ctx context.Context) diag.Diagnostics {
	var diags diag.Diagnostics
	if !r.p.client.Known() {
		return diags
	}
	c, err := r.p.client.Get()
	if err != nil {
		return diags // reported by whatever needs the client next
	}
	missing, err := platform.MissingKueueAPI(ctx, c)
	if err != nil {
		diags.AddAttributeError(path.Root("quota_backend"), "Cannot check that Kueue is installed", err.Error())
		return diags
	}
	if len(missing) > 0 {
		diags.AddAttributeError(path.Root("quota_backend"), "Kueue is not installed",
			fmt.Sprintf("quota_backend = %q needs Kueue v0.17 or later (API %s) in the cluster, and the cluster does not serve %s. "+
				"Install Kueue first, e.g. kubectl apply --server-side -f "+
				"https://github.com/kubernetes-sigs/kueue/releases/download/v0.17.0/manifests.yaml, or keep quota_backend = %q.",
				platform.BackendKueue, platform.KueueAPIVersion, strings.Join(missing, ", "), platform.BackendResourceQuota))
	}
	return diags
}
