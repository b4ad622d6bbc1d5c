package quota

import (
	"maps"
	"reflect"
	"strings"
	"testing"
)

// accCatalog is the catalog of the acceptance tests (platformConfig).
var accCatalog = Catalog{
	"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"},
	"NVIDIA-A100": {ResourceName: "nvidia.com/mig-1g.10gb"},
}

// okTenant is the acceptance tests' valid tenant.
var okTenant = Tenant{
	Name: "research",
	Quota: Quota{
		Limits:   map[string]int64{"NVIDIA-H100": 8, "Default": 4},
		Requests: map[string]int64{"NVIDIA-H100": 4},
	},
	Computes:      []string{"h100-pool"},
	ComputesKnown: true,
}

func tenantWith(q Quota) Tenant {
	t := okTenant
	t.Quota = q
	return t
}

// counts is a map of GPU counts: a quota's limits or requests.
type counts = map[string]int64

// wantProblem is one expected problem: severity, attribute path, summary,
// and fragments that Summary + ": " + Detail holds in this order.
type wantProblem struct {
	sev       Severity
	at        []string
	summary   string
	fragments []string
}

var (
	atCompute  = []string{"compute"}
	atComputes = []string{"computes"}
	atQuota    = []string{"gpu_quota"}
)

func atLimits(k string) []string   { return []string{"gpu_quota", "limits", k} }
func atRequests(k string) []string { return []string{"gpu_quota", "requests", k} }

// containsInOrder reports whether s holds the fragments one after another.
func containsInOrder(s string, fragments []string) bool {
	for _, f := range fragments {
		i := strings.Index(s, f)
		if i < 0 {
			return false
		}
		s = s[i+len(f):]
	}
	return true
}

func assertProblems(t *testing.T, got []Problem, want []wantProblem) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(got), len(want), dump(got))
	}
	for i, w := range want {
		g := got[i]
		if g.Severity != w.sev {
			t.Errorf("problem %d: severity %d, want %d", i, g.Severity, w.sev)
		}
		if !reflect.DeepEqual(g.Attribute, w.at) {
			t.Errorf("problem %d: attribute %q, want %q", i, g.Attribute, w.at)
		}
		if g.Summary != w.summary {
			t.Errorf("problem %d: summary %q, want %q", i, g.Summary, w.summary)
		}
		if msg := g.Summary + ": " + g.Detail; !containsInOrder(msg, w.fragments) {
			t.Errorf("problem %d: %q\nlacks, in order, %q", i, msg, w.fragments)
		}
	}
}

func dump(ps []Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  ")
		b.WriteString(strings.Join(p.Attribute, "."))
		b.WriteString(" ")
		b.WriteString(p.String())
		b.WriteString("\n")
	}
	return b.String()
}

const lowerFirst = "a project managed in another configuration keeps its quota until that configuration lowers it"

func TestCheckTenant(t *testing.T) {
	sharedCatalog := Catalog{
		"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"},
		"NVIDIA-A100": {ResourceName: "nvidia.com/gpu-h100"},
	}
	vision := Project{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 4, "Default": 2}}, Compute: "h100-pool"}
	lowered := tenantWith(Quota{Limits: counts{"NVIDIA-H100": 4, "Default": 4}, Requests: counts{"NVIDIA-H100": 4}})
	tests := map[string]struct {
		tenant   Tenant
		catalog  Catalog
		projects []Project
		want     []wantProblem
	}{
		// Cases of TestAccQuota_planTimeRules.
		"requests above limits in a tenant": {
			tenant: tenantWith(Quota{Limits: counts{"NVIDIA-H100": 2}, Requests: counts{"NVIDIA-H100": 3}}),
			want: []wantProblem{{Error, atRequests("NVIDIA-H100"), "GPU request above limit",
				[]string{`tenant "research", family NVIDIA-H100`, `gpu_quota.requests["NVIDIA-H100"] = 3 (from tenant)`, `gpu_quota.limits["NVIDIA-H100"] = 2`}}},
		},
		"raw quota key": {
			tenant: tenantWith(Quota{Limits: counts{"requests.nvidia.com/gpu": 1}}),
			want: []wantProblem{{Error, atLimits("requests.nvidia.com/gpu"), "Unknown GPU family",
				[]string{`gpu_quota.limits["requests.nvidia.com/gpu"]`, "not a GPU family", "NVIDIA-A100, NVIDIA-H100", "gpuplane writes requests.<resource> itself"}}},
		},
		"negative": {
			tenant: tenantWith(Quota{Limits: counts{"Default": -1}}),
			want: []wantProblem{
				// Rule 1 alone: rule 4 skips a negative limit rather than
				// report that no projects add up to more than it.
				{Error, atLimits("Default"), "Negative GPU quota", []string{`gpu_quota.limits["Default"] = -1`}},
			},
		},
		"families sharing a resource": {
			tenant: okTenant, catalog: sharedCatalog,
			want: []wantProblem{{Error, atLimits("Default"), "GPU families share a resource name",
				[]string{"families NVIDIA-A100, NVIDIA-H100 all use the resource nvidia.com/gpu-h100", "MIG profiles", "DRA device classes"}}},
		},

		// More.
		"valid tenant": {tenant: okTenant},
		"valid tenant with valid live projects": {tenant: okTenant, projects: []Project{vision,
			{Name: "nlp", Quota: Quota{Limits: counts{"NVIDIA-H100": 4, "Default": 2}, Requests: counts{"NVIDIA-H100": 1}}}}},
		"live project above a lowered tenant: warnings that name it, the tenant never fails on it": {
			tenant: lowered, projects: []Project{{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 6, "Default": 2}}}},
			want: []wantProblem{
				{Warning, atQuota, "Project GPU limit above its tenant's",
					[]string{`project "vision", family NVIDIA-H100: gpu_quota.limits["NVIDIA-H100"] = 6 (from project) exceeds tenant "research"'s limit of 4`, "at most 4", lowerFirst}},
				{Warning, atQuota, "Projects exceed their tenant's GPU limit",
					[]string{`family NVIDIA-H100: the projects' limits add up to 6`, "vision = 6 (project)", "limit of 4", lowerFirst}},
			},
		},
		"live projects overcommit a tenant with overcommit = true: a warning, no lower-first advice": {
			tenant: func() Tenant { t := lowered; t.Overcommit = true; return t }(),
			projects: []Project{
				{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 3, "Default": 2}}},
				{Name: "nlp", Quota: Quota{Limits: counts{"NVIDIA-H100": 3, "Default": 2}}},
			},
			want: []wantProblem{{Warning, atQuota, "Tenant GPU quota overcommitted",
				[]string{"family NVIDIA-H100: the projects' limits add up to 6", "nlp = 3 (project), vision = 3 (project)", "not refused at admission"}}},
		},
		"live project uses a compute the tenant dropped": {
			tenant: okTenant, projects: []Project{vision, {Name: "nlp", Quota: vision.Quota, Compute: "a100-pool"}},
			want: []wantProblem{{Error, atComputes, "Compute still in use",
				[]string{`Project "nlp" of tenant "research" uses compute "a100-pool", which computes no longer lists`, `keep "a100-pool" in the tenant's computes`}}},
		},
		"computes known only at apply: rule 7 waits": {
			tenant:   func() Tenant { t := okTenant; t.Computes, t.ComputesKnown = nil, false; return t }(),
			projects: []Project{{Name: "vision", Quota: vision.Quota, Compute: "a100-pool"}},
		},
		"order: own rules, then projects, then computes": {
			tenant:   tenantWith(Quota{Limits: counts{"NVIDIA-H100": 2, "nvidia.com/gpu": 1}, Requests: counts{"NVIDIA-H100": 3}}),
			projects: []Project{{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 3}}, Compute: "a100-pool"}},
			want: []wantProblem{
				{Error, atLimits("nvidia.com/gpu"), "Unknown GPU family", nil},
				{Error, atRequests("NVIDIA-H100"), "GPU request above limit", nil},
				{Warning, atQuota, "Project GPU limit above its tenant's", []string{"family NVIDIA-H100", lowerFirst}},
				{Warning, atQuota, "Projects exceed their tenant's GPU limit", []string{"family NVIDIA-H100", lowerFirst}},
				{Error, atComputes, "Compute still in use", nil},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := tc.catalog
			if c == nil {
				c = accCatalog
			}
			eff, got := CheckTenant(tc.tenant, c, tc.projects)
			assertProblems(t, got, tc.want)
			if want := TenantEffective(tc.tenant.Quota, c.Names()); !reflect.DeepEqual(eff, want) {
				t.Errorf("effective %+v, want %+v", eff, want)
			}
		})
	}
}

func TestCheckProject(t *testing.T) {
	sixAndTwo := Quota{Limits: counts{"NVIDIA-H100": 6, "Default": 2}}
	tests := map[string]struct {
		tenant   Tenant
		project  Project
		siblings map[string]Quota
		want     []wantProblem
	}{
		// Cases of TestAccQuota_planTimeRules.
		"project limit above tenant": {
			tenant: okTenant, project: Project{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 16}}},
			want: []wantProblem{
				{Error, atLimits("NVIDIA-H100"), "Project GPU limit above its tenant's",
					[]string{`project "vision", family NVIDIA-H100: gpu_quota.limits["NVIDIA-H100"] = 16 (from project) exceeds tenant "research"'s limit of 8`, "at most 8"}},
				// Alone, the project also exceeds the tenant's total.
				{Error, atLimits("NVIDIA-H100"), "Projects exceed their tenant's GPU limit", []string{"add up to 16", "vision = 16 (project)"}},
			},
		},
		"project request above tenant": {
			tenant: okTenant, project: Project{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 6, "Default": 1}, Requests: counts{"NVIDIA-H100": 5}}},
			want: []wantProblem{{Error, atRequests("NVIDIA-H100"), "Project GPU request above its tenant's",
				[]string{`gpu_quota.requests["NVIDIA-H100"] = 5 (from project) exceeds tenant "research"'s request cap of 4`}}},
		},
		"requests above limits in a project": {
			tenant: okTenant, project: Project{Name: "vision", Quota: Quota{Limits: counts{"Default": 2}, Requests: counts{"Default": 3}}},
			want: []wantProblem{
				{Error, atRequests("Default"), "GPU request above limit",
					[]string{`project "vision" of tenant "research", family NVIDIA-A100`, `gpu_quota.requests["Default"] = 3 (from project-default)`, `gpu_quota.limits["Default"] = 2 (from project-default)`}},
				{Error, atRequests("Default"), "GPU request above limit", []string{`project "vision" of tenant "research", family NVIDIA-H100`}},
			},
		},
		"projects add up above the tenant": {
			tenant: okTenant, project: Project{Name: "vision", Quota: sixAndTwo}, siblings: map[string]Quota{"nlp": sixAndTwo},
			want: []wantProblem{{Error, atLimits("NVIDIA-H100"), "Projects exceed their tenant's GPU limit",
				[]string{`family NVIDIA-H100: the projects' limits add up to 12`, "nlp = 6 (project), vision = 6 (project)", "limit of 8", "overcommit = true"}}},
		},
		"an inheriting project counts with the whole limit": {
			tenant: okTenant, project: Project{Name: "nlp"}, siblings: map[string]Quota{"vision": {Limits: counts{"NVIDIA-H100": 1, "Default": 1}}},
			want: []wantProblem{
				{Error, atLimits("NVIDIA-A100"), "Projects exceed their tenant's GPU limit",
					[]string{"add up to 5", "nlp = 4 (inherited), vision = 1 (project-default)", "Project(s) nlp set no limit for NVIDIA-A100"}},
				{Error, atLimits("NVIDIA-H100"), "Projects exceed their tenant's GPU limit",
					[]string{"nlp = 8 (inherited)", "Project(s) nlp set no limit for NVIDIA-H100", "explicit limit"}},
			},
		},
		"compute not attached to the tenant": {
			tenant: okTenant, project: Project{Name: "vision", Compute: "a100-pool"},
			want: []wantProblem{{Error, atCompute, "Compute not attached to the tenant",
				[]string{`compute = "a100-pool"`, `tenant "research"'s computes are [h100-pool]`}}},
		},

		// More.
		"valid project": {
			tenant:   okTenant,
			project:  Project{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 4, "Default": 2}}, Compute: "h100-pool"},
			siblings: map[string]Quota{"nlp": {Limits: counts{"NVIDIA-H100": 4, "Default": 2}, Requests: counts{"NVIDIA-H100": 1}}},
		},
		"overcommit = true: the sum is one warning": {
			tenant:  func() Tenant { t := okTenant; t.Overcommit = true; return t }(),
			project: Project{Name: "vision", Quota: sixAndTwo}, siblings: map[string]Quota{"nlp": sixAndTwo},
			want: []wantProblem{{Warning, atQuota, "Tenant GPU quota overcommitted",
				[]string{"family NVIDIA-H100: the projects' limits add up to 12", "nlp = 6 (project), vision = 6 (project)", "above the tenant's 8", "not refused at admission"}}},
		},
		"a sibling named like the project is replaced by it": {
			tenant:  okTenant,
			project: Project{Name: "vision", Quota: Quota{Limits: counts{"NVIDIA-H100": 2, "Default": 2}}},
			siblings: map[string]Quota{
				"vision": {Limits: counts{"NVIDIA-H100": 8, "Default": 2}}, // its live quota, being lowered
				"nlp":    sixAndTwo,
			},
		},
		"computes known only at apply: rule 7 waits": {
			tenant:  func() Tenant { t := okTenant; t.Computes, t.ComputesKnown = nil, false; return t }(),
			project: Project{Name: "vision", Compute: "a100-pool"},
		},
		"no compute: rule 7 has nothing to check": {
			tenant:  func() Tenant { t := okTenant; t.Computes = nil; return t }(),
			project: Project{Name: "vision"},
		},
		"order: keys, requests, tenant, shared, total, compute": {
			tenant: okTenant,
			project: Project{Name: "vision", Compute: "a100-pool",
				Quota: Quota{Limits: counts{"NVIDIA-H100": 9, "nvidia.com/gpu": 1}, Requests: counts{"NVIDIA-A100": 5}}},
			want: []wantProblem{
				{Error, atLimits("nvidia.com/gpu"), "Unknown GPU family", nil},
				{Error, atRequests("NVIDIA-A100"), "GPU request above limit", []string{"family NVIDIA-A100"}},
				{Error, atRequests("NVIDIA-A100"), "Project GPU request above its tenant's", nil},
				{Error, atLimits("NVIDIA-H100"), "Project GPU limit above its tenant's", nil},
				{Error, atLimits("NVIDIA-H100"), "Projects exceed their tenant's GPU limit", nil},
				{Error, atCompute, "Compute not attached to the tenant", nil},
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			before := maps.Clone(tc.siblings)
			eff, got := CheckProject(tc.tenant, accCatalog, tc.project, tc.siblings)
			assertProblems(t, got, tc.want)
			if want := ProjectEffective(tc.tenant.Effective(accCatalog), tc.project.Quota, accCatalog.Names()); !reflect.DeepEqual(eff, want) {
				t.Errorf("effective %+v, want %+v", eff, want)
			}
			if !reflect.DeepEqual(tc.siblings, before) {
				t.Errorf("siblings changed: %v, was %v", tc.siblings, before)
			}
		})
	}
}

func TestTenantEffectiveMethod(t *testing.T) {
	if got, want := okTenant.Effective(accCatalog), TenantEffective(okTenant.Quota, accCatalog.Names()); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestCheckProjectAtApplyRefusesOnlyRaises: at apply, rule 4 refuses a
// write only for a family whose limit it raises; projects lowered together
// in one apply each see the other's old quota, and must not refuse each
// other.
func TestCheckProjectAtApplyRefusesOnlyRaises(t *testing.T) {
	cat := Catalog{"A": {ResourceName: "a.example/gpu"}, "B": {ResourceName: "b.example/gpu"}}
	tenant := Tenant{Name: "research", Quota: Quota{Limits: map[string]int64{"A": 6, "B": 6}}}
	old := Quota{Limits: map[string]int64{"A": 4, "B": 2}}
	siblings := map[string]Quota{"nlp": {Limits: map[string]int64{"A": 4, "B": 4}}}
	for name, tc := range map[string]struct {
		quota  Quota
		prior  *Quota
		failed []string // families refused
	}{
		"lowered while a sibling still has its old quota": {Quota{Limits: map[string]int64{"A": 3, "B": 2}}, &old, nil},
		"raised: refused for the raised family only":      {Quota{Limits: map[string]int64{"A": 3, "B": 3}}, &old, []string{"B"}},
		"new project: every overflowing family":           {Quota{Limits: map[string]int64{"A": 3, "B": 3}}, nil, []string{"A", "B"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, problems := CheckProject(tenant, cat, Project{Name: "vision", Quota: tc.quota, Prior: tc.prior}, siblings)
			var failed []string
			for _, p := range Errors(problems) {
				if p.Summary == TenantTotalSummary {
					failed = append(failed, p.Attribute[2])
				}
			}
			if strings.Join(failed, ",") != strings.Join(tc.failed, ",") {
				t.Errorf("refused families %v, want %v (%v)", failed, tc.failed, problems)
			}
		})
	}
}

// Under the Kueue backend, families that share a resource name may carry a
// quota (rule 5 is lifted), and an overcommitted tenant total is enforced
// (by the tenant's Cohort), so it is not warned about.
func TestCheckKueueFamilies(t *testing.T) {
	queued := Catalog{
		"H100": {ResourceName: "nvidia.com/gpu", NodeSelector: map[string]string{"f": "h100"}, Queued: true},
		"A100": {ResourceName: "nvidia.com/gpu", NodeSelector: map[string]string{"f": "a100"}, Queued: true},
	}
	tenant := Tenant{Name: "research", Quota: Quota{Limits: map[string]int64{"H100": 4, "A100": 2}}, Overcommit: true}
	siblings := map[string]Quota{"b": {Limits: map[string]int64{"H100": 3}}}
	_, problems := CheckProject(tenant, queued, Project{Name: "a", Quota: Quota{Limits: map[string]int64{"H100": 3}}}, siblings)
	problemsMatch(t, problems)

	// The same catalog enforced by ResourceQuota: shared resource, and the overcommit warning.
	for f, fam := range queued {
		fam.Queued = false
		queued[f] = fam
	}
	_, problems = CheckProject(tenant, queued, Project{Name: "a", Quota: Quota{Limits: map[string]int64{"H100": 3}}}, siblings)
	problemsMatch(t, problems, []string{"all use the resource nvidia.com/gpu"}, []string{"above the tenant's 4", "not refused at admission"})
}
