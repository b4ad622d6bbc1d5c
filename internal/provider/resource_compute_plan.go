package provider

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource"
	"github.com/hashicorp/terraform-plugin-framework/types"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// The compute's plan: its family, the nodes it picks now, and the plan
// cache entry its tenants' placement is derived from.

func (r *computeResource) ModifyPlan(ctx context.Context, req resource.ModifyPlanRequest, resp *resource.ModifyPlanResponse) {
	if req.Plan.Raw.IsNull() || r.p == nil {
		return
	}
	var plan computeModel
	resp.Diagnostics.Append(req.Plan.Get(ctx, &plan)...)
	if resp.Diagnostics.HasError() || plan.Name.IsUnknown() {
		return
	}
	plan.ID = plan.Name
	sel, known := stringMap(plan.NodeSelector)
	if !known {
		r.p.plans.setCompute(plan.Name.ValueString(), nil)
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	r.p.plans.setCompute(plan.Name.ValueString(), sel)
	if !r.p.client.Known() || plan.Dataplane.IsUnknown() || plan.GPUFamily.IsUnknown() {
		resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
		return
	}
	c := r.p.clientOrError(&resp.Diagnostics)
	if c == nil {
		return
	}
	cat, complete, err := r.p.catalog(ctx, c, plan.Dataplane.ValueString(), true)
	switch {
	case err == errCatalogUnknown:
	case err != nil:
		resp.Diagnostics.AddAttributeError(path.Root("dataplane"), "Unknown dataplane", err.Error())
	default:
		resp.Diagnostics.Append(checkGPUFamily(plan.GPUFamily, cat)...)
		// The plan shows the nodes the selector picks now.
		resp.Diagnostics.Append(computeNodes(ctx, c, sel, cat, plan.GPUFamily.ValueString(), &plan)...)
		if !complete {
			plan.GPUCapacity = types.MapUnknown(types.Int64Type) // the families' node selectors are known at apply
		}
		if plan.NodeCount.ValueInt64() == 0 {
			resp.Diagnostics.AddAttributeWarning(path.Root("node_selector"), "Compute selects no node",
				fmt.Sprintf("node_selector %s matches no node of the cluster (yet). Pods placed on compute %q will stay "+
					"Pending until nodes with these labels join.", labels.SelectorFromSet(sel).String(), plan.Name.ValueString()))
		}
	}
	resp.Diagnostics.Append(resp.Plan.Set(ctx, &plan)...)
}

func checkGPUFamily(family types.String, cat quota.Catalog) diag.Diagnostics {
	var diags diag.Diagnostics
	if family.IsNull() {
		return diags
	}
	if _, ok := cat[family.ValueString()]; !ok {
		diags.AddAttributeError(path.Root("gpu_family"), "Unknown GPU family",
			fmt.Sprintf("gpu_family = %q is not a GPU family of the dataplane; use one of %s.", family.ValueString(), strings.Join(cat.Names(), ", ")))
	}
	return diags
}

// computeNodes fills node_count, nodes and gpu_capacity from the nodes the
// selector matches (from the cached LIST of nodes).
func computeNodes(ctx context.Context, c *kube.Client, sel map[string]string, cat quota.Catalog, family string, m *computeModel) diag.Diagnostics {
	var diags diag.Diagnostics
	all, err := platform.ListNodes(ctx, c)
	if err != nil {
		diags.AddError("Cannot list the compute's nodes", err.Error())
		return diags
	}
	nodes := platform.NodesMatching(all, sel)
	names := make([]string, 0, len(nodes))
	for _, n := range nodes {
		names = append(names, n.Name)
	}
	sort.Strings(names)
	capacity := map[string]attr.Value{}
	for f, fam := range cat {
		if fam.ResourceName == "" {
			continue
		}
		if n := platform.GPUCapacity(nodes, fam.ResourceName, fam.NodeSelector); n > 0 || f == family {
			capacity[f] = types.Int64Value(n)
		}
	}
	m.NodeCount = types.Int64Value(int64(len(nodes)))
	m.Nodes = types.ListValueMust(types.StringType, stringValues(names))
	m.GPUCapacity = types.MapValueMust(types.Int64Type, capacity)
	return diags
}
