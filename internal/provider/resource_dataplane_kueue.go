package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// checkKueueCatalog refuses, under the Kueue backend, what Kueue cannot
// hold or would get wrong: two families with one ResourceFlavor name (names
// differ only in case, or in '_' and '-'), a name that is no valid flavor
// name, more node labels than a flavor takes, more flavors or resource
// names than a ClusterQueue takes, and families of one resource name whose
// node selectors do not exclude each other (a node matching both would
// let work admitted as one family run on the other's GPUs); the last only
// when every selector is known. Kueue's other constraints (every flavor
// of a group covers the same resources, lending ≤ nominal, no borrowing
// limit without a cohort) hold by construction (platform.ClusterQueueSpec).
func checkKueueCatalog(cat quota.Catalog, complete bool) diag.Diagnostics {
	var diags diag.Diagnostics
	seen := map[string]string{}
	perResource := map[string][]string{}
	for _, f := range cat.Names() {
		fam := cat[f]
		if !fam.Queued {
			continue
		}
		at := path.Root("gpu_families").AtMapKey(f)
		flavor := platform.FlavorName(f)
		if other, ok := seen[flavor]; ok {
			diags.AddAttributeError(at, "GPU family names collide in Kueue",
				fmt.Sprintf("Families %q and %q would both become the Kueue ResourceFlavor %q (flavor names are lower case, "+
					"with '-' for '_'). Rename one of them.", other, f, flavor))
		}
		if errs := validation.IsDNS1123Subdomain(flavor); len(errs) > 0 {
			diags.AddAttributeError(at, "GPU family name is no Kueue flavor name",
				fmt.Sprintf("Family %q would become the Kueue ResourceFlavor %q, which is not a valid name: %s. Rename the family.",
					f, flavor, strings.Join(errs, "; ")))
		}
		if len(fam.NodeSelector) > maxFlavorNodeLabels {
			diags.AddAttributeError(at.AtName("node_selector"), "Too many node labels for Kueue",
				fmt.Sprintf("Family %q has %d node labels; a Kueue ResourceFlavor takes at most %d.", f, len(fam.NodeSelector), maxFlavorNodeLabels))
		}
		seen[flavor] = f
		perResource[fam.ResourceName] = append(perResource[fam.ResourceName], f)
	}
	for r, fams := range perResource {
		if len(fams) > maxFlavorsPerResource {
			diags.AddAttributeError(path.Root("gpu_families"), "Too many GPU families for Kueue",
				fmt.Sprintf("%d families use the resource %s; a Kueue ClusterQueue holds at most %d flavors per resource.", len(fams), r, maxFlavorsPerResource))
		}
		for i, f := range fams {
			for _, g := range fams[i+1:] {
				if complete && !selectorsExclude(cat[f].NodeSelector, cat[g].NodeSelector) {
					diags.AddAttributeError(path.Root("gpu_families").AtMapKey(g).AtName("node_selector"), "GPU families not told apart",
						fmt.Sprintf("Families %q and %q share the resource %s, and Kueue tells them apart by their node labels, but their "+
							"node_selectors do not exclude each other (a node could match both). Give both one label key with "+
							"different values, e.g. \"gpu.example.com/family\" = \"h100\" and \"a100\".", f, g, r))
				}
			}
		}
	}
	if len(perResource) > maxResourceGroups-1 {
		diags.AddAttributeError(path.Root("gpu_families"), "Too many GPU resource names for Kueue",
			fmt.Sprintf("The families use %d resource names; a Kueue ClusterQueue holds at most %d resource groups, one of which "+
				"is gpuplane's default flavor's (cpu, memory, ephemeral-storage).", len(perResource), maxResourceGroups))
	}
	return diags
}

// selectorsExclude reports whether no node can match both selectors: they
// share a key with different values.
func selectorsExclude(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; ok && w != v {
			return true
		}
	}
	return false
}

// Kueue's limits (kueue.x-k8s.io/v1beta2 ClusterQueueSpec).
const (
	maxFlavorsPerResource = 64
	maxResourceGroups     = 16
	maxFlavorNodeLabels   = 8
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
