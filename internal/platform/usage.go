package platform

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// UsageScope is a project (Tenant and Project), a tenant, or the dataplane (neither).
type UsageScope struct{ Tenant, Project string }

// ID names the scope: <tenant>/<project>, <tenant>, or dataplane.
func (s UsageScope) ID() string {
	switch {
	case s.Project != "":
		return s.Tenant + "/" + s.Project
	case s.Tenant != "":
		return s.Tenant
	}
	return "dataplane"
}

// FamilyUsage is the usage of one family in one scope.
type FamilyUsage struct {
	Used, Capacity int64
	Limit          quota.Value
	// Pending: GPUs of workloads waiting in Kueue (Kueue backend only).
	Pending int64
}

// UsageReport is the usage of a scope per family, with a breakdown per
// project (tenant scope) or per tenant (dataplane scope).
type UsageReport struct {
	Families     map[string]FamilyUsage
	Projects     map[string]map[string]FamilyUsage
	Tenants      map[string]map[string]FamilyUsage
	Unattributed map[string]int64
}

// ReadGPUUsage reads a scope's usage with label-selected, paginated LISTs:
// the dataplane, the nodes, the scope's tenants and projects, and the
// non-terminal pods (of one namespace, or of the cluster).
func ReadGPUUsage(ctx context.Context, c *kube.Client, s UsageScope) (*UsageReport, error) {
	dps, err := c.List(ctx, crds.Dataplanes, "", "")
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, err
	}
	if len(dps) == 0 {
		return nil, fmt.Errorf("no gpuplane dataplane on this cluster: create a gpuplane_dataplane first")
	}
	dspec, err := specOf[crds.DataplaneSpec](&dps[0])
	if err != nil {
		return nil, err
	}
	cat := CatalogOf(*dspec)
	families := cat.Names()
	nodes, err := ListNodes(ctx, c)
	if err != nil {
		return nil, err
	}
	nodeLabels := map[string]map[string]string{}
	for _, n := range nodes {
		nodeLabels[n.Name] = n.Labels
	}
	capacity, err := familyCapacity(ctx, c, cat, nodes)
	if err != nil {
		return nil, err
	}
	tenants, projects, err := usageScopes(ctx, c, s, families)
	if err != nil {
		return nil, err
	}

	// Pods: one namespace's for a project, else the cluster's (one paginated LIST).
	podNamespace := ""
	if s.Project != "" {
		podNamespace = projects[0].namespace
	}
	pods, err := listActivePodGPUs(ctx, c, podNamespace)
	if err != nil {
		return nil, err
	}
	usage, pending, err := claimsAndQueues(ctx, c, cat, podNamespace, quota.AttributeUsage(pods, cat, nodeLabels))
	if err != nil {
		return nil, err
	}
	report := buildUsageReport(s, usage, pending, tenants, projects, capacity, families)
	if s.Project != "" {
		crossCheckQuota(ctx, c, projects[0].namespace, cat, usage.Sum(projects[0].namespace))
	}
	if s.Project == "" && s.Tenant == "" {
		report.Unattributed = usage.Unattributed
	} else {
		// Unattributed use of the scope's own namespaces only.
		scopeNamespaces := map[string]bool{}
		for _, p := range projects {
			scopeNamespaces[p.namespace] = true
		}
		for t := range tenants {
			scopeNamespaces[t] = true
		}
		scoped := make([]quota.PodGPUs, 0, len(pods))
		for _, p := range pods {
			if scopeNamespaces[p.Namespace] {
				scoped = append(scoped, p)
			}
		}
		report.Unattributed = quota.AttributeUsage(scoped, cat, nodeLabels).Unattributed
	}
	return report, nil
}

// claimsAndQueues completes the pods' usage of namespace ("" for all):
// DRA families count the devices claimed; Kueue's families count what
// their queues admitted, and what waits there is pending.
func claimsAndQueues(ctx context.Context, c *kube.Client, cat quota.Catalog, namespace string, usage quota.Usage) (used, pending quota.Usage, err error) {
	claimed, err := claimUsage(ctx, c, cat, namespace)
	if err != nil {
		return used, pending, err
	}
	for ns, m := range claimed {
		for f, n := range m {
			add(usage.ByNamespace, ns, f, n)
		}
	}
	pending = quota.Usage{ByNamespace: map[string]map[string]int64{}}
	if cat.Queued() {
		qu, err := readQueueUsage(ctx, c, cat, namespace)
		if err != nil {
			return used, pending, err
		}
		usage, pending.ByNamespace = withQueueUsage(usage, cat, qu), qu.pending
	}
	return usage, pending, nil
}

// familyCapacity is the capacity per family: node allocatable for
// extended-resource families, ResourceSlice devices for DRA ones.
func familyCapacity(ctx context.Context, c *kube.Client, cat quota.Catalog, nodes []corev1.Node) (map[string]int64, error) {
	capacity, err := DRACapacity(ctx, c, cat, nodes)
	if err != nil {
		return nil, err
	}
	for _, f := range cat.Names() {
		if cat[f].ResourceName != "" {
			capacity[f] = GPUCapacity(nodes, cat[f].ResourceName, cat[f].NodeSelector)
		}
	}
	return capacity, nil
}

// usageProject is a project of a usage scope.
type usageProject struct {
	tenant, name, namespace string
	eff                     quota.Scope
}

// usageScopes reads the tenants (name → effective quota) and projects of a scope.
func usageScopes(ctx context.Context, c *kube.Client, s UsageScope, families []string) (map[string]quota.Scope, []usageProject, error) {
	tenants := map[string]quota.Scope{}
	if s.Tenant != "" {
		t, err := CachedTenant(ctx, c, s.Tenant)
		if err != nil {
			return nil, nil, err
		}
		if t == nil {
			return nil, nil, fmt.Errorf("tenant %q does not exist", s.Tenant)
		}
		tenants[s.Tenant] = quota.TenantEffective(t.Quota, families)
	} else {
		all, err := ListTenants(ctx, c)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range all {
			tenants[t.Name] = quota.TenantEffective(t.Quota, families)
		}
	}
	selector := ""
	if s.Tenant != "" {
		selector = LabelTenant + "=" + s.Tenant
	}
	items, err := c.List(ctx, crds.Projects, "", selector)
	if err != nil {
		return nil, nil, err
	}
	var projects []usageProject
	for i := range items {
		spec, err := specOf[crds.ProjectSpec](&items[i])
		if err != nil {
			return nil, nil, err
		}
		if s.Project != "" && spec.Project != s.Project {
			continue
		}
		teff, ok := tenants[spec.Tenant]
		if !ok {
			continue
		}
		projects = append(projects, usageProject{spec.Tenant, spec.Project, items[i].GetNamespace(),
			quota.ProjectEffective(teff, QuotaOf(spec.GPUQuota), families)})
	}
	if s.Project != "" && len(projects) == 0 {
		return nil, nil, fmt.Errorf("project %q does not exist in tenant %q", s.Project, s.Tenant)
	}
	return tenants, projects, nil
}

// buildUsageReport sums the usage of the scope, and of its projects (tenant
// scope) or tenants (dataplane scope, against the capacity).
func buildUsageReport(s UsageScope, usage, pending quota.Usage, tenants map[string]quota.Scope, projects []usageProject,
	capacity map[string]int64, families []string) *UsageReport {
	familyUsages := func(namespaces []string, eff quota.Scope) map[string]FamilyUsage {
		used, waiting := usage.Sum(namespaces...), pending.Sum(namespaces...)
		out := map[string]FamilyUsage{}
		for _, f := range families {
			out[f] = FamilyUsage{Used: used[f], Pending: waiting[f], Capacity: capacity[f], Limit: eff[f].Limit}
		}
		return out
	}
	report := &UsageReport{Unattributed: map[string]int64{}}
	perTenantNamespaces := map[string][]string{}
	for _, p := range projects {
		perTenantNamespaces[p.tenant] = append(perTenantNamespaces[p.tenant], p.namespace)
	}
	for t := range tenants {
		// GPU pods in a tenant namespace are refused by its zero quota, but count them if any.
		perTenantNamespaces[t] = append(perTenantNamespaces[t], t)
	}
	switch {
	case s.Project != "":
		p := projects[0]
		report.Families = familyUsages([]string{p.namespace}, p.eff)
	case s.Tenant != "":
		report.Families = familyUsages(perTenantNamespaces[s.Tenant], tenants[s.Tenant])
		report.Projects = map[string]map[string]FamilyUsage{}
		for _, p := range projects {
			report.Projects[p.name] = familyUsages([]string{p.namespace}, p.eff)
		}
	default:
		capScope := quota.Scope{}
		for _, f := range families {
			v := quota.Value{Unlimited: true, Source: quota.SourceUnlimited}
			if n, ok := capacity[f]; ok {
				v = quota.Value{N: n}
			}
			capScope[f] = quota.Effective{Limit: v, Request: v}
		}
		all := slices.Collect(maps.Keys(usage.ByNamespace))
		for ns := range pending.ByNamespace {
			if _, ok := usage.ByNamespace[ns]; !ok {
				all = append(all, ns)
			}
		}
		report.Families = familyUsages(all, capScope)
		report.Tenants = map[string]map[string]FamilyUsage{}
		for t, eff := range tenants {
			report.Tenants[t] = familyUsages(perTenantNamespaces[t], eff)
		}
	}
	return report
}

// listActivePodGPUs lists the non-terminal pods and what each asks for.
func listActivePodGPUs(ctx context.Context, c *kube.Client, namespace string) ([]quota.PodGPUs, error) {
	var out []quota.PodGPUs
	err := eachActivePod(ctx, c, namespace, func(p *corev1.Pod) {
		out = append(out, quota.PodGPUs{Namespace: p.Namespace, Node: p.Spec.NodeName, NodeSelector: p.Spec.NodeSelector,
			Resources: podRequests(p)})
	})
	return out, err
}

// eachActivePod calls fn for each non-terminal pod (phase not Succeeded or
// Failed, filtered by the API server) of a namespace ("" for all), read
// with one paginated LIST.
func eachActivePod(ctx context.Context, c *kube.Client, namespace string, fn func(*corev1.Pod)) error {
	opts := metav1.ListOptions{Limit: 500, FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"}
	for {
		var page *corev1.PodList
		err := kube.Retry(ctx, func(ctx context.Context) error {
			var err error
			page, err = c.Typed.CoreV1().Pods(namespace).List(ctx, opts)
			return err
		})
		if err != nil {
			return fmt.Errorf("listing the pods of namespace %q: %w", namespace, kube.Explain(err))
		}
		for i := range page.Items {
			fn(&page.Items[i])
		}
		if opts.Continue = page.Continue; opts.Continue == "" {
			return nil
		}
	}
}

// podRequests is a pod's effective request per resource in whole units
// (rounded up), computed as Kubernetes computes it (component-helpers'
// PodRequests): the containers and the restartable init containers
// (sidecars) add up; a plain init container counts with the sidecars
// declared before it, and the pod asks for the largest of these. Pod
// overhead is left out (it is CPU and memory, never GPUs). For extended
// resources a limit alone stands for the request: the API server defaults
// a missing request from the limit (for every resource), and pods that did
// not go through it (tests, plans) may not be defaulted yet.
func podRequests(p *corev1.Pod) map[string]int64 {
	reqs := resourcehelper.PodRequests(withDefaultedRequests(p), resourcehelper.PodResourcesOptions{ExcludeOverhead: true})
	out := make(map[string]int64, len(reqs))
	for k, q := range reqs {
		out[string(k)] = q.Value()
	}
	return out
}

// withDefaultedRequests returns p, or a copy of it when one of its
// containers sets the limit of a resource without its request, where the
// request is the limit (the API server's defaulting). p is not modified.
func withDefaultedRequests(p *corev1.Pod) *corev1.Pod {
	if !lacksRequests(p.Spec.Containers) && !lacksRequests(p.Spec.InitContainers) {
		return p
	}
	cp := *p
	cp.Spec.Containers = defaultedRequests(p.Spec.Containers)
	cp.Spec.InitContainers = defaultedRequests(p.Spec.InitContainers)
	return &cp
}

// lacksRequests reports whether a container sets a limit without a request.
func lacksRequests(cs []corev1.Container) bool {
	for i := range cs {
		for k := range cs[i].Resources.Limits {
			if _, ok := cs[i].Resources.Requests[k]; !ok {
				return true
			}
		}
	}
	return false
}

// defaultedRequests copies containers, with the limit as the request of
// every resource that has a limit and no request.
func defaultedRequests(cs []corev1.Container) []corev1.Container {
	if cs == nil {
		return nil
	}
	out := make([]corev1.Container, len(cs))
	for i, c := range cs {
		reqs := make(corev1.ResourceList, len(c.Resources.Limits)+len(c.Resources.Requests))
		for k, q := range c.Resources.Limits {
			reqs[k] = q
		}
		for k, q := range c.Resources.Requests {
			reqs[k] = q
		}
		c.Resources.Requests = reqs
		out[i] = c
	}
	return out
}

// crossCheckQuota compares the pods' usage with the ResourceQuota's
// status.used, which the API server counts at admission; a difference is
// logged (the quota's status lags behind for a few seconds).
func crossCheckQuota(ctx context.Context, c *kube.Client, namespace string, cat quota.Catalog, used map[string]int64) {
	rq, err := GetResourceQuota(ctx, c, namespace)
	if err != nil || rq == nil {
		return
	}
	fromQuota := QuotaUsed(rq)
	for f, n := range used {
		if q, ok := fromQuota[cat[f].QuotaKey()]; ok && q != n {
			tflog.Warn(ctx, "GPU usage from pods differs from the ResourceQuota's status.used",
				map[string]any{"namespace": namespace, "family": f, "pods": n, "quota": q})
		}
	}
}

func Oversubscribed(m map[string]FamilyUsage) bool {
	for _, u := range m {
		if u.Limit.Finite() && u.Used > u.Limit.N {
			return true
		}
	}
	return false
}
