package platform

import "testing"

func TestIsReservedLabelKey(t *testing.T) {
	for key, want := range map[string]bool{
		"app.kubernetes.io/managed-by":        true,
		"tenancy.gpuplane.dev/tenant":         true,
		"tenancy.gpuplane.dev/project":        true,
		"tenancy.gpuplane.dev/membership":     true, // left out before: the membership sync then deleted the project's bindings
		"tenancy.gpuplane.dev/anything-else":  true,
		"attached.tenancy.gpuplane.dev/other": true,
		"app.kubernetes.io/name":              false,
		"cost-center":                         false,
		"example.com/tenancy.gpuplane.dev":    false,
		"nottenancy.gpuplane.dev/x":           false,
		"gpuplane.dev/team":                   false,
	} {
		if got := IsReservedLabelKey(key); got != want {
			t.Errorf("IsReservedLabelKey(%q) = %v, want %v", key, got, want)
		}
	}
}

// TestProjectLabelsKeepGpuplanesOwn: user and tenant labels never replace or
// add gpuplane's keys, even when they come from an object written before the
// plan-time rule (or by hand).
func TestProjectLabelsKeepGpuplanesOwn(t *testing.T) {
	tenantLabels := map[string]string{"cost-center": "r-42", LabelManagedBy: "someone-else", "team": "tenant"}
	user := map[string]string{"team": "vision", LabelMembership: "research.alice", LabelTenant: "other"}
	got := ProjectLabels("research", "vision", tenantLabels, user)
	want := map[string]string{
		LabelManagedBy: ManagedBy, LabelTenant: "research", LabelProject: "vision",
		"cost-center": "r-42", "team": "vision",
	}
	if len(got) != len(want) {
		t.Fatalf("ProjectLabels = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ProjectLabels[%q] = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if tl := TenantLabels("research", user); tl[LabelMembership] != "" || tl[LabelTenant] != "research" {
		t.Errorf("TenantLabels = %v: the membership label leaked or the tenant label was replaced", tl)
	}
}
