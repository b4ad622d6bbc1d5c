package platform

import (
	"context"

	corev1 "k8s.io/api/core/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// Tenant is a tenant as gpuplane writes it: a cluster-scoped Tenant object
// (the record of intent), a namespace named after it, a RoleBinding of its
// admin groups and a ResourceQuota that allows no GPU there.
type Tenant struct {
	Name, Dataplane, DisplayName, DeletionPolicy string
	AdminGroups, Computes                        []string
	Quota                                        quota.Quota
	Overcommit                                   bool
	Labels                                       map[string]string
}

// TenantOf is the tenant a Tenant object records.
func TenantOf(name string, spec crds.TenantSpec) Tenant {
	return Tenant{
		Name: name, Dataplane: spec.Dataplane, DisplayName: spec.DisplayName, DeletionPolicy: spec.DeletionPolicy,
		AdminGroups: spec.AdminGroups, Computes: spec.Computes, Quota: QuotaOf(spec.GPUQuota),
		Overcommit: spec.Overcommit, Labels: spec.Labels,
	}
}

// Namespace is the tenant namespace.
func (t Tenant) Namespace() string { return t.Name }

// Rules is what the quota rules need of the tenant.
func (t Tenant) Rules() quota.Tenant {
	return quota.Tenant{Name: t.Name, Quota: t.Quota, Overcommit: t.Overcommit, Computes: t.Computes, ComputesKnown: true}
}

func (t Tenant) spec() crds.TenantSpec {
	return crds.TenantSpec{
		Dataplane: t.Dataplane, Namespace: t.Namespace(), DisplayName: t.DisplayName,
		AdminGroups: t.AdminGroups, Computes: t.Computes, GPUQuota: GPUQuotaOf(t.Quota), Overcommit: t.Overcommit,
		DeletionPolicy: t.DeletionPolicy, Labels: t.Labels,
	}
}

func (t Tenant) adminBinding() GroupBinding {
	return GroupBinding{TenantAdminBinding, "admin", t.AdminGroups}
}

// GetTenant reads a tenant and the UID of its object (from the cached
// LIST, see CachedGetOrGet); nil when there is none.
func GetTenant(ctx context.Context, c *kube.Client, name string) (*Tenant, string, error) {
	obj, err := c.CachedGetOrGet(ctx, crds.Tenants, ManagedSelector, "", name)
	if err != nil || obj == nil {
		return nil, "", err
	}
	spec, err := specOf[crds.TenantSpec](obj)
	if err != nil {
		return nil, "", err
	}
	t := TenantOf(name, *spec)
	return &t, string(obj.GetUID()), nil
}

// CachedTenant reads a tenant from the cached LIST of gpuplane's tenants;
// nil when there is none.
func CachedTenant(ctx context.Context, c *kube.Client, name string) (*Tenant, error) {
	obj, err := c.CachedGet(ctx, crds.Tenants, ManagedSelector, "", name)
	if err != nil || obj == nil {
		return nil, err
	}
	spec, err := specOf[crds.TenantSpec](obj)
	if err != nil {
		return nil, err
	}
	t := TenantOf(name, *spec)
	return &t, nil
}

// ListTenants reads every tenant.
func ListTenants(ctx context.Context, c *kube.Client) ([]Tenant, error) {
	items, err := c.List(ctx, crds.Tenants, "", "")
	if err != nil {
		return nil, err
	}
	out := make([]Tenant, 0, len(items))
	for i := range items {
		spec, err := specOf[crds.TenantSpec](&items[i])
		if err != nil {
			return nil, err
		}
		out = append(out, TenantOf(items[i].GetName(), *spec))
	}
	return out, nil
}

// WriteTenant writes the Tenant object and returns its UID.
func WriteTenant(ctx context.Context, c *kube.Client, t Tenant) (string, error) {
	spec := t.spec()
	obj, err := crds.New("Tenant", "", t.Name, TenantLabels(t.Name, t.Labels), &spec)
	if err == nil {
		obj, err = reclaimingApplyObject(ctx, c, crds.Tenants, obj)
	}
	if err != nil {
		return "", err
	}
	return string(obj.GetUID()), nil
}

// WriteTenantObjects writes what the Tenant object calls for: the tenant
// namespace with its admin binding and GPU lock-down quota, the attached
// label on its computes (priorComputes are those it attached before), and
// what each of its projects derives from it (RewriteDerived: tenant admins
// administer every project, and a quota change reaches every project).
func WriteTenantObjects(ctx context.Context, c *kube.Client, t Tenant, cat quota.Catalog, priorComputes []string) error {
	labels := TenantLabels(t.Name, t.Labels)
	if err := ApplyNamespace(ctx, c, t.Namespace(), labels); err != nil {
		return err
	}
	if err := ApplyGroupBinding(ctx, c, t.Namespace(), t.adminBinding(), labels); err != nil {
		return err
	}
	if err := ApplyResourceQuota(ctx, c, t.Namespace(), quota.Lockdown(cat), labels); err != nil {
		return err
	}
	if err := AttachComputes(ctx, c, t.Name, t.Computes, priorComputes); err != nil {
		return err
	}
	return RewriteDerived(ctx, c, t, cat)
}

// TenantPhase is the phase of the tenant namespace: Active, Terminating, or
// Missing.
func TenantPhase(ctx context.Context, c *kube.Client, t Tenant) (string, error) {
	ns, err := kube.CachedGetAs[corev1.Namespace](ctx, c, kube.Namespaces, ManagedSelector, "", t.Namespace())
	if err != nil || ns == nil {
		return "Missing", err
	}
	return string(ns.Status.Phase), nil
}

// TenantObjectsInSync reports whether the tenant's objects are as
// WriteTenantObjects writes them; cat is nil when the catalog cannot be
// read, and the lock-down quota is then not compared.
func TenantObjectsInSync(ctx context.Context, c *kube.Client, t Tenant, cat quota.Catalog) (bool, error) {
	phase, err := TenantPhase(ctx, c, t)
	if err != nil || phase == "Missing" {
		return false, err
	}
	if ok, err := GroupBindingInSync(ctx, c, t.Namespace(), t.adminBinding()); err != nil || !ok {
		return false, err
	}
	if cat != nil {
		rq, err := GetResourceQuota(ctx, c, t.Namespace())
		if err != nil || rq == nil || !ResourceListEqual(rq.Spec.Hard, quota.Lockdown(cat)) {
			return false, err
		}
		if ok, err := CohortInSync(ctx, c, t, cat); err != nil || !ok {
			return false, err
		}
	}
	return ComputesAttached(ctx, c, t.Name, t.Computes)
}

// DeleteTenant deletes a tenant's children first: the namespaces of its
// projects (with everything in them; under restrict only those already
// being deleted), all at once, waiting until the namespace controller has
// removed every project namespace of the tenant (and Kueue its queues);
// then the tenant namespace, its memberships, the attached labels on its
// computes, its Kueue Cohort, and the Tenant object last.
func DeleteTenant(ctx context.Context, c *kube.Client, t Tenant, projects []Project) error {
	queued, err := TenantQueued(ctx, c, t.Name)
	if err != nil {
		return err
	}
	for _, p := range projects {
		if err := DeleteProject(ctx, c, p.Namespace, queued); err != nil {
			return err
		}
	}
	// The tenant namespace last: a destroy that times out on a stuck
	// project namespace leaves the tenant whole.
	if err := WaitTenantObjectsGone(ctx, c, t.Name, queued, t.Namespace()); err != nil {
		return err
	}
	if err := DeleteNamespace(ctx, c, t.Namespace()); err != nil {
		return err
	}
	mbs, err := ListMemberships(ctx, c, t.Name)
	if err != nil {
		return err
	}
	for _, mb := range mbs {
		if err := DeleteMembership(ctx, c, mb); err != nil {
			return err
		}
	}
	if err := AttachComputes(ctx, c, t.Name, nil, t.Computes); err != nil {
		return err
	}
	if queued {
		if err := DeleteCohort(ctx, c, t.Name); err != nil {
			return err
		}
	}
	return c.Delete(ctx, crds.Tenants, "", t.Name)
}
