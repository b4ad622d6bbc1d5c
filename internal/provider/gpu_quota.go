package provider

import (
	"fmt"
	"math/big"

	"github.com/hashicorp/terraform-plugin-framework-validators/mapvalidator"
	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/path"
	"github.com/hashicorp/terraform-plugin-framework/resource/schema"
	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
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
			Validators: []validator.Map{mapvalidator.SizeAtLeast(1)},
		}
	}
	return schema.SingleNestedAttribute{
		Optional: true,
		MarkdownDescription: fmt.Sprintf("GPU quota of the %s per GPU family of the dataplane catalog; the key `Default` "+
			"covers families not listed. Values are whole GPUs (0 forbids the family). Checked at plan time.", scope),
		Attributes: map[string]schema.Attribute{
			"limits":   maps("Total GPUs in use at once, per family."),
			"requests": maps("GPUs of the largest single workload (pod), per family."),
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
			"limit":          schema.Int64Attribute{Computed: true, MarkdownDescription: "Total GPUs at once; null when unlimited."},
			"request":        schema.Int64Attribute{Computed: true, MarkdownDescription: "Largest workload; null when unlimited."},
			"limit_source":   schema.StringAttribute{Computed: true, MarkdownDescription: "Where the limit comes from."},
			"request_source": schema.StringAttribute{Computed: true, MarkdownDescription: "Where the request cap comes from."},
		}},
	}
}

// quotaFromModel converts gpu_quota; ok is false when a value is unknown.
// Values must be whole GPUs.
func quotaFromModel(m *gpuQuotaModel) (q quota.Quota, ok bool, diags diag.Diagnostics) {
	q = quota.Quota{Limits: map[string]int64{}, Requests: map[string]int64{}}
	if m == nil {
		return q, true, nil
	}
	ok = true
	for _, part := range []struct {
		name string
		v    types.Map
		out  map[string]int64
	}{{"limits", m.Limits, q.Limits}, {"requests", m.Requests, q.Requests}} {
		if part.v.IsUnknown() {
			ok = false
			continue
		}
		for k, el := range part.v.Elements() {
			n, isNum := el.(types.Number)
			if !isNum || n.IsUnknown() {
				ok = false
				continue
			}
			if n.IsNull() {
				diags.AddAttributeError(path.Root("gpu_quota").AtName(part.name).AtMapKey(k), "Missing GPU count",
					fmt.Sprintf("gpu_quota.%s[%q] is null; give a whole number of GPUs, or remove the key.", part.name, k))
				continue
			}
			f := n.ValueBigFloat()
			i, acc := f.Int64()
			if !f.IsInt() || acc != big.Exact {
				diags.AddAttributeError(path.Root("gpu_quota").AtName(part.name).AtMapKey(k), "GPU counts are whole numbers",
					fmt.Sprintf("gpu_quota.%s[%q] = %s; a quota counts whole GPUs, such as 1 or 8. For a slice of a GPU, "+
						"add a MIG profile (e.g. nvidia.com/mig-1g.10gb) as a family of the dataplane catalog.", part.name, k, f.Text('g', -1)))
				continue
			}
			part.out[k] = i
		}
	}
	return q, ok, diags
}

// quotaToModel is the inverse of quotaFromModel for Read and import. An
// empty quota reads back as prior when prior holds no values, so that
// `gpu_quota = {}` does not show a diff.
func quotaToModel(q crds.GPUQuota, prior *gpuQuotaModel) *gpuQuotaModel {
	if len(q.Limits) == 0 && len(q.Requests) == 0 {
		return prior
	}
	conv := func(m map[string]int64) types.Map {
		if len(m) == 0 {
			return types.MapNull(types.NumberType)
		}
		els := map[string]attr.Value{}
		for k, v := range m {
			els[k] = types.NumberValue(new(big.Float).SetInt64(v))
		}
		return types.MapValueMust(types.NumberType, els)
	}
	return &gpuQuotaModel{Limits: conv(q.Limits), Requests: conv(q.Requests)}
}

func crdQuota(q quota.Quota) crds.GPUQuota {
	return crds.GPUQuota{Limits: q.Limits, Requests: q.Requests}
}

func quotaFromCRD(q crds.GPUQuota) quota.Quota {
	out := quota.Quota{Limits: q.Limits, Requests: q.Requests}
	if out.Limits == nil {
		out.Limits = map[string]int64{}
	}
	if out.Requests == nil {
		out.Requests = map[string]int64{}
	}
	return out
}

// effectiveValue renders an effective quota as the effective_gpu_quota attribute.
func effectiveValue(s quota.Scope) types.Map {
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

// addProblems reports quota problems as diagnostics on the gpu_quota path.
func addProblems(diags *diag.Diagnostics, problems []quota.Problem) {
	for _, p := range problems {
		at := path.Root("gpu_quota")
		if len(p.Attribute) == 2 {
			at = at.AtName(p.Attribute[0]).AtMapKey(p.Attribute[1])
		}
		if p.Severity == quota.Warning {
			diags.AddAttributeWarning(at, p.Summary, p.Detail)
		} else {
			diags.AddAttributeError(at, p.Summary, p.Detail)
		}
	}
}

// catalogFromSpec converts a dataplane's catalog.
func catalogFromSpec(spec crds.DataplaneSpec) quota.Catalog {
	c := quota.Catalog{}
	for name, f := range spec.GPUFamilies {
		c[name] = quota.Family{ResourceName: f.ResourceName, DeviceClass: f.DeviceClass, NodeSelector: f.NodeSelector}
	}
	return c
}
