package quota

import (
	"math/big"
	"strings"
	"testing"
)

// TestParseCount: the one parser of GPU counts that the resources and the
// effective_gpu_quota function share.
func TestParseCount(t *testing.T) {
	for _, tc := range []struct {
		in   *big.Float
		want int64
		err  []string
	}{
		{big.NewFloat(0), 0, nil},
		{big.NewFloat(8), 8, nil},
		{new(big.Float).SetInt64(1 << 40), 1 << 40, nil},
		{big.NewFloat(0.5), 0, []string{"0.5: GPU counts are whole numbers >= 0", "whole GPUs", "MIG profile"}},
		{big.NewFloat(-1), 0, []string{"-1: GPU counts are whole numbers >= 0 (0 forbids the family)"}},
		{new(big.Float).SetFloat64(1e30), 0, []string{"GPU counts are whole numbers"}},
		{nil, 0, []string{"null: give a whole number of GPUs, or remove the key"}},
	} {
		got, err := ParseCount(tc.in)
		switch {
		case tc.err == nil && (err != nil || got != tc.want):
			t.Errorf("ParseCount(%v) = %d, %v; want %d", tc.in, got, err, tc.want)
		case tc.err != nil && err == nil:
			t.Errorf("ParseCount(%v) = %d; want an error", tc.in, got)
		case tc.err != nil:
			for _, frag := range tc.err {
				if !strings.Contains(err.Error(), frag) {
					t.Errorf("ParseCount(%v) error %q lacks %q", tc.in, err, frag)
				}
			}
		}
	}
}

// TestOvercommitIsOneWarning: with overcommit, the sums of all families go
// into one warning, so a plan says it once per tenant.
func TestOvercommitIsOneWarning(t *testing.T) {
	tenant := TenantEffective(Quota{Limits: map[string]int64{"A": 4, "B": 2}}, []string{"A", "B"})
	projects := map[string]Scope{}
	for _, n := range []string{"x", "y"} {
		projects[n] = ProjectEffective(tenant, Quota{}, []string{"A", "B"})
	}
	got := CheckTenantTotal("research", tenant, projects, true)
	if len(got) != 1 || got[0].Severity != Warning || got[0].Summary != OvercommitSummary {
		t.Fatalf("CheckTenantTotal = %v, want one overcommit warning", got)
	}
	for _, frag := range []string{`tenant "research": family A: the projects' limits add up to 8 (x = 4 (inherited), y = 4 (inherited)), above the tenant's 4`,
		"; family B: the projects' limits add up to 4", "not refused at admission"} {
		if !strings.Contains(got[0].Detail, frag) {
			t.Errorf("warning %q lacks %q", got[0].Detail, frag)
		}
	}
}

// TestRulesWaitForFamiliesKnownOnlyAtApply: a family whose resource is not
// known yet shares nothing, and keys are still checked.
func TestRulesWaitForFamiliesKnownOnlyAtApply(t *testing.T) {
	c := Catalog{"A": {}, "B": {}, "C": {ResourceName: "nvidia.com/gpu"}}
	eff := TenantEffective(Quota{Limits: map[string]int64{"Default": 1}}, c.Names())
	if got := CheckSharedResources(eff, c, "s"); len(got) != 0 {
		t.Errorf("CheckSharedResources with unknown resources = %v, want none", got)
	}
	got := CheckKeys(Quota{Limits: map[string]int64{"default": 1}}, c, "s")
	if len(got) != 1 || !strings.Contains(got[0].Detail, `Write "Default", with a capital D.`) {
		t.Errorf("CheckKeys(default) = %v, want the capital-D hint", got)
	}
}
