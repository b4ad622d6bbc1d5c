package provider

import (
	"maps"
	"sync"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// planCache holds what dataplanes, computes, tenants, projects and
// memberships planned in this provider process, so that a resource planned
// in the same run is checked against what its parents will be rather than
// what they are. Terraform plans a resource after those it references.
// Every access goes through its methods, which hold its mutex.
type planCache struct {
	mu       sync.Mutex
	catalogs map[string]plannedCatalog
	tenants  map[string]tenantView
	projects map[string]map[string]*quota.Quota // tenant → project → planned quota; nil = planned for destruction
	computes map[string]map[string]string       // compute → planned node selector; nil = known only at apply
	// subjects: tenant → subject key → the membership planned for it.
	subjects map[string]map[string]string
	// claims: what resources planned in this run hold (see claim).
	claims map[string]string
	// said: warnings already given in this run, by key.
	said map[string]bool
	// replans: resources planned with a prior state, which Terraform plans
	// again without one when it replaces them.
	replans map[string]bool
}

// plannedCatalog is a dataplane's catalog as planned: nil when it is known
// only at apply; complete is false while some family's resource name,
// device class or node selector is known only at apply.
type plannedCatalog struct {
	catalog  quota.Catalog
	complete bool
}

// tenantView is a tenant as its projects and memberships see it at plan
// time: what it will be (planned in this run) or what it is (live), with
// its dataplane's catalog.
type tenantView struct {
	platform.Tenant
	Catalog quota.Catalog
	// ComputesKnown is false while the tenant's computes are known only at
	// apply; CatalogComplete is false while some of the catalog is.
	ComputesKnown, CatalogComplete bool
}

// rules is what the quota rules need of the tenant.
func (t tenantView) rules() quota.Tenant {
	r := t.Rules()
	r.ComputesKnown = t.ComputesKnown
	return r
}

// effective is the tenant's effective quota.
func (t tenantView) effective() quota.Scope { return quota.TenantEffective(t.Quota, t.Catalog.Names()) }

func newPlanCache() *planCache {
	return &planCache{
		catalogs: map[string]plannedCatalog{},
		tenants:  map[string]tenantView{},
		projects: map[string]map[string]*quota.Quota{},
		computes: map[string]map[string]string{},
		subjects: map[string]map[string]string{},
		claims:   map[string]string{},
		said:     map[string]bool{},
		replans:  map[string]bool{},
	}
}

// setCatalog records a dataplane's planned catalog (see plannedCatalog).
func (p *planCache) setCatalog(dataplane string, c quota.Catalog, complete bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.catalogs[dataplane] = plannedCatalog{c, complete && c != nil}
}

// catalog returns a dataplane's planned catalog; planned is false when the
// dataplane was not planned in this run.
func (p *planCache) catalog(dataplane string) (c plannedCatalog, planned bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, planned = p.catalogs[dataplane]
	return c, planned
}

func (p *planCache) setTenant(t tenantView) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tenants[t.Name] = t
}

func (p *planCache) tenant(name string) (tenantView, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	t, ok := p.tenants[name]
	return t, ok
}

// setCompute records a compute's planned node selector; nil: known only at apply.
func (p *planCache) setCompute(name string, selector map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.computes[name] = selector
}

func (p *planCache) compute(name string) (selector map[string]string, planned bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	selector, planned = p.computes[name]
	return selector, planned
}

// setProject records a project's planned quota; nil records its destruction.
func (p *planCache) setProject(tenant, project string, q *quota.Quota) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.projects[tenant] == nil {
		p.projects[tenant] = map[string]*quota.Quota{}
	}
	p.projects[tenant][project] = q
}

// projects returns a copy of what this run planned for a tenant's projects.
func (p *planCache) projectsOf(tenant string) map[string]*quota.Quota {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.projects[tenant])
}

// claimSubject records that membership name of tenant grants subject (a
// platform.SubjectKey); when another membership planned in this run claimed
// it first, it returns that one's name and false.
func (p *planCache) claimSubject(tenant, subject, name string) (prior string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.subjects[tenant] == nil {
		p.subjects[tenant] = map[string]string{}
	}
	if prior, dup := p.subjects[tenant][subject]; dup {
		return prior, false
	}
	p.subjects[tenant][subject] = name
	return "", true
}

// claim records that owner plans to hold key (e.g. a namespace, or a
// project's tenant and name); when another owner planned in this run holds
// it, it returns that one and false. Each resource is planned once per run
// (a replacement twice, with the same owner), so a second owner is a
// second resource.
func (p *planCache) claim(key, owner string) (prior string, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if prior, claimed := p.claims[key]; claimed && prior != owner {
		return prior, false
	}
	p.claims[key] = owner
	return "", true
}

// firstTime reports whether a warning of this key was not given yet in this
// run, and records it: a warning about a tenant is said once, not by each
// of its projects.
func (p *planCache) firstTime(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.said[key] {
		return false
	}
	p.said[key] = true
	return true
}

// expectReplan records that a resource was planned with a prior state: when
// Terraform replaces it, it plans it again with none, and that second plan
// is the same resource, not a second one.
func (p *planCache) expectReplan(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replans[key] = true
}

// replanned reports, once, whether a plan without prior state is the second
// plan of a replaced resource (see expectReplan).
func (p *planCache) replanned(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	ok := p.replans[key]
	delete(p.replans, key)
	return ok
}
