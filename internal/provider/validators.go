package provider

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/terraform-plugin-framework/schema/validator"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// k8sNameValidator checks a string with one of apimachinery's validators and
// reports its messages with the value and a fix.
type k8sNameValidator struct {
	what  string
	check func(string) []string
}

func (v k8sNameValidator) Description(context.Context) string { return "must be a valid " + v.what }
func (v k8sNameValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (v k8sNameValidator) ValidateString(_ context.Context, req validator.StringRequest, resp *validator.StringResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	if errs := v.check(req.ConfigValue.ValueString()); len(errs) > 0 {
		resp.Diagnostics.AddAttributeError(req.Path, "Invalid "+v.what,
			fmt.Sprintf("%q is not a valid %s: %s.", req.ConfigValue.ValueString(), v.what, strings.Join(errs, "; ")))
	}
}

// dnsLabel: names of namespaced and cluster objects that become namespaces.
func dnsLabel() validator.String {
	return k8sNameValidator{"DNS-1123 label (lower-case letters, digits and '-', at most 63)", validation.IsDNS1123Label}
}

func dnsSubdomain() validator.String {
	return k8sNameValidator{"DNS-1123 subdomain", validation.IsDNS1123Subdomain}
}

// extendedResourceName: a domain-prefixed resource such as nvidia.com/gpu.
func extendedResourceName() validator.String {
	return k8sNameValidator{"extended resource name (like nvidia.com/gpu)", func(s string) []string {
		errs := validation.IsQualifiedName(s)
		if !strings.Contains(s, "/") || strings.HasPrefix(s, "requests.") || strings.HasPrefix(s, "limits.") {
			errs = append(errs, "write the plain resource name with its domain prefix, e.g. nvidia.com/gpu, "+
				"not a quota key such as requests.nvidia.com/gpu")
		}
		return errs
	}}
}

// labelMapValidator checks label keys and values.
type labelMapValidator struct{}

func labelMap() validator.Map { return labelMapValidator{} }

func (labelMapValidator) Description(context.Context) string {
	return "keys must be label keys and values label values"
}
func (v labelMapValidator) MarkdownDescription(ctx context.Context) string { return v.Description(ctx) }

func (labelMapValidator) ValidateMap(_ context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k, v := range req.ConfigValue.Elements() {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid label key",
				fmt.Sprintf("%q is not a valid label key: %s.", k, strings.Join(errs, "; ")))
		}
		s, ok := v.(interface{ ValueString() string })
		if !ok || v.IsUnknown() || v.IsNull() {
			continue
		}
		if errs := validation.IsValidLabelValue(s.ValueString()); len(errs) > 0 {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Invalid label value",
				fmt.Sprintf("%q is not a valid label value: %s.", s.ValueString(), strings.Join(errs, "; ")))
		}
	}
}

// qualifiedName: "<tenant>/<name>" or the DataOS form "<tenant>:<name>".
func qualifiedName() validator.String {
	return k8sNameValidator{"<tenant>/<name> (or <tenant>:<name>)", func(s string) []string {
		t, n, ok := splitQualified(s)
		if !ok {
			return []string{"write it as <tenant>/<name>, e.g. research/vision"}
		}
		return append(validation.IsDNS1123Label(t), validation.IsDNS1123Label(n)...)
	}}
}

// userLabels checks the labels users add to a tenant's or project's
// objects: valid label keys and values, and none of gpuplane's own keys.
func userLabels() validator.Map { return userLabelsValidator{} }

type userLabelsValidator struct{}

func (userLabelsValidator) Description(context.Context) string {
	return "keys must be label keys outside " + platform.LabelDomain + "/ and other than " + platform.LabelManagedBy +
		", and values label values"
}
func (v userLabelsValidator) MarkdownDescription(ctx context.Context) string {
	return v.Description(ctx)
}

func (userLabelsValidator) ValidateMap(ctx context.Context, req validator.MapRequest, resp *validator.MapResponse) {
	labelMapValidator{}.ValidateMap(ctx, req, resp)
	if req.ConfigValue.IsNull() || req.ConfigValue.IsUnknown() {
		return
	}
	for k := range req.ConfigValue.Elements() {
		if platform.IsReservedLabelKey(k) {
			resp.Diagnostics.AddAttributeError(req.Path.AtMapKey(k), "Reserved label key",
				fmt.Sprintf("%s[%q]: gpuplane sets %s and every key under %s/ (or a subdomain of it) itself, and relies on "+
					"them to tell its objects apart. Choose a key of your own domain, e.g. %q.",
					req.Path, k, platform.LabelManagedBy, platform.LabelDomain, "example.com/"+lastSegment(k)))
		}
	}
}

func lastSegment(key string) string {
	if i := strings.LastIndex(key, "/"); i >= 0 {
		return key[i+1:]
	}
	return key
}
