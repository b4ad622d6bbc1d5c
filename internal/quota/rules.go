package quota

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a Problem.
type Severity int

// Severities.
const (
	Error Severity = iota
	Warning
)

// Problem is a broken rule, written for the user: what is wrong, with which
// values, and the fix.
type Problem struct {
	Severity Severity
	// Attribute is the attribute path from the resource's root, e.g.
	// ["gpu_quota", "limits", "NVIDIA-H100"], ["compute"], ["computes"], or
	// ["gpu_quota"] for the quota as a whole; nil for the resource as a whole.
	Attribute []string
	Summary   string
	Detail    string
}

func (p Problem) String() string { return p.Summary + ": " + p.Detail }

// Errors returns the problems of severity Error.
func Errors(ps []Problem) []Problem {
	var out []Problem
	for _, p := range ps {
		if p.Severity == Error {
			out = append(out, p)
		}
	}
	return out
}

// quotaPath is the path of one key of gpu_quota: part is limits or requests.
func quotaPath(part, key string) []string {
	return []string{"gpu_quota", part, key}
}

// attrName writes a path as the user does: gpu_quota.limits["NVIDIA-H100"]
// for a quota key, else its names joined by dots.
func attrName(path []string) string {
	if len(path) == 3 && path[0] == "gpu_quota" {
		return fmt.Sprintf("%s.%s[%q]", path[0], path[1], path[2])
	}
	return strings.Join(path, ".")
}

// CheckKeys is rule 1: every key is a catalog family or Default, every value >= 0.
func CheckKeys(q Quota, c Catalog, scope string) []Problem {
	var out []Problem
	for _, part := range []struct {
		name string
		m    map[string]int64
	}{{"limits", q.Limits}, {"requests", q.Requests}} {
		for _, k := range sortedKeys(part.m) {
			at := quotaPath(part.name, k)
			if _, ok := c[k]; !ok && k != DefaultKey {
				hint := ""
				if strings.EqualFold(k, DefaultKey) {
					hint = fmt.Sprintf(" Write %q, with a capital D.", DefaultKey)
				}
				if strings.Contains(k, "/") || strings.HasPrefix(k, "requests.") || strings.HasPrefix(k, "limits.") {
					hint = " Write the family name, not a Kubernetes resource or quota key: gpuplane writes requests.<resource> itself."
				}
				out = append(out, Problem{Attribute: at, Summary: "Unknown GPU family",
					Detail: fmt.Sprintf("%s: %s names %q, which is not a GPU family of the dataplane. Use one of %s, or %q for every family not listed.%s",
						scope, attrName(at), k, familyList(c), DefaultKey, hint)})
			}
			if v := part.m[k]; v < 0 {
				out = append(out, Problem{Attribute: at, Summary: "Negative GPU quota",
					Detail: fmt.Sprintf("%s: %s = %d; GPU counts are whole numbers >= 0 (0 forbids the family).", scope, attrName(at), v)})
			}
		}
	}
	return out
}

// CheckRequestsWithinLimits is rule 2: a scope's request cap is not above
// its limit. Inherited request caps are already capped by ProjectEffective.
func CheckRequestsWithinLimits(s Scope, scope string) []Problem {
	var out []Problem
	for _, f := range sortedKeys(s) {
		e := s[f]
		if e.Request.LessOrEqual(e.Limit) {
			continue
		}
		out = append(out, Problem{Attribute: quotaPath("requests", keyOf(f, e.Request.Source)), Summary: "GPU request above limit",
			Detail: fmt.Sprintf("%s, family %s: the largest workload (%s) exceeds the total (%s). "+
				"A single workload cannot be larger than the total: lower the request or raise the limit.",
				scope, f, describe("requests", f, e.Request), describe("limits", f, e.Limit))})
	}
	return out
}

// CheckProjectInTenant is rule 3: a project's effective limit and request
// are within its tenant's, for every family.
func CheckProjectInTenant(tenant string, t Scope, project string, p Scope) []Problem {
	var out []Problem
	for _, f := range sortedKeys(p) {
		pe, te := p[f], t[f]
		if !pe.Limit.LessOrEqual(te.Limit) {
			out = append(out, Problem{Attribute: quotaPath("limits", keyOf(f, pe.Limit.Source)), Summary: "Project GPU limit above its tenant's",
				Detail: fmt.Sprintf("project %q, family %s: %s exceeds tenant %q's limit of %s (%s). "+
					"Lower the project's limit to at most %s, or raise the tenant's.",
					project, f, describe("limits", f, pe.Limit), tenant, te.Limit, te.Limit.Source, te.Limit)})
		}
		if !pe.Request.LessOrEqual(te.Request) {
			out = append(out, Problem{Attribute: quotaPath("requests", keyOf(f, pe.Request.Source)), Summary: "Project GPU request above its tenant's",
				Detail: fmt.Sprintf("project %q, family %s: %s exceeds tenant %q's request cap of %s (%s). "+
					"Lower the project's request to at most %s, or raise the tenant's.",
					project, f, describe("requests", f, pe.Request), tenant, te.Request, te.Request.Source, te.Request)})
		}
	}
	return out
}

// TenantTotalSummary is the summary of rule 4's error without overcommit.
const TenantTotalSummary = "Projects exceed their tenant's GPU limit"

// OvercommitSummary is the summary of rule 4's warning under overcommit.
const OvercommitSummary = "Tenant GPU quota overcommitted"

// CheckTenantTotal is rule 4. Without overcommit, the projects' effective
// limits add up to at most the tenant's limit, per family; per-namespace
// ResourceQuotas then guarantee the tenant total. With overcommit, a sum
// above the tenant's limit is one warning for all families: it is
// reported, not refused.
func CheckTenantTotal(tenant string, t Scope, projects map[string]Scope, overcommit bool) []Problem {
	var out, over []string
	names := sortedKeys(projects)
	for _, f := range sortedKeys(t) {
		tl := t[f].Limit
		if tl.Unlimited || tl.N < 0 { // a negative limit is rule 1's
			continue
		}
		var sum int64
		var parts, inheriting []string
		for _, pn := range names {
			pl := projects[pn][f].Limit
			if pl.Unlimited { // only when the tenant is unlimited, which was skipped
				continue
			}
			sum += pl.N
			parts = append(parts, fmt.Sprintf("%s = %d (%s)", pn, pl.N, pl.Source))
			if pl.Source == SourceInherited {
				inheriting = append(inheriting, pn)
			}
		}
		if sum <= tl.N {
			continue
		}
		if overcommit {
			over = append(over, fmt.Sprintf("family %s: the projects' limits add up to %d (%s), above the tenant's %d", f, sum, strings.Join(parts, ", "), tl.N))
			continue
		}
		fix := "Lower the projects' limits, raise the tenant's, or set overcommit = true to let projects share the tenant's pool."
		if len(inheriting) > 0 {
			fix = fmt.Sprintf("Project(s) %s set no limit for %s and so count with the tenant's whole limit: give them an explicit "+
				"limit (gpu_quota.limits[%q] or \"Default\"). Otherwise %s", strings.Join(inheriting, ", "), f, f, strings.ToLower(fix[:1])+fix[1:])
		}
		out = append(out, fmt.Sprintf("%s\x00%s", f, fmt.Sprintf("tenant %q, family %s: the projects' limits add up to %d (%s), above the tenant's limit of %d "+
			"(overcommit = false). %s", tenant, f, sum, strings.Join(parts, ", "), tl.N, fix)))
	}
	var problems []Problem
	for _, o := range out {
		f, detail, _ := strings.Cut(o, "\x00")
		problems = append(problems, Problem{Attribute: quotaPath("limits", f), Summary: TenantTotalSummary, Detail: detail})
	}
	if len(over) > 0 {
		problems = append(problems, Problem{Severity: Warning, Attribute: []string{"gpu_quota"}, Summary: OvercommitSummary,
			Detail: fmt.Sprintf("tenant %q: %s. With overcommit = true each project stays within the tenant's limit but they share it: "+
				"the tenant total is reported (gpuplane_gpu_usage, oversubscribed) and not refused at admission.",
				tenant, strings.Join(over, "; "))})
	}
	return problems
}

// CheckSharedResources is rule 5: families that share a Kubernetes resource
// name cannot be counted apart by a ResourceQuota, so they cannot carry a
// finite quota. Kueue-enforced families are exempt.
func CheckSharedResources(s Scope, c Catalog, scope string) []Problem {
	byKey := map[string][]string{}
	for _, name := range c.Names() {
		if c[name].ResourceName == "" && c[name].DeviceClass == "" {
			continue // known only at apply, and checked then
		}
		if c[name].Queued {
			continue // Kueue tells them apart by their ResourceFlavors
		}
		byKey[c[name].QuotaKey()] = append(byKey[c[name].QuotaKey()], name)
	}
	var out []Problem
	for _, key := range sortedKeys(byKey) {
		sharing := byKey[key]
		if len(sharing) < 2 {
			continue
		}
		for _, f := range sharing {
			e, ok := s[f]
			if !ok || (e.Limit.Unlimited && e.Request.Unlimited) {
				continue
			}
			out = append(out, Problem{Attribute: quotaPath("limits", keyOf(f, e.Limit.Source)), Summary: "GPU families share a resource name",
				Detail: fmt.Sprintf("%s: families %s all use the resource %s, so a ResourceQuota cannot count them apart and a quota "+
					"on them (here %s: limits = %s, requests = %s) would be shared, not per family. Give each family its own "+
					"resource name in the dataplane catalog (MIG profiles such as nvidia.com/mig-1g.10gb, or renamed resources "+
					"such as nvidia.com/gpu-h100), use DRA device classes, or set quota_backend = \"kueue\" on the dataplane "+
					"(Kueue counts families apart by their node labels).",
					scope, strings.Join(sharing, ", "), c[f].resourceOrClass(), f, e.Limit, e.Request)})
			break
		}
	}
	return out
}

// BelowUsage is rule 6: a limit below what is in use now is allowed (new
// GPU pods are refused until usage drops) but warned about. used is keyed
// by quota key, as in a ResourceQuota's status.used.
func BelowUsage(s Scope, c Catalog, used map[string]int64, scope string) []Problem {
	var out []Problem
	for _, f := range sortedKeys(s) {
		fam, ok := c[f]
		if !ok {
			continue
		}
		e := s[f]
		u := used[fam.QuotaKey()]
		if e.Limit.Unlimited || u <= e.Limit.N {
			continue
		}
		out = append(out, Problem{Severity: Warning, Attribute: quotaPath("limits", keyOf(f, e.Limit.Source)), Summary: "GPU limit below current usage",
			Detail: fmt.Sprintf("%s, family %s: %d GPUs are in use and the new limit is %d. Running workloads keep running; new GPU "+
				"pods are refused until usage drops below %d.", scope, f, u, e.Limit.N, e.Limit.N)})
	}
	return out
}

// describe names a value the way the user wrote it: the attribute and
// number when the scope sets it, else where it comes from.
func describe(part, family string, v Value) string {
	switch v.Source {
	case SourceUnlimited:
		return part + " unlimited"
	case SourceInherited:
		return fmt.Sprintf("%s = %s (inherited from the tenant)", part, v)
	}
	return fmt.Sprintf("%s = %s (from %s)", attrName(quotaPath(part, keyOf(family, v.Source))), v, v.Source)
}

func (v Value) String() string {
	if v.Unlimited {
		return "unlimited"
	}
	return fmt.Sprint(v.N)
}

func (f Family) resourceOrClass() string {
	if f.DeviceClass != "" {
		return "device class " + f.DeviceClass
	}
	return f.ResourceName
}

// keyOf is the quota key a value was written under, for attribute paths.
func keyOf(family string, s Source) string {
	if s == SourceProjectDefault || s == SourceTenantDefault {
		return DefaultKey
	}
	return family
}

func familyList(c Catalog) string {
	names := c.Names()
	if len(names) == 0 {
		return "(the catalog is empty)"
	}
	return strings.Join(names, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
