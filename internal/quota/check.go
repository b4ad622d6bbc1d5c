package quota

import (
	"fmt"
	"slices"
	"strings"
)

// Tenant is what the rules need of a tenant.
type Tenant struct {
	Name       string
	Quota      Quota
	Overcommit bool
	// Computes are the names of the tenant's computes; ComputesKnown is false while they are known only at apply.
	Computes      []string
	ComputesKnown bool
}

// Project is what the rules need of a project.
type Project struct {
	Name    string
	Quota   Quota
	Compute string // "" when none
	// Prior, at apply, is the quota the project has in the cluster now
	// (nil for a new one): rule 4 then refuses only families whose limit
	// the write raises. A write that keeps or lowers a family's limit
	// cannot worsen the tenant total, and projects lowered together in one
	// apply must not wait for each other.
	Prior *Quota
}

// Effective is the tenant's effective quota for the catalog's families.
func (t Tenant) Effective(c Catalog) Scope {
	return TenantEffective(t.Quota, c.Names())
}

// liveProjectsAdvice ends the tenant's warnings about its live projects.
const liveProjectsAdvice = " Projects planned in the same run check themselves against the tenant's new quota, so a tenant and " +
	"its projects may be lowered together; a project managed in another configuration keeps its quota until that " +
	"configuration lowers it."

// CheckTenant applies the rules to a tenant: rules 1, 2 and 5 on the tenant
// itself; rules 3 and 4 against the given live projects, as warnings on
// ["gpu_quota"] that name them (projects planned in the same run check
// themselves against the tenant, with errors; live ones may be managed in
// another configuration, and the tenant cannot wait for it); and rule 7:
// no live project uses a compute the tenant no longer lists (only when
// ComputesKnown), reported on ["computes"]. It returns the tenant's
// effective quota and the problems in that order.
func CheckTenant(t Tenant, c Catalog, projects []Project) (Scope, []Problem) {
	scope := fmt.Sprintf("tenant %q", t.Name)
	eff := t.Effective(c)
	problems := CheckKeys(t.Quota, c, scope)
	problems = append(problems, CheckRequestsWithinLimits(eff, scope)...)
	problems = append(problems, CheckSharedResources(eff, c, scope)...)

	families := c.Names()
	scopes := make(map[string]Scope, len(projects))
	var cross []Problem
	for _, p := range projects {
		scopes[p.Name] = ProjectEffective(eff, p.Quota, families)
		cross = append(cross, CheckProjectInTenant(t.Name, eff, p.Name, scopes[p.Name])...)
	}
	cross = append(cross, CheckTenantTotal(t.Name, totalScope(eff, c, t.Overcommit), scopes, t.Overcommit)...)
	for i := range cross {
		// Reported on the tenant: point at its quota; never fail the tenant.
		cross[i].Attribute = []string{"gpu_quota"}
		if cross[i].Severity == Error {
			cross[i].Severity = Warning
			cross[i].Detail += liveProjectsAdvice
		}
	}
	problems = append(problems, cross...)

	if t.ComputesKnown {
		for _, p := range projects {
			if p.Compute != "" && !slices.Contains(t.Computes, p.Compute) {
				problems = append(problems, Problem{Attribute: []string{"computes"}, Summary: "Compute still in use",
					Detail: fmt.Sprintf("Project %q of tenant %q uses compute %q, which computes no longer lists. Change the project's "+
						"compute first (one apply), or keep %q in the tenant's computes.", p.Name, t.Name, p.Compute, p.Compute)})
			}
		}
	}
	return eff, problems
}

// CheckProject applies the rules to project p within tenant t: rules 1, 2,
// 3 and 5 on p; rule 4 over p and its siblings (the tenant's other projects
// by name, with their quotas; an entry named p.Name is replaced by p); and
// rule 7: p.Compute is one of t's computes (only when ComputesKnown and
// p.Compute is set), reported on ["compute"]. siblings is not modified. It
// returns p's effective quota and the problems in that order.
func CheckProject(t Tenant, c Catalog, p Project, siblings map[string]Quota) (Scope, []Problem) {
	families := c.Names()
	teff := t.Effective(c)
	eff := ProjectEffective(teff, p.Quota, families)
	scope := fmt.Sprintf("project %q of tenant %q", p.Name, t.Name)
	problems := CheckKeys(p.Quota, c, scope)
	problems = append(problems, CheckRequestsWithinLimits(eff, scope)...)
	problems = append(problems, CheckProjectInTenant(t.Name, teff, p.Name, eff)...)
	problems = append(problems, CheckSharedResources(eff, c, scope)...)

	scopes := make(map[string]Scope, len(siblings)+1)
	for name, q := range siblings {
		if name != p.Name {
			scopes[name] = ProjectEffective(teff, q, families)
		}
	}
	scopes[p.Name] = eff
	total := CheckTenantTotal(t.Name, totalScope(teff, c, t.Overcommit), scopes, t.Overcommit)
	if p.Prior != nil {
		prior := ProjectEffective(teff, *p.Prior, families)
		total = slices.DeleteFunc(total, func(pr Problem) bool {
			if pr.Severity != Error || len(pr.Attribute) < 3 {
				return false
			}
			f := pr.Attribute[2]
			return eff[f].Limit.LessOrEqual(prior[f].Limit) // not raised: not this write's to refuse
		})
	}
	problems = append(problems, total...)

	if p.Compute != "" && t.ComputesKnown && !slices.Contains(t.Computes, p.Compute) {
		problems = append(problems, Problem{Attribute: []string{"compute"}, Summary: "Compute not attached to the tenant",
			Detail: fmt.Sprintf("compute = %q, but tenant %q's computes are [%s]. Add %q to the tenant's computes, or choose one of them.",
				p.Compute, t.Name, strings.Join(t.Computes, ", "), p.Compute)})
	}
	return eff, problems
}

// totalScope is the tenant scope rule 4 checks: with overcommit, Kueue
// enforces the tenant total of its families (the tenant's Cohort), so
// only the others are reported as overcommitted.
func totalScope(t Scope, c Catalog, overcommit bool) Scope {
	if !overcommit {
		return t
	}
	out := Scope{}
	for f, e := range t {
		if !c[f].Queued {
			out[f] = e
		}
	}
	return out
}
