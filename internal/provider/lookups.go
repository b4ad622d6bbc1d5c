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

// catalog returns a dataplane's catalog.
func (d *providerData) catalog(ctx context.Context, c *kube.Client, dataplane string, planned bool) (quota.Catalog, error) {
	if planned {
		if cat, ok := d.plans.catalog(dataplane); ok {
			if cat == nil {
				return nil, errCatalogUnknown
			}
			return cat, nil
		}
	}
	cat, err := platform.CachedCatalog(ctx, c, dataplane)
	if err != nil {
		return nil, fmt.Errorf("reading dataplane %q: %w", dataplane, err)
	}
	if cat == nil {
		return nil, fmt.Errorf("dataplane %q does not exist. Create it (gpuplane_dataplane) and reference it, e.g. "+
			"dataplane = gpuplane_dataplane.main.name, so Terraform creates it first", dataplane)
	}
	return cat, nil
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
	cat, err := d.catalog(ctx, c, live.Dataplane, planned)
	if err != nil {
		return t, false, err
	}
	return tenantView{Tenant: *live, Catalog: cat, ComputesKnown: true}, true, nil
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
func (d *providerData) projectQuotas(ctx context.Context, c *kube.Client, tenant string, planned bool) (map[string]quota.Quota, error) {
	out := map[string]quota.Quota{}
	live, err := platform.ListProjects(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	for _, p := range live {
		out[p.Name] = p.Quota
	}
	if planned {
		for name, q := range d.plans.projectsOf(tenant) {
			if q == nil {
				delete(out, name)
			} else {
				out[name] = *q
			}
		}
	}
	return out, nil
}
