package platform

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// Project is a project as gpuplane writes it: its namespace, the Project
// object there (the record of intent, and the parameters of the pod
// admission policies), RoleBindings and the GPU ResourceQuota.
type Project struct {
	Tenant, Name, Namespace, Compute string
	Roles                            crds.RoleMapping
	Quota                            quota.Quota
	Labels                           map[string]string
	// MaxPerPod and Placement are derived from the tenant when the project
	// is written; the admission policies read them from the Project object.
	MaxPerPod map[string]int64
	Placement map[string]map[string]string
	// Queue: the Kueue policies' parameters, derived too (nil unless Kueue
	// enforces some family).
	Queue *crds.QueueParams
	// DRA: the claims policy's parameters, derived too.
	DRA *crds.DRAParams
}

// ProjectOf is the project a Project object in namespace records.
func ProjectOf(namespace string, spec crds.ProjectSpec) Project {
	return Project{
		Tenant: spec.Tenant, Name: spec.Project, Namespace: namespace, Compute: spec.Compute, Roles: spec.RoleMapping,
		Quota: QuotaOf(spec.GPUQuota), Labels: spec.Labels, MaxPerPod: spec.MaxPerPod, Placement: spec.Placement, Queue: spec.Queue, DRA: spec.DRA,
	}
}

// Rules is what the quota rules need of the project.
func (p Project) Rules() quota.Project {
	return quota.Project{Name: p.Name, Quota: p.Quota, Compute: p.Compute}
}

func (p Project) spec() crds.ProjectSpec {
	return crds.ProjectSpec{Tenant: p.Tenant, Project: p.Name, Compute: p.Compute, RoleMapping: p.Roles,
		GPUQuota: GPUQuotaOf(p.Quota), Labels: p.Labels, MaxPerPod: p.MaxPerPod, Placement: p.Placement, Queue: p.Queue, DRA: p.DRA}
}

// ProjectBindings are the RoleBindings of a project namespace.
func ProjectBindings(t Tenant, roles crds.RoleMapping) []GroupBinding {
	return []GroupBinding{
		{"gpuplane-viewers", "view", roles.Viewer},
		{"gpuplane-editors", "edit", roles.Editor},
		{"gpuplane-admins", "admin", roles.Admin},
		t.adminBinding(),
	}
}

// ListProjects lists a tenant's projects (from the cached LIST of the
// tenant's: an apply that writes projects lists again only the tenant's).
func ListProjects(ctx context.Context, c *kube.Client, tenant string) ([]Project, error) {
	out, err := cachedProjects(ctx, c, ManagedSelector+","+LabelTenant+"="+tenant)
	if err != nil {
		return nil, fmt.Errorf("listing projects of tenant %q: %w", tenant, err)
	}
	return out, nil
}

// cachedProjects are the projects of the cached LIST with selector, decoded
// once per list.
func cachedProjects(ctx context.Context, c *kube.Client, selector string) ([]Project, error) {
	return kube.CachedDecoded(ctx, c, crds.Projects, selector, func(obj *unstructured.Unstructured) (Project, error) {
		spec, err := specOf[crds.ProjectSpec](obj)
		if err != nil {
			return Project{}, err
		}
		return ProjectOf(obj.GetNamespace(), *spec), nil
	})
}

// FindProject finds a project: in namespace when it is known, else by its
// labels (import, data source). nil when there is none. A plan reads it
// from the cached LIST of the tenant's projects, which the tenant's quota
// checks read anyway (a configuration of one project reads its tenant's,
// not the cluster's); an apply, whose own writes keep dropping that list,
// with a LIST of just this project's labels.
func FindProject(ctx context.Context, c *kube.Client, tenant, name, namespace string) (*Project, error) {
	selector := ManagedSelector + "," + LabelTenant + "=" + tenant
	if c.HasWritten() {
		selector += "," + LabelProject + "=" + name
	}
	projects, err := cachedProjects(ctx, c, selector)
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		if p.Tenant == tenant && p.Name == name && (namespace == "" || p.Namespace == namespace) {
			return &p, nil
		}
	}
	return nil, nil
}

// WriteProject writes a project within tenant t: the namespace, the Project
// object with the per-pod cap of eff and the placement, the RoleBindings,
// the ResourceQuota and the bindings of the tenant's memberships. It returns
// once the pod admission policies are enforced in the namespace. wrote is
// false when nothing was written (the namespace could not be).
func WriteProject(ctx context.Context, c *kube.Client, p Project, t Tenant, cat quota.Catalog, eff quota.Scope) (wrote bool, err error) {
	if wrote, err := writeProjectObjects(ctx, c, p, t, cat, eff); err != nil {
		return wrote, err
	}
	// The Project object is written; memberships written since list it and
	// bind, and those written before are bound here.
	if err := BindMembershipsInProject(ctx, c, p.Tenant, p.Name, p.Namespace); err != nil {
		return true, err
	}
	// Report success only once the pod policies are enforced in the namespace.
	return true, WaitPodPolicies(ctx, c, p.Namespace, quota.PodMax(eff, cat))
}

// writeProjectObjects writes the objects a project derives from its own
// spec and its tenant: namespace, Project object, RoleBindings, quota.
func writeProjectObjects(ctx context.Context, c *kube.Client, p Project, t Tenant, cat quota.Catalog, eff quota.Scope) (wrote bool, err error) {
	labels := ProjectLabels(p.Tenant, p.Name, t.Labels, p.Labels)
	if err := ApplyNamespace(ctx, c, p.Namespace, labels); err != nil {
		return false, err
	}
	p.MaxPerPod, p.DRA = quota.PodMax(eff, cat), DRAParamsOf(cat, eff)
	if p.Queue, err = queueParams(ctx, c, t, cat, eff); err != nil {
		return true, err
	}
	spec := p.spec()
	obj, err := crds.New("Project", p.Namespace, p.Name, labels, &spec)
	if err == nil {
		_, err = reclaimingApplyObject(ctx, c, crds.Projects, obj)
	}
	if err != nil {
		return true, err
	}
	for _, b := range ProjectBindings(t, p.Roles) {
		if err := ApplyGroupBinding(ctx, c, p.Namespace, b, labels); err != nil {
			return true, err
		}
	}
	if err := ApplyResourceQuota(ctx, c, p.Namespace, quota.Hard(eff, cat), labels); err != nil {
		return true, err
	}
	if !cat.Queued() {
		return true, nil
	}
	return true, WriteQueues(ctx, c, p, t, cat, eff, labels)
}

// queueParams are a project's Kueue policy parameters (nil unless Kueue
// enforces some family of the tenant's dataplane).
func queueParams(ctx context.Context, c *kube.Client, t Tenant, cat quota.Catalog, eff quota.Scope) (*crds.QueueParams, error) {
	if !cat.Queued() {
		return nil, nil
	}
	obj, err := c.CachedGet(ctx, crds.Dataplanes, ManagedSelector, "", t.Dataplane)
	if err != nil || obj == nil {
		return nil, err
	}
	dp, err := specOf[crds.DataplaneSpec](obj)
	if err != nil {
		return nil, err
	}
	return QueueParamsOf(cat, eff, dp.KueueServiceAccount), nil
}

// RewriteDerived writes what a tenant's change (its quota, labels, admin
// groups or computes) or its catalog's (a family's resource name) derives,
// in the tenant namespace and in every project of the tenant, wherever that
// project is managed: the lock-down and project quotas, the per-pod caps
// and placement the admission policies read, the admin bindings and the
// tenant's labels. Each project's own intent comes from its Project object.
// Projects already in sync are left alone (read from the cached LISTs).
func RewriteDerived(ctx context.Context, c *kube.Client, t Tenant, cat quota.Catalog) error {
	if err := ApplyResourceQuota(ctx, c, t.Namespace(), quota.Lockdown(cat), TenantLabels(t.Name, t.Labels)); err != nil {
		return err
	}
	placement, missing, err := Placement(ctx, c, t.Computes)
	if err != nil {
		return err
	}
	if missing != "" {
		return fmt.Errorf("compute %q of tenant %q does not exist", missing, t.Name)
	}
	projects, err := ListProjects(ctx, c, t.Name)
	if err != nil {
		return err
	}
	if cat.Queued() {
		if err := WriteCohort(ctx, c, t, cat); err != nil {
			return err
		}
	}
	teff := quota.TenantEffective(t.Quota, cat.Names())
	for _, p := range projects {
		eff := quota.ProjectEffective(teff, p.Quota, cat.Names())
		inSync, err := ProjectObjectsInSync(ctx, c, p, t, cat, eff, placement)
		if err != nil {
			return err
		}
		if inSync {
			continue
		}
		p.Placement = placement
		if _, err := writeProjectObjects(ctx, c, p, t, cat, eff); err != nil {
			return fmt.Errorf("project %s/%s: %w", p.Tenant, p.Name, err)
		}
	}
	return nil
}

// ProjectObjectsInSync compares a live project's namespace, bindings,
// per-pod cap, placement and quota with what its spec and its tenant (t,
// with catalog cat, effective quota eff and compute placement) call for.
func ProjectObjectsInSync(ctx context.Context, c *kube.Client, p Project, t Tenant, cat quota.Catalog, eff quota.Scope,
	placement map[string]map[string]string) (bool, error) {
	live, err := kube.CachedGetAs[corev1.Namespace](ctx, c, kube.Namespaces, ManagedSelector, "", p.Namespace)
	if err != nil || live == nil {
		return false, err
	}
	// The project label selects the namespace for the admission policies.
	for k, v := range ProjectLabels(p.Tenant, p.Name, t.Labels, p.Labels) {
		if live.Labels[k] != v {
			return false, nil
		}
	}
	for _, b := range ProjectBindings(t, p.Roles) {
		if ok, err := GroupBindingInSync(ctx, c, p.Namespace, b); err != nil || !ok {
			return false, err
		}
	}
	// The per-pod cap lives in the Project object itself (the admission
	// policy's parameters); it changes with the tenant's quota.
	if !maps.Equal(p.MaxPerPod, quota.PodMax(eff, cat)) || !maps.EqualFunc(p.Placement, placement, maps.Equal) {
		return false, nil
	}
	wantQueue, err := queueParams(ctx, c, t, cat, eff)
	if err != nil || !equality.Semantic.DeepEqual(p.Queue, wantQueue) || !equality.Semantic.DeepEqual(p.DRA, DRAParamsOf(cat, eff)) {
		return false, err
	}
	if ok, err := QueuesInSync(ctx, c, p, t, cat, eff); err != nil || !ok {
		return false, err
	}
	rq, err := GetResourceQuota(ctx, c, p.Namespace)
	return err == nil && rq != nil && ResourceListEqual(rq.Spec.Hard, quota.Hard(eff, cat)), err
}

// Placement returns the node selectors of the given computes, by name,
// from the cached LIST of gpuplane's computes; missing names a compute that
// does not exist.
func Placement(ctx context.Context, c *kube.Client, computes []string) (placement map[string]map[string]string, missing string, err error) {
	placement = map[string]map[string]string{}
	for _, name := range computes {
		spec, err := CachedCompute(ctx, c, name)
		if err != nil {
			return nil, "", err
		}
		if spec == nil {
			return nil, name, nil
		}
		placement[name] = spec.NodeSelector
	}
	return placement, "", nil
}

// DeleteProject starts the deletion of a project: under the Kueue backend
// its ClusterQueue is drained first (admitted workloads evicted); then its
// namespace, which holds the Project object and every child, is deleted,
// and so is its ClusterQueue. It returns once the namespace is terminating,
// without waiting for the namespace controller: nothing new can start in
// the namespace, and the project's quota counts against its tenant until
// its Project object is gone. What needs the namespace gone waits for it:
// a create that reuses the name, and the tenant's delete (all of its
// projects' namespaces together), so a destroy of a tenant with its
// projects returns only when everything is gone.
// queued says whether the tenant's dataplane uses the Kueue backend (only
// then does the provider's identity need Kueue's permissions).
func DeleteProject(ctx context.Context, c *kube.Client, namespace string, queued bool) error {
	if queued {
		if err := DrainQueue(ctx, c, namespace); err != nil {
			return err
		}
	}
	if err := StartNamespaceDeletion(ctx, c, namespace); err != nil {
		return err
	}
	if !queued {
		return nil
	}
	return c.Delete(ctx, ClusterQueues, "", namespace)
}

// TenantQueued reports whether a tenant's dataplane uses the Kueue
// backend (false when the tenant or its dataplane is gone).
func TenantQueued(ctx context.Context, c *kube.Client, tenant string) (bool, error) {
	t, err := CachedTenant(ctx, c, tenant)
	if err != nil || t == nil {
		return false, err
	}
	cat, err := CachedCatalog(ctx, c, t.Dataplane)
	return cat.Queued(), err
}

// ProjectsBeingDeleted names a tenant's projects whose namespace is
// terminating: their quota is about to be freed.
func ProjectsBeingDeleted(ctx context.Context, c *kube.Client, tenant string) ([]string, error) {
	projects, err := ListProjects(ctx, c, tenant)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range projects {
		ns, err := kube.CachedGetAs[corev1.Namespace](ctx, c, kube.Namespaces, ManagedSelector, "", p.Namespace)
		if err != nil {
			return nil, err
		}
		if ns == nil || ns.Status.Phase == corev1.NamespaceTerminating || ns.DeletionTimestamp != nil {
			out = append(out, p.Name)
		}
	}
	return out, nil
}
