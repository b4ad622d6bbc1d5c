package provider

import (
	"context"
	"errors"
	"fmt"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// The planned-or-live look-ups: with planned set, what this run planned
// (the plan cache) wins over what the cluster holds; without it (apply,
// refresh), only the cluster counts.

// errCatalogUnknown: the dataplane's catalog is known only at apply, so
// checks that need it wait for apply.
var errCatalogUnknown = errors.New("the dataplane's GPU families are known only at apply")

// errComputeUnknown: a compute's node selector is known only at apply.
var errComputeUnknown = errors.New("the compute's node selector is known only at apply")

// catalog returns a dataplane's catalog; complete is false while some of
// it is known only at apply.
func (d *providerData) catalog(ctx context.Context, c *kube.Client, dataplane string, planned bool) (cat quota.Catalog, complete bool, err error) {
	if planned {
		if pc, ok := d.plans.catalog(dataplane); ok {
			if pc.catalog == nil {
				return nil, false, errCatalogUnknown
			}
			return pc.catalog, pc.complete, nil
		}
	}
	cat, err = platform.CachedCatalog(ctx, c, dataplane)
	if err != nil {
		return nil, false, fmt.Errorf("reading dataplane %q: %w", dataplane, err)
	}
	if cat == nil {
		return nil, false, fmt.Errorf("dataplane %q does not exist. Create it (gpuplane_dataplane) and reference it, e.g. "+
			"dataplane = gpuplane_dataplane.main.name, so Terraform creates it first", dataplane)
	}
	return cat, true, nil
}

// tenant returns a tenant as its projects see it; found is false when
// there is no such tenant.
func (d *providerData) tenant(ctx context.Context, c *kube.Client, name string, planned bool) (t tenantView, found bool, err error) {
	if planned {
		if t, ok := d.plans.tenant(name); ok {
			return t, true, nil
		}
	}
	live, err := platform.CachedTenant(ctx, c, name)
	if err != nil || live == nil {
		return t, false, err
	}
	cat, complete, err := d.catalog(ctx, c, live.Dataplane, planned)
	if err != nil {
		return t, false, err
	}
	return tenantView{Tenant: *live, Catalog: cat, ComputesKnown: true, CatalogComplete: complete}, true, nil
}

// computeSelector returns a compute's node selector; found is false when
// there is no such compute.
func (d *providerData) computeSelector(ctx context.Context, c *kube.Client, name string, planned bool) (map[string]string, bool, error) {
	if planned {
		if sel, ok := d.plans.compute(name); ok {
			if sel == nil {
				return nil, true, errComputeUnknown
			}
			return sel, true, nil
		}
	}
	spec, err := platform.CachedCompute(ctx, c, name)
	if err != nil || spec == nil {
		return nil, false, err
	}
	return spec.NodeSelector, true, nil
}

// placement returns the node selectors of a tenant's computes, by compute
// name; known is false while a selector is known only at apply. A compute
// that does not exist is an error.
func (d *providerData) placement(ctx context.Context, c *kube.Client, t tenantView, planned bool) (map[string]map[string]string, bool, error) {
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

// projectQuotas returns the quotas of a tenant's projects: live, overlaid
// with what this run planned when planned is set (destroyed ones dropped).
// unplanned names the live projects this run has not planned (yet): they
// may be planned later in the run, or be managed in another configuration.
func (d *providerData) projectQuotas(ctx context.Context, c *kube.Client, tenant string, planned bool) (quotas map[string]quota.Quota, unplanned []string, err error) {
	quotas = map[string]quota.Quota{}
	live, err := platform.ListProjects(ctx, c, tenant)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range live {
		quotas[p.Name] = p.Quota
	}
	if !planned {
		return quotas, nil, nil
	}
	plans := d.plans.projectsOf(tenant)
	for name, q := range plans {
		if q == nil {
			delete(quotas, name)
		} else {
			quotas[name] = *q
		}
	}
	for _, p := range live {
		if _, ok := plans[p.Name]; !ok {
			unplanned = append(unplanned, p.Name)
		}
	}
	return quotas, unplanned, nil
}
