package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// planCache holds what dataplanes, tenants and projects planned in this
// provider process, so that a project planned in the same run is checked
// against its tenant's planned quota rather than the live one. Terraform
// plans a tenant before the projects that reference it.
type planCache struct {
	mu       sync.Mutex
	catalogs map[string]quota.Catalog // nil: planned, but known only at apply
	tenants  map[string]tenantQuota
	projects map[string]map[string]*quota.Quota // tenant → project → planned quota; nil = planned for destruction
	computes map[string]map[string]string       // compute → planned node selector; nil = known only at apply
	// memberships: tenant → subject key → the membership planned for it.
	memberships map[string]map[string]string
}

// tenantQuota is what a project needs to know of its tenant.
type tenantQuota struct {
	Name       string
	Dataplane  string
	Catalog    quota.Catalog
	Quota      quota.Quota
	Overcommit bool
	// Computes are the tenant's compute names; ComputesKnown is false while unknown.
	Computes      []string
	ComputesKnown bool
	AdminGroups   []string
	Labels        map[string]string
}

// Effective is the tenant's effective quota.
func (t tenantQuota) Effective() quota.Scope {
	return quota.TenantEffective(t.Quota, t.Catalog.Names())
}

func newPlanCache() *planCache {
	return &planCache{
		catalogs:    map[string]quota.Catalog{},
		tenants:     map[string]tenantQuota{},
		projects:    map[string]map[string]*quota.Quota{},
		computes:    map[string]map[string]string{},
		memberships: map[string]map[string]string{},
	}
}

func (p *planCache) setCatalog(dataplane string, c quota.Catalog) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.catalogs[dataplane] = c
}

func (p *planCache) setTenant(t tenantQuota) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tenants[t.Name] = t
}

// setCompute records a compute's planned node selector; nil: known only at apply.
func (p *planCache) setCompute(name string, selector map[string]string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.computes[name] = selector
}

// errComputeUnknown: a compute's node selector is known only at apply.
var errComputeUnknown = errors.New("the compute's node selector is known only at apply")

// computeSelector returns a compute's node selector: planned in this run
// when planned is set, else live. found is false when there is no such compute.
func (d *providerData) computeSelector(ctx context.Context, c *kube.Client, name string, planned bool) (map[string]string, bool, error) {
	if planned {
		d.plans.mu.Lock()
		sel, ok := d.plans.computes[name]
		d.plans.mu.Unlock()
		switch {
		case ok && sel == nil:
			return nil, true, errComputeUnknown
		case ok:
			return sel, true, nil
		}
	}
	obj, err := c.CachedGet(ctx, crds.Computes, kube.ManagedSelector, "", name)
	if err != nil || obj == nil {
		return nil, false, err
	}
	var spec crds.ComputeSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		return nil, true, err
	}
	return spec.NodeSelector, true, nil
}

// placement returns the node selectors of a tenant's computes, by compute
// name; known is false while a selector is known only at apply. A compute
// that does not exist is an error.
func (d *providerData) placement(ctx context.Context, c *kube.Client, t tenantQuota, planned bool) (map[string]map[string]string, bool, error) {
	if !t.ComputesKnown {
		return nil, false, nil
	}
	out := map[string]map[string]string{}
	for _, name := range t.Computes {
		sel, found, err := d.computeSelector(ctx, c, name, planned)
		switch {
		case errors.Is(err, errComputeUnknown):
			return nil, false, nil
		case err != nil:
			return nil, false, err
		case !found:
			return nil, false, fmt.Errorf("compute %q does not exist. Create it (gpuplane_compute) and reference it, e.g. "+
				"computes = [gpuplane_compute.%s.name], so Terraform creates it first", name, name)
		}
		out[name] = sel
	}
	return out, true, nil
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

// errCatalogUnknown: the dataplane's catalog is known only at apply, so
// checks that need it wait for apply.
var errCatalogUnknown = errors.New("the dataplane's GPU families are known only at apply")

// catalog returns a dataplane's catalog: planned in this run when
// planned is set and the dataplane was planned, else the live one.
func (d *providerData) catalog(ctx context.Context, c *kube.Client, dataplane string, planned bool) (quota.Catalog, error) {
	if planned {
		d.plans.mu.Lock()
		cat, ok := d.plans.catalogs[dataplane]
		d.plans.mu.Unlock()
		switch {
		case ok && cat == nil:
			return nil, errCatalogUnknown
		case ok:
			return cat, nil
		}
	}
	obj, err := c.CachedGet(ctx, crds.Dataplanes, kube.ManagedSelector, "", dataplane)
	if err != nil {
		return nil, fmt.Errorf("reading dataplane %q: %w", dataplane, err)
	}
	if obj == nil {
		return nil, fmt.Errorf("dataplane %q does not exist. Create it (gpuplane_dataplane) and reference it, e.g. "+
			"dataplane = gpuplane_dataplane.main.name, so Terraform creates it first", dataplane)
	}
	var spec crds.DataplaneSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		return nil, err
	}
	return catalogFromSpec(spec), nil
}

// tenant returns a tenant's quota settings: planned in this run when planned
// is set and the tenant was planned, else the live Tenant. found is false
// when there is no such tenant.
func (d *providerData) tenant(ctx context.Context, c *kube.Client, name string, planned bool) (t tenantQuota, found bool, err error) {
	if planned {
		d.plans.mu.Lock()
		t, ok := d.plans.tenants[name]
		d.plans.mu.Unlock()
		if ok {
			return t, true, nil
		}
	}
	obj, err := c.CachedGet(ctx, crds.Tenants, kube.ManagedSelector, "", name)
	if err != nil || obj == nil {
		return t, false, err
	}
	var spec crds.TenantSpec
	if err := crds.SpecOf(obj, &spec); err != nil {
		return t, false, err
	}
	cat, err := d.catalog(ctx, c, spec.Dataplane, planned)
	if err != nil {
		return t, false, err
	}
	return tenantQuota{
		Name: name, Dataplane: spec.Dataplane, Catalog: cat, Quota: quotaFromCRD(spec.GPUQuota), Overcommit: spec.Overcommit,
		Computes: spec.Computes, ComputesKnown: true, AdminGroups: spec.AdminGroups, Labels: spec.Labels,
	}, true, nil
}

// liveProject is a Project object as the cluster holds it.
type liveProject struct {
	Name      string
	Namespace string
	Spec      crds.ProjectSpec
}

// projectsOf lists a tenant's projects (from the cached LIST of all of them).
func projectsOf(ctx context.Context, c *kube.Client, tenant string) ([]liveProject, error) {
	items, err := c.CachedList(ctx, crds.Projects, kube.ManagedSelector)
	if err != nil {
		return nil, fmt.Errorf("listing projects of tenant %q: %w", tenant, err)
	}
	out := make([]liveProject, 0, len(items))
	for i := range items {
		if items[i].GetLabels()[kube.LabelTenant] != tenant {
			continue
		}
		var spec crds.ProjectSpec
		if err := crds.SpecOf(&items[i], &spec); err != nil {
			return nil, err
		}
		out = append(out, liveProject{Name: spec.Project, Namespace: items[i].GetNamespace(), Spec: spec})
	}
	return out, nil
}

// projectQuotas returns the quotas of a tenant's projects: live, overlaid
// with what this run planned when planned is set (destroyed ones dropped).
func (d *providerData) projectQuotas(ctx context.Context, c *kube.Client, tenant string, planned bool) (map[string]quota.Quota, error) {
	out := map[string]quota.Quota{}
	live, err := projectsOf(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	for _, p := range live {
		out[p.Name] = quotaFromCRD(p.Spec.GPUQuota)
	}
	if planned {
		d.plans.mu.Lock()
		for name, q := range d.plans.projects[tenant] {
			if q == nil {
				delete(out, name)
			} else {
				out[name] = *q
			}
		}
		d.plans.mu.Unlock()
	}
	return out, nil
}
