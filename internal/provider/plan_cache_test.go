package provider

import (
	"testing"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// TestOvercommitWarningOncePerTenant: the tenant and each of its projects
// find the overcommit warning; a run says it once per tenant.
func TestOvercommitWarningOncePerTenant(t *testing.T) {
	d := &providerData{plans: newPlanCache()}
	warning := quota.Problem{Severity: quota.Warning, Summary: quota.OvercommitSummary}
	other := quota.Problem{Severity: quota.Error, Summary: "Project GPU limit above its tenant's"}
	if got := d.onceForTenant("research", []quota.Problem{warning, other}); len(got) != 2 {
		t.Fatalf("first time: %v, want both problems", got)
	}
	if got := d.onceForTenant("research", []quota.Problem{warning, other}); len(got) != 1 || got[0].Summary != other.Summary {
		t.Fatalf("second time: %v, want only the error", got)
	}
	if got := d.onceForTenant("other", []quota.Problem{warning}); len(got) != 1 {
		t.Fatalf("another tenant: %v, want its warning", got)
	}
}

// TestClaims: a second owner of a key is refused and named; the same owner
// (a replacement is planned twice) is not.
func TestClaims(t *testing.T) {
	p := newPlanCache()
	if _, ok := p.claim("namespace/a-b", `tenant "a-b"`); !ok {
		t.Fatal("first claim refused")
	}
	if _, ok := p.claim("namespace/a-b", `tenant "a-b"`); !ok {
		t.Fatal("the same owner's second claim refused")
	}
	if prior, ok := p.claim("namespace/a-b", `project "a/b"`); ok || prior != `tenant "a-b"` {
		t.Fatalf("claim by another owner = %q, %v; want refused, naming the first", prior, ok)
	}
}
