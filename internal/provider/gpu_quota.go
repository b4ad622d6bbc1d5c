package provider

import (
	"fmt"
	"math/big"
	"slices"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// gpuQuotaModel is the gpu_quota attribute of tenants and projects.
type gpuQuotaModel struct {
	Limits   types.Map `tfsdk:"limits"`
	Requests types.Map `tfsdk:"requests"`
}

func gpuQuotaAttribute(scope string) schema.SingleNestedAttribute {
	maps := func(desc string) schema.MapAttribute {
		return schema.MapAttribute{
			ElementType: types.NumberType, Optional: true, MarkdownDescription: desc,
		}
	}
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: fmt.Sprintf("GPU quota of the %s per GPU family of the dataplane catalog; the key `Default` "+
			"covers families not listed. Values are whole GPUs (0 forbids the family). Checked at plan time.", scope),
		Attributes: map[string]schema.Attribute{
			"limits": maps("Total GPUs in use at once, per family: the sum over all pods (DRA: claimed devices) in the " +
				"scope. Not Kubernetes' container `limits`: it becomes the project's ResourceQuota line " +
				"`requests.<resource_name>` (DRA: `<device_class>.deviceclass.resource.k8s.io/devices`), which sums the pods' " +
				"GPU requests (for GPUs a container's request and limit are equal); under Kueue, the ClusterQueue's quota."),
			"requests": maps("GPUs of the largest single workload, per family: one pod's GPUs as Kubernetes counts its " +
				"requests (DRA: one claim's devices). No ResourceQuota can say this: the `gpuplane-gpu-per-pod` admission " +
				"policy (DRA: `gpuplane-dra-claims`) refuses a bigger pod. Unset, it is the scope's limit."),
		},
	}
}

// effectiveQuotaAttrTypes is the element type of effective_gpu_quota.
var effectiveQuotaAttrTypes = map[string]attr.Type{
	"limit": types.Int64Type, "request": types.Int64Type,
	"limit_source": types.StringType, "request_source": types.StringType,
}

func effectiveQuotaAttribute(scope string) schema.MapNestedAttribute {
	return schema.MapNestedAttribute{
		Computed: true,
		MarkdownDescription: fmt.Sprintf("What the %s really gets, per catalog family, computed at plan time: `limit` and "+
			"`request` (null = unlimited) and where each comes from (`limit_source`, `request_source`: project, "+
			"project-default, tenant, tenant-default, inherited or unlimited).", scope),
		NestedObject: schema.NestedAttributeObject{Attributes: map[string]schema.Attribute{
			"limit":   schema.Int64Attribute{Computed: true, MarkdownDescription: "Total GPUs at once; null when unlimited."},
			"request": schema.Int64Attribute{Computed: true, MarkdownDescription: "Largest workload; null when unlimited."},
			"limit_source": schema.StringAttribute{Computed: true, MarkdownDescription: "Where the limit comes from: " +
				"`project` / `tenant` (the scope's own `limits[family]`), `project-default` / `tenant-default` (its " +
				"`limits[\"Default\"]`), `inherited` (a project that sets neither: its tenant's effective limit), " +
				"`unlimited` (nothing set anywhere; no quota line is written)."},
			"request_source": schema.StringAttribute{Computed: true, MarkdownDescription: "Where the request cap comes " +
				"from, with the same values as `limit_source` for `requests`; a cap the scope does not set itself is at " +
				"most its limit, and takes the limit's source when the limit is lower."},
		}},
	}
}

// expandGPUQuota converts gpu_quota; known is false when a value is
// unknown. Counts are read by quota.ParseCount.
func expandGPUQuota(m *gpuQuotaModel) (q quota.Quota, known bool, diags diag.Diagnostics) {
	q = quota.Quota{Limits: map[string]int64{}, Requests: map[string]int64{}}
	if m == nil {
		return q, true, nil
	}
	known = true
	for _, part := range []struct {
		name string
		v    types.Map
		out  map[string]int64
	}{{"limits", m.Limits, q.Limits}, {"requests", m.Requests, q.Requests}} {
		if part.v.IsUnknown() {
			known = false
			continue
		}
		for k, el := range part.v.Elements() {
			n, isNum := el.(types.Number)
			if !isNum || n.IsUnknown() {
				known = false
				continue
			}
			count, err := quota.ParseCount(n.ValueBigFloat())
			if err != nil {
				summary := "GPU counts are whole numbers"
				if n.IsNull() {
					summary = "Missing GPU count"
				}
				diags.AddAttributeError(path.Root("gpu_quota").AtName(part.name).AtMapKey(k), summary,
					fmt.Sprintf("gpu_quota.%s[%q] = %s.", part.name, k, err))
				continue
			}
			part.out[k] = count
		}
	}
	return q, known, diags
}

// flattenGPUQuota is the inverse of expandGPUQuota for Read and import. An
// empty quota reads back as prior when prior holds no values, and an empty
// limits or requests map as prior's, so that `gpu_quota = {}` and
// `requests = {}` show no diff.
func flattenGPUQuota(q quota.Quota, prior *gpuQuotaModel) *gpuQuotaModel {
	if len(q.Limits) == 0 && len(q.Requests) == 0 {
		return prior
	}
	if prior == nil {
		prior = &gpuQuotaModel{Limits: types.MapNull(types.NumberType), Requests: types.MapNull(types.NumberType)}
	}
	conv := func(m map[string]int64, prior types.Map) types.Map {
		if len(m) == 0 {
			if !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
				return prior
			}
			return types.MapNull(types.NumberType)
		}
		els := map[string]attr.Value{}
		for k, v := range m {
			els[k] = types.NumberValue(new(big.Float).SetInt64(v))
		}
		return types.MapValueMust(types.NumberType, els)
	}
	return &gpuQuotaModel{Limits: conv(q.Limits, prior.Limits), Requests: conv(q.Requests, prior.Requests)}
}

// flattenEffectiveQuota renders an effective quota as the effective_gpu_quota attribute.
func flattenEffectiveQuota(s quota.Scope) types.Map {
	objType := types.ObjectType{AttrTypes: effectiveQuotaAttrTypes}
	els := map[string]attr.Value{}
	num := func(v quota.Value) types.Int64 {
		if v.Unlimited {
			return types.Int64Null()
		}
		return types.Int64Value(v.N)
	}
	for f, e := range s {
		els[f] = types.ObjectValueMust(effectiveQuotaAttrTypes, map[string]attr.Value{
			"limit": num(e.Limit), "request": num(e.Request),
			"limit_source": types.StringValue(string(e.Limit.Source)), "request_source": types.StringValue(string(e.Request.Source)),
		})
	}
	return types.MapValueMust(objType, els)
}

func unknownEffective() types.Map {
	return types.MapUnknown(types.ObjectType{AttrTypes: effectiveQuotaAttrTypes})
}

func emptyEffective() types.Map {
	return types.MapValueMust(types.ObjectType{AttrTypes: effectiveQuotaAttrTypes}, map[string]attr.Value{})
}

// onceForTenant drops the tenant-wide overcommit warning when this run has
// already given it for the tenant: the tenant and each of its projects find
// it, and the plan says it once.
func (d *providerData) onceForTenant(tenant string, problems []quota.Problem) []quota.Problem {
	return slices.DeleteFunc(problems, func(p quota.Problem) bool {
		return p.Severity == quota.Warning && p.Summary == quota.OvercommitSummary && !d.plans.firstTime("overcommit/"+tenant)
	})
}

// addProblems reports quota problems as diagnostics on their attributes
// (a path from the resource's root: attribute, nested attribute, map key).
func addProblems(diags *diag.Diagnostics, problems []quota.Problem) {
	for _, p := range problems {
		if len(p.Attribute) == 0 {
			if p.Severity == quota.Warning {
				diags.AddWarning(p.Summary, p.Detail)
			} else {
				diags.AddError(p.Summary, p.Detail)
			}
			continue
		}
		at := path.Root(p.Attribute[0])
		if len(p.Attribute) > 1 {
			at = at.AtName(p.Attribute[1])
		}
		if len(p.Attribute) > 2 {
			at = at.AtMapKey(p.Attribute[2])
		}
		if p.Severity == quota.Warning {
			diags.AddAttributeWarning(at, p.Summary, p.Detail)
		} else {
			diags.AddAttributeError(at, p.Summary, p.Detail)
		}
	}
}
