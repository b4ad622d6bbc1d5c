package platform

import "strings"

// The labels gpuplane puts on the objects it writes. The tenant label is
// also the billing tag: every object of a tenant is found by it.
const (
	LabelManagedBy = "app.kubernetes.io/managed-by"
	ManagedBy      = "terraform-provider-gpuplane"

	// LabelDomain is gpuplane's own label domain; user labels may not use it.
	LabelDomain     = "tenancy.gpuplane.dev"
	LabelTenant     = LabelDomain + "/tenant"
	LabelProject    = LabelDomain + "/project"
	LabelMembership = LabelDomain + "/membership" // <tenant>.<membership>, on a membership's RoleBindings

	// LabelAttachedPrefix marks a compute with each tenant that attaches it
	// (attached.tenancy.gpuplane.dev/<tenant>); each tenant owns its own label.
	LabelAttachedPrefix = "attached." + LabelDomain + "/"
)

// ManagedSelector selects every object gpuplane wrote.
const ManagedSelector = LabelManagedBy + "=" + ManagedBy

// IsManaged reports whether labels mark an object as written by gpuplane.
func IsManaged(labels map[string]string) bool { return labels[LabelManagedBy] == ManagedBy }

// IsReservedLabelKey reports whether a label key is gpuplane's to set: the
// managed-by label, or any key in gpuplane's label domain or a subdomain of
// it. A user label with such a key would make gpuplane mistake one object
// for another (a project labelled as a membership's binding loses its
// RoleBindings to the membership sync).
func IsReservedLabelKey(key string) bool {
	if key == LabelManagedBy {
		return true
	}
	prefix, _, found := strings.Cut(key, "/")
	return found && (prefix == LabelDomain || strings.HasSuffix(prefix, "."+LabelDomain))
}

// ManagedLabels returns extra plus the managed-by label.
func ManagedLabels(extra map[string]string) map[string]string {
	l := map[string]string{LabelManagedBy: ManagedBy}
	for k, v := range extra {
		l[k] = v
	}
	return l
}

// TenantLabels are the labels of a tenant's objects: the user's, then gpuplane's.
func TenantLabels(tenant string, user map[string]string) map[string]string {
	l := ManagedLabels(withoutReserved(user))
	l[LabelTenant] = tenant
	return l
}

// ProjectLabels are the labels of a project's objects: the tenant's and the
// project's own (the project's win), then gpuplane's.
func ProjectLabels(tenant, project string, tenantLabels, user map[string]string) map[string]string {
	l := ManagedLabels(withoutReserved(tenantLabels))
	for k, v := range withoutReserved(user) {
		l[k] = v
	}
	l[LabelTenant] = tenant
	l[LabelProject] = project
	return l
}

// withoutReserved drops reserved keys: plan-time validation refuses them,
// and an object written before that rule (or by hand) must not carry them
// into gpuplane's own labels.
func withoutReserved(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !IsReservedLabelKey(k) {
			out[k] = v
		}
	}
	return out
}
