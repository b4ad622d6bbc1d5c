package provider

import (
	"context"

	"github.com/hashicorp/terraform-plugin-framework/attr"
	"github.com/hashicorp/terraform-plugin-framework/types"
)

// Conversions of plain Go values to and from Terraform values. Empty
// collections mean the same as omitted (modules pass `{}` and `[]` as
// defaults): gpuplane stores neither, and reads them back as null, or as
// the empty value the prior state holds, so that neither form shows a diff.

func optionalString(s string) types.String {
	if s == "" {
		return types.StringNull()
	}
	return types.StringValue(s)
}

func optionalList(s []string) types.List {
	if len(s) == 0 {
		return types.ListNull(types.StringType)
	}
	return types.ListValueMust(types.StringType, stringValues(s))
}

func optionalMap(m map[string]string) types.Map {
	if len(m) == 0 {
		return types.MapNull(types.StringType)
	}
	v, _ := types.MapValueFrom(context.Background(), types.StringType, m)
	return v
}

// listOrPrior is optionalList, except that an empty list reads back as
// prior when prior is an empty list too (the configuration wrote []).
func listOrPrior(s []string, prior types.List) types.List {
	if len(s) == 0 && !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
		return prior
	}
	return optionalList(s)
}

// mapOrPrior is optionalMap, except that an empty map reads back as prior
// when prior is an empty map too (the configuration wrote {}).
func mapOrPrior(m map[string]string, prior types.Map) types.Map {
	if len(m) == 0 && !prior.IsNull() && !prior.IsUnknown() && len(prior.Elements()) == 0 {
		return prior
	}
	return optionalMap(m)
}

func stringValues(s []string) []attr.Value {
	out := make([]attr.Value, len(s))
	for i, v := range s {
		out[i] = types.StringValue(v)
	}
	return out
}

func int64Values(m map[string]int64) map[string]attr.Value {
	out := map[string]attr.Value{}
	for k, v := range m {
		out[k] = types.Int64Value(v)
	}
	return out
}

// stringMap converts a map(string); known is false when any part is unknown.
func stringMap(m types.Map) (map[string]string, bool) {
	if m.IsUnknown() {
		return nil, false
	}
	out := map[string]string{}
	for k, v := range m.Elements() {
		s, ok := v.(types.String)
		if !ok || s.IsUnknown() {
			return nil, false
		}
		out[k] = s.ValueString()
	}
	return out, true
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
