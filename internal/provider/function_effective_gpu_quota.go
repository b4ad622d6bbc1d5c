package provider

import (
	"context"
	"fmt"
	"sort"

	"github.com/hashicorp/terraform-plugin-framework/function"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var _ function.Function = (*effectiveGPUQuotaFunction)(nil)

// NewEffectiveGPUQuotaFunction returns provider::gpuplane::effective_gpu_quota.
func NewEffectiveGPUQuotaFunction() function.Function { return &effectiveGPUQuotaFunction{} }

type effectiveGPUQuotaFunction struct{}

func (f *effectiveGPUQuotaFunction) Metadata(_ context.Context, _ function.MetadataRequest, resp *function.MetadataResponse) {
	resp.Name = "effective_gpu_quota"
}

func (f *effectiveGPUQuotaFunction) Definition(_ context.Context, _ function.DefinitionRequest, resp *function.DefinitionResponse) {
	quotaParam := func(name, desc string, allowNull bool) function.MapParameter {
		return function.MapParameter{
			Name: name, ElementType: types.MapType{ElemType: types.NumberType}, AllowNullValue: allowNull,
			MarkdownDescription: desc + " Written like a resource's `gpu_quota`: `{ limits = {...}, requests = {...} }`; either may be left out.",
		}
	}
	resp.Definition = function.Definition{
		Summary: "Effective GPU quota of a project within its tenant",
		MarkdownDescription: "Computes what `gpuplane_project.effective_gpu_quota` shows, without a cluster: for each family, " +
			"the project's own value, else its `Default`, else the tenant's effective value (the tenant's own, else its " +
			"`Default`, else unlimited). A request cap a scope does not set itself is at most its limit. Returns a map " +
			"from family to `{ limit, request, limit_source, request_source }`; `limit` and `request` are null when unlimited. " +
			"Pass a null project quota for the tenant's own effective quota.",
		Parameters: []function.Parameter{
			quotaParam("tenant_quota", "The tenant's quota.", false),
			quotaParam("project_quota", "The project's quota, or null.", true),
			function.ListParameter{Name: "families", ElementType: types.StringType,
				MarkdownDescription: "The GPU families of the dataplane catalog, e.g. `keys(gpuplane_dataplane.main.gpu_families)`."},
		},
		Return: function.MapReturn{ElementType: types.ObjectType{AttrTypes: effectiveQuotaAttrTypes}},
	}
}

func (f *effectiveGPUQuotaFunction) Run(ctx context.Context, req function.RunRequest, resp *function.RunResponse) {
	var tenantArg, projectArg types.Map
	var families []string
	resp.Error = function.ConcatFuncErrors(resp.Error, req.Arguments.Get(ctx, &tenantArg, &projectArg, &families))
	if resp.Error != nil {
		return
	}
	// The catalog's names are all the rules need: a family's resource does
	// not change its effective quota.
	cat := quota.Catalog{}
	for _, f := range families {
		cat[f] = quota.Family{}
	}
	tq, err := expandQuotaArgument(tenantArg, 0, cat, "tenant_quota")
	if err != nil {
		resp.Error = err
		return
	}
	eff := quota.TenantEffective(tq, families)
	if !projectArg.IsNull() {
		pq, err := expandQuotaArgument(projectArg, 1, cat, "project_quota")
		if err != nil {
			resp.Error = err
			return
		}
		eff = quota.ProjectEffective(eff, pq, families)
	}
	resp.Error = function.ConcatFuncErrors(resp.Error, resp.Result.Set(ctx, flattenEffectiveQuota(eff)))
}

// expandQuotaArgument converts a { limits = {...}, requests = {...} }
// argument; it refuses what the resources refuse (rule 1: counts read by
// quota.ParseCount, keys that are catalog families or Default), with the
// same messages.
func expandQuotaArgument(m types.Map, position int64, cat quota.Catalog, name string) (quota.Quota, *function.FuncError) {
	q := quota.Quota{Limits: map[string]int64{}, Requests: map[string]int64{}}
	parts := map[string]map[string]int64{"limits": q.Limits, "requests": q.Requests}
	var keys []string
	for k := range m.Elements() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out, ok := parts[k]
		if !ok {
			return q, function.NewArgumentFuncError(position, fmt.Sprintf("unexpected key %q: a GPU quota has only limits and requests", k))
		}
		inner, _ := m.Elements()[k].(types.Map)
		for family, v := range inner.Elements() {
			n, _ := v.(types.Number)
			count, err := quota.ParseCount(n.ValueBigFloat())
			if err != nil {
				return q, function.NewArgumentFuncError(position, fmt.Sprintf("%s[%q] = %s", k, family, err))
			}
			out[family] = count
		}
	}
	if problems := quota.CheckKeys(q, cat, name); len(problems) > 0 {
		return q, function.NewArgumentFuncError(position, problems[0].Detail)
	}
	return q, nil
}
