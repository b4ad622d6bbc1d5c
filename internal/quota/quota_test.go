package quota

import (
	"reflect"
	"strings"
	"testing"
)

var catalog = Catalog{
	"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"},
	"NVIDIA-A100": {ResourceName: "nvidia.com/mig-1g.10gb"},
	"NVIDIA-B200": {DeviceClass: "b200.nvidia.com"},
}

var families = catalog.Names()

func v(n int64, s Source) Value { return Value{N: n, Source: s} }

var unl = Value{Unlimited: true, Source: SourceUnlimited}

// The design's example: tenant research, project vision.
var research = Quota{
	Limits:   map[string]int64{"NVIDIA-H100": 48, "Default": 16},
	Requests: map[string]int64{"NVIDIA-H100": 8, "Default": 4},
}

func TestTenantEffective(t *testing.T) {
	tests := map[string]struct {
		q    Quota
		want Scope
	}{
		"empty is unlimited": {Quota{}, Scope{
			"NVIDIA-A100": {unl, unl}, "NVIDIA-B200": {unl, unl}, "NVIDIA-H100": {unl, unl},
		}},
		"own and Default": {research, Scope{
			"NVIDIA-H100": {v(48, SourceTenant), v(8, SourceTenant)},
			"NVIDIA-A100": {v(16, SourceTenantDefault), v(4, SourceTenantDefault)},
			"NVIDIA-B200": {v(16, SourceTenantDefault), v(4, SourceTenantDefault)},
		}},
		"limits only: the request cap is the limit": {Quota{Limits: map[string]int64{"NVIDIA-H100": 4}}, Scope{
			"NVIDIA-H100": {v(4, SourceTenant), v(4, SourceTenant)},
			"NVIDIA-A100": {unl, unl}, "NVIDIA-B200": {unl, unl},
		}},
		"zero forbids": {Quota{Limits: map[string]int64{"Default": 0}}, Scope{
			"NVIDIA-H100": {v(0, SourceTenantDefault), v(0, SourceTenantDefault)},
			"NVIDIA-A100": {v(0, SourceTenantDefault), v(0, SourceTenantDefault)},
			"NVIDIA-B200": {v(0, SourceTenantDefault), v(0, SourceTenantDefault)},
		}},
		"own beats Default even when larger": {Quota{Limits: map[string]int64{"NVIDIA-A100": 100, "Default": 1}}, Scope{
			"NVIDIA-H100": {v(1, SourceTenantDefault), v(1, SourceTenantDefault)},
			"NVIDIA-A100": {v(100, SourceTenant), v(100, SourceTenant)},
			"NVIDIA-B200": {v(1, SourceTenantDefault), v(1, SourceTenantDefault)},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := TenantEffective(tc.q, families); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestProjectEffective(t *testing.T) {
	tenant := TenantEffective(research, families)
	tests := map[string]struct {
		tenant Scope
		q      Quota
		want   Scope
	}{
		"design example: vision": {tenant, Quota{Limits: map[string]int64{"NVIDIA-H100": 16}, Requests: map[string]int64{"NVIDIA-H100": 4}}, Scope{
			"NVIDIA-H100": {v(16, SourceProject), v(4, SourceProject)},
			"NVIDIA-A100": {v(16, SourceInherited), v(4, SourceInherited)},
			"NVIDIA-B200": {v(16, SourceInherited), v(4, SourceInherited)},
		}},
		"inherits everything": {tenant, Quota{}, Scope{
			"NVIDIA-H100": {v(48, SourceInherited), v(8, SourceInherited)},
			"NVIDIA-A100": {v(16, SourceInherited), v(4, SourceInherited)},
			"NVIDIA-B200": {v(16, SourceInherited), v(4, SourceInherited)},
		}},
		"project Default beats tenant": {tenant, Quota{Limits: map[string]int64{"Default": 2}}, Scope{
			"NVIDIA-H100": {v(2, SourceProjectDefault), v(2, SourceProjectDefault)},
			"NVIDIA-A100": {v(2, SourceProjectDefault), v(2, SourceProjectDefault)},
			"NVIDIA-B200": {v(2, SourceProjectDefault), v(2, SourceProjectDefault)},
		}},
		"own beats project Default": {tenant, Quota{Limits: map[string]int64{"NVIDIA-H100": 6, "Default": 1}, Requests: map[string]int64{"Default": 1}}, Scope{
			"NVIDIA-H100": {v(6, SourceProject), v(1, SourceProjectDefault)},
			"NVIDIA-A100": {v(1, SourceProjectDefault), v(1, SourceProjectDefault)},
			"NVIDIA-B200": {v(1, SourceProjectDefault), v(1, SourceProjectDefault)},
		}},
		"inherited request capped at own limit": {tenant, Quota{Limits: map[string]int64{"NVIDIA-H100": 3}}, Scope{
			"NVIDIA-H100": {v(3, SourceProject), v(3, SourceProject)},
			"NVIDIA-A100": {v(16, SourceInherited), v(4, SourceInherited)},
			"NVIDIA-B200": {v(16, SourceInherited), v(4, SourceInherited)},
		}},
		"unlimited tenant: unlimited, not inherited": {TenantEffective(Quota{}, families), Quota{Limits: map[string]int64{"NVIDIA-H100": 2}}, Scope{
			"NVIDIA-H100": {v(2, SourceProject), v(2, SourceProject)},
			"NVIDIA-A100": {unl, unl},
			"NVIDIA-B200": {unl, unl},
		}},
		"own request above own limit is kept (rule 2 reports it)": {tenant, Quota{Limits: map[string]int64{"NVIDIA-H100": 2}, Requests: map[string]int64{"NVIDIA-H100": 4}}, Scope{
			"NVIDIA-H100": {v(2, SourceProject), v(4, SourceProject)},
			"NVIDIA-A100": {v(16, SourceInherited), v(4, SourceInherited)},
			"NVIDIA-B200": {v(16, SourceInherited), v(4, SourceInherited)},
		}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := ProjectEffective(tc.tenant, tc.q, families); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestEffectiveDoesNotDependOnOrder(t *testing.T) {
	// Rancher's remainder quotas depend on creation order; ours cannot:
	// a project's effective quota is a function of its own and its tenant's.
	tenant := TenantEffective(research, families)
	a := Quota{Limits: map[string]int64{"NVIDIA-H100": 10}}
	first := ProjectEffective(tenant, a, families)
	_ = ProjectEffective(tenant, Quota{Limits: map[string]int64{"NVIDIA-H100": 30}}, families)
	if again := ProjectEffective(tenant, a, families); !reflect.DeepEqual(first, again) {
		t.Fatal("effective quota changed with other projects")
	}
}

func TestHardPodMaxLockdown(t *testing.T) {
	tenant := TenantEffective(Quota{Limits: map[string]int64{"NVIDIA-H100": 8}, Requests: map[string]int64{"NVIDIA-H100": 2}}, families)
	p := ProjectEffective(tenant, Quota{Limits: map[string]int64{"NVIDIA-B200": 3}, Requests: map[string]int64{"NVIDIA-B200": 1}}, families)
	if got, want := Hard(p, catalog), map[string]int64{
		"requests.nvidia.com/gpu-h100":                        8,
		"b200.nvidia.com.deviceclass.resource.k8s.io/devices": 3,
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("Hard = %v, want %v (unlimited A100 has no line)", got, want)
	}
	if got, want := PodMax(p, catalog), map[string]int64{"nvidia.com/gpu-h100": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("PodMax = %v, want %v (DRA families have no per-pod cap yet)", got, want)
	}
	if got, want := Lockdown(catalog), map[string]int64{
		"requests.nvidia.com/gpu-h100": 0, "requests.nvidia.com/mig-1g.10gb": 0,
		"b200.nvidia.com.deviceclass.resource.k8s.io/devices": 0,
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lockdown = %v, want %v", got, want)
	}
}

// problemsMatch asserts the problems' count and that each detail holds its substrings.
func problemsMatch(t *testing.T, got []Problem, want ...[]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems %v, want %d", len(got), got, len(want))
	}
	for i, subs := range want {
		for _, s := range subs {
			if !strings.Contains(got[i].Detail, s) {
				t.Errorf("problem %d %q lacks %q", i, got[i].Detail, s)
			}
		}
	}
}

func TestCheckKeys(t *testing.T) {
	tests := map[string]struct {
		q    Quota
		want [][]string
	}{
		"valid":                             {research, nil},
		"empty":                             {Quota{}, nil},
		"unknown family":                    {Quota{Limits: map[string]int64{"NVIDIA-V100": 1}}, [][]string{{`"NVIDIA-V100"`, "NVIDIA-A100, NVIDIA-B200, NVIDIA-H100", `"Default"`}}},
		"raw quota key":                     {Quota{Limits: map[string]int64{"requests.nvidia.com/gpu": 1}}, [][]string{{"not a Kubernetes resource or quota key"}}},
		"raw resource":                      {Quota{Requests: map[string]int64{"nvidia.com/gpu": 1}}, [][]string{{`gpu_quota.requests["nvidia.com/gpu"]`, "gpuplane writes"}}},
		"negative":                          {Quota{Limits: map[string]int64{"Default": -1}}, [][]string{{`gpu_quota.limits["Default"] = -1`, ">= 0"}}},
		"lower-case default is not Default": {Quota{Limits: map[string]int64{"default": 1}}, [][]string{{`"default"`}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			problemsMatch(t, CheckKeys(tc.q, catalog, `tenant "research"`), tc.want...)
		})
	}
}

func TestCheckRequestsWithinLimits(t *testing.T) {
	tests := map[string]struct {
		tenant, project *Quota
		want            [][]string
	}{
		"tenant ok":                {tenant: &research},
		"tenant request above own": {tenant: &Quota{Limits: map[string]int64{"NVIDIA-H100": 2}, Requests: map[string]int64{"NVIDIA-H100": 4}}, want: [][]string{{"family NVIDIA-H100", `gpu_quota.requests["NVIDIA-H100"] = 4 (from tenant)`, `gpu_quota.limits["NVIDIA-H100"] = 2 (from tenant)`}}},
		"tenant Default request above own limit": {tenant: &Quota{Limits: map[string]int64{"NVIDIA-H100": 2}, Requests: map[string]int64{"Default": 4}},
			want: [][]string{{"family NVIDIA-H100", `gpu_quota.requests["Default"] = 4 (from tenant-default)`}}},
		"tenant request with unlimited limit is fine": {tenant: &Quota{Requests: map[string]int64{"Default": 4}}},
		"tenant limit without requests is fine":       {tenant: &Quota{Limits: map[string]int64{"Default": 4}}},
		"project own request above own limit": {tenant: &research, project: &Quota{Limits: map[string]int64{"NVIDIA-H100": 2}, Requests: map[string]int64{"NVIDIA-H100": 3}},
			want: [][]string{{`gpu_quota.requests["NVIDIA-H100"] = 3 (from project)`, `gpu_quota.limits["NVIDIA-H100"] = 2 (from project)`}}},
		"project inherited request is capped, no error": {tenant: &research, project: &Quota{Limits: map[string]int64{"Default": 1}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s := TenantEffective(*tc.tenant, families)
			if tc.project != nil {
				s = ProjectEffective(s, *tc.project, families)
			}
			problemsMatch(t, CheckRequestsWithinLimits(s, "scope"), tc.want...)
		})
	}
}

func TestCheckProjectInTenant(t *testing.T) {
	tenant := TenantEffective(research, families)
	tests := map[string]struct {
		tenant Scope
		q      Quota
		want   [][]string
	}{
		"within":             {tenant, Quota{Limits: map[string]int64{"NVIDIA-H100": 48}}, nil},
		"inheriting is fine": {tenant, Quota{}, nil},
		"limit above": {tenant, Quota{Limits: map[string]int64{"NVIDIA-H100": 64}},
			[][]string{{`project "vision"`, `gpu_quota.limits["NVIDIA-H100"] = 64 (from project)`, `tenant "research"'s limit of 48 (tenant)`, "at most 48"}}},
		"Default above tenant Default": {tenant, Quota{Limits: map[string]int64{"Default": 20}},
			[][]string{{"family NVIDIA-A100", `gpu_quota.limits["Default"] = 20 (from project-default)`, "16 (tenant-default)"}, {"family NVIDIA-B200"}}},
		"request above": {tenant, Quota{Requests: map[string]int64{"NVIDIA-H100": 9}},
			[][]string{{`gpu_quota.requests["NVIDIA-H100"] = 9 (from project)`, "request cap of 8"}}},
		"anything under an unlimited tenant": {TenantEffective(Quota{}, families), Quota{Limits: map[string]int64{"Default": 1000}}, nil},
		"zero tenant forbids project GPUs": {TenantEffective(Quota{Limits: map[string]int64{"NVIDIA-H100": 0}}, families), Quota{Limits: map[string]int64{"NVIDIA-H100": 1}},
			[][]string{{`gpu_quota.limits["NVIDIA-H100"] = 1`, "limit of 0"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := ProjectEffective(tc.tenant, tc.q, families)
			problemsMatch(t, CheckProjectInTenant("research", tc.tenant, "vision", p), tc.want...)
		})
	}
}

func TestCheckTenantTotal(t *testing.T) {
	tq := Quota{Limits: map[string]int64{"NVIDIA-H100": 16}}
	tenant := TenantEffective(tq, families)
	proj := func(q Quota) Scope { return ProjectEffective(tenant, q, families) }
	h100 := func(n int64) Quota { return Quota{Limits: map[string]int64{"NVIDIA-H100": n}} }
	tests := map[string]struct {
		projects   map[string]Scope
		overcommit bool
		want       [][]string
		warnings   int
	}{
		"no projects":     {map[string]Scope{}, false, nil, 0},
		"sum fits":        {map[string]Scope{"a": proj(h100(8)), "b": proj(h100(8))}, false, nil, 0},
		"one inherits":    {map[string]Scope{"a": proj(Quota{})}, false, nil, 0},
		"sum exceeds":     {map[string]Scope{"a": proj(h100(8)), "b": proj(h100(9))}, false, [][]string{{"add up to 17", "a = 8 (project), b = 9 (project)", "limit of 16", "overcommit = true"}}, 0},
		"inheriting adds": {map[string]Scope{"a": proj(h100(1)), "b": proj(Quota{})}, false, [][]string{{"add up to 17", "b = 16 (inherited)", "Project(s) b set no limit", "explicit"}}, 0},
		"overcommit warns": {map[string]Scope{"a": proj(h100(16)), "b": proj(h100(16))}, true,
			[][]string{{"add up to 32", "not refused at admission"}}, 1},
		"project Default counts": {map[string]Scope{"a": proj(Quota{Limits: map[string]int64{"Default": 10}}), "b": proj(h100(7))}, false,
			[][]string{{"a = 10 (project-default)"}}, 0},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := CheckTenantTotal("research", tenant, tc.projects, tc.overcommit)
			problemsMatch(t, got, tc.want...)
			if w := len(got) - len(Errors(got)); w != tc.warnings {
				t.Errorf("%d warnings, want %d", w, tc.warnings)
			}
		})
	}
}

func TestCheckSharedResources(t *testing.T) {
	shared := Catalog{
		"H100-a": {ResourceName: "nvidia.com/gpu"},
		"H100-b": {ResourceName: "nvidia.com/gpu"},
		"A100":   {ResourceName: "nvidia.com/mig-1g.10gb"},
	}
	names := shared.Names()
	tests := map[string]struct {
		q    Quota
		want [][]string
	}{
		"no quota on shared families": {Quota{Limits: map[string]int64{"A100": 2}}, nil},
		"quota on one shared family": {Quota{Limits: map[string]int64{"H100-b": 2}},
			[][]string{{"H100-a, H100-b", "nvidia.com/gpu", "MIG profiles", "DRA device classes"}}},
		"Default reaches shared families": {Quota{Limits: map[string]int64{"Default": 2}}, [][]string{{"H100-a, H100-b"}}},
		"a request alone counts too":      {Quota{Requests: map[string]int64{"H100-a": 1}}, [][]string{{"requests = 1"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			problemsMatch(t, CheckSharedResources(TenantEffective(tc.q, names), shared, "tenant"), tc.want...)
		})
	}
}

func TestBelowUsage(t *testing.T) {
	s := TenantEffective(Quota{Limits: map[string]int64{"NVIDIA-H100": 4}}, families)
	got := BelowUsage(s, catalog, map[string]int64{"requests.nvidia.com/gpu-h100": 6, "requests.nvidia.com/mig-1g.10gb": 99}, `project "vision"`)
	problemsMatch(t, got, []string{"family NVIDIA-H100", "6 GPUs are in use", "new limit is 4"})
	if got[0].Severity != Warning {
		t.Error("below usage must be a warning, not an error")
	}
	if got := BelowUsage(s, catalog, map[string]int64{"requests.nvidia.com/gpu-h100": 4}, "x"); len(got) != 0 {
		t.Errorf("usage equal to the limit is fine, got %v", got)
	}
}

func TestValueOrder(t *testing.T) {
	if !v(1, "").LessOrEqual(unl) || unl.LessOrEqual(v(100, "")) || !unl.LessOrEqual(unl) || v(3, "").LessOrEqual(v(2, "")) {
		t.Fatal("unlimited must be the largest value")
	}
}

// TestProblemAttributes: each rule names the attribute by its whole path
// from the resource's root, with the key the value was written under.
func TestProblemAttributes(t *testing.T) {
	tenant := TenantEffective(research, families)
	h100 := func(n int64) Quota { return Quota{Limits: map[string]int64{"NVIDIA-H100": n, "Default": 1}} }
	proj := func(q Quota) Scope { return ProjectEffective(tenant, q, families) }
	shared := Catalog{"a": {ResourceName: "nvidia.com/gpu"}, "b": {ResourceName: "nvidia.com/gpu"}}
	tests := map[string]struct {
		got  []Problem
		want [][]string
	}{
		"CheckKeys": {CheckKeys(Quota{Limits: map[string]int64{"V100": 1}, Requests: map[string]int64{"Default": -1}}, catalog, "s"),
			[][]string{{"gpu_quota", "limits", "V100"}, {"gpu_quota", "requests", "Default"}}},
		"CheckRequestsWithinLimits, own key": {CheckRequestsWithinLimits(TenantEffective(Quota{Limits: map[string]int64{"NVIDIA-H100": 1}, Requests: map[string]int64{"NVIDIA-H100": 2}}, families), "s"),
			[][]string{{"gpu_quota", "requests", "NVIDIA-H100"}}},
		"CheckRequestsWithinLimits, Default": {CheckRequestsWithinLimits(proj(Quota{Limits: map[string]int64{"NVIDIA-H100": 1}, Requests: map[string]int64{"Default": 2}}), "s"),
			[][]string{{"gpu_quota", "requests", "Default"}}},
		"CheckProjectInTenant": {CheckProjectInTenant("research", tenant, "vision", proj(Quota{Limits: map[string]int64{"Default": 50}, Requests: map[string]int64{"NVIDIA-H100": 9}})),
			[][]string{{"gpu_quota", "limits", "Default"}, {"gpu_quota", "limits", "Default"}, {"gpu_quota", "limits", "Default"}, {"gpu_quota", "requests", "NVIDIA-H100"}}},
		"CheckTenantTotal, error": {CheckTenantTotal("research", tenant, map[string]Scope{"a": proj(h100(40)), "b": proj(h100(40))}, false),
			[][]string{{"gpu_quota", "limits", "NVIDIA-H100"}}},
		"CheckTenantTotal, overcommit warning": {CheckTenantTotal("research", tenant, map[string]Scope{"a": proj(h100(40)), "b": proj(h100(40))}, true),
			[][]string{{"gpu_quota"}}},
		"CheckSharedResources": {CheckSharedResources(TenantEffective(Quota{Limits: map[string]int64{"Default": 1}}, shared.Names()), shared, "s"),
			[][]string{{"gpu_quota", "limits", "Default"}}},
		"BelowUsage": {BelowUsage(proj(h100(2)), catalog, map[string]int64{"requests.nvidia.com/gpu-h100": 3}, "s"),
			[][]string{{"gpu_quota", "limits", "NVIDIA-H100"}}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var got [][]string
			for _, p := range tc.got {
				got = append(got, p.Attribute)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("attributes %q, want %q", got, tc.want)
			}
		})
	}
}

func TestAttrName(t *testing.T) {
	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"gpu_quota", "limits", "NVIDIA-H100"}, `gpu_quota.limits["NVIDIA-H100"]`},
		{[]string{"gpu_quota"}, "gpu_quota"},
		{[]string{"compute"}, "compute"},
	} {
		if got := attrName(tc.path); got != tc.want {
			t.Errorf("attrName(%q) = %q, want %q", tc.path, got, tc.want)
		}
	}
}
