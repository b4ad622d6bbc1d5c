package platform

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// ProjectDrift describes, for a plan, how a project's objects differ from
// what gpuplane writes: each line names the object, the field, who changed
// it (its field manager), the live value, and the value the apply restores.
// Empty when nothing differs. It reads the objects uncached: the read
// cache drops the field managers that say who changed what.
func ProjectDrift(ctx context.Context, c *kube.Client, p Project, t Tenant, cat quota.Catalog, eff quota.Scope) ([]string, error) {
	var out []string
	ns, err := GetNamespace(ctx, c, p.Namespace)
	if err != nil {
		return nil, err
	}
	if ns == nil {
		return []string{fmt.Sprintf("namespace %s is missing; the apply recreates it and everything gpuplane writes in it", p.Namespace)}, nil
	}
	for _, k := range slices.Sorted(maps.Keys(ProjectLabels(p.Tenant, p.Name, t.Labels, p.Labels))) {
		want := ProjectLabels(p.Tenant, p.Name, t.Labels, p.Labels)[k]
		if got, ok := ns.Labels[k]; !ok || got != want {
			out = append(out, fmt.Sprintf("namespace %s: label %s is %q%s; the apply restores %q",
				p.Namespace, k, got, changedBy(ns.ManagedFields, c.FieldManager, "f:"+k), want))
		}
	}
	rq, err := kube.GetAs[corev1.ResourceQuota](ctx, c, kube.ResourceQuotas, p.Namespace, GPUQuotaName)
	if err != nil {
		return nil, err
	}
	out = append(out, quotaDrift(rq, p.Namespace, quota.Hard(eff, cat), c.FieldManager)...)
	for _, b := range ProjectBindings(t, p.Roles) {
		live, err := kube.GetAs[rbacv1.RoleBinding](ctx, c, kube.RoleBindings, p.Namespace, b.Name)
		if err != nil {
			return nil, err
		}
		if ok, err := GroupBindingInSync(ctx, c, p.Namespace, b); err != nil || ok {
			continue
		}
		if live == nil {
			out = append(out, fmt.Sprintf("RoleBinding %s/%s is missing; the apply recreates it", p.Namespace, b.Name))
			continue
		}
		out = append(out, fmt.Sprintf("RoleBinding %s/%s grants %s to %s%s; the apply restores %s to groups [%s]", p.Namespace, b.Name,
			live.RoleRef.Name, subjectNames(live.Subjects), changedBy(live.ManagedFields, c.FieldManager, "f:subjects"),
			b.ClusterRole, strings.Join(b.Groups, ", ")))
	}
	if want := quota.PodMax(eff, cat); !maps.Equal(p.MaxPerPod, want) {
		out = append(out, fmt.Sprintf("Project %s/%s: spec.maxPerPod (the per-pod cap) is %v; the apply restores %v",
			p.Namespace, p.Name, p.MaxPerPod, want))
	}
	return out, nil
}

// quotaDrift compares a ResourceQuota's spec.hard with what gpuplane writes.
func quotaDrift(rq *corev1.ResourceQuota, namespace string, want map[string]int64, ours string) []string {
	if rq == nil {
		return []string{fmt.Sprintf("ResourceQuota %s/%s is missing; the apply recreates it", namespace, GPUQuotaName)}
	}
	var out []string
	keys := slices.Sorted(maps.Keys(want))
	for k := range rq.Spec.Hard {
		if _, ok := want[string(k)]; !ok {
			keys = append(keys, string(k))
		}
	}
	for _, k := range keys {
		q, ok := rq.Spec.Hard[corev1.ResourceName(k)]
		w, wanted := want[k]
		switch {
		case ok && wanted && q.Value() == w:
		case !wanted:
			out = append(out, fmt.Sprintf("ResourceQuota %s/%s: spec.hard[%s] is %s%s; gpuplane does not set it (it stays)",
				namespace, GPUQuotaName, k, q.String(), changedBy(rq.ManagedFields, ours, "f:"+k)))
		default:
			live := "missing"
			if ok {
				live = q.String()
			}
			out = append(out, fmt.Sprintf("ResourceQuota %s/%s: spec.hard[%s] is %s%s; the apply restores %d",
				namespace, GPUQuotaName, k, live, changedBy(rq.ManagedFields, ours, "f:"+k), w))
		}
	}
	return out
}

// changedBy names the field managers other than ours that own field.
func changedBy(entries []metav1.ManagedFieldsEntry, ours, field string) string {
	var managers []string
	for _, e := range entries {
		if e.Manager != ours && e.FieldsV1 != nil && strings.Contains(e.FieldsV1.GetRawString(), `"`+field+`"`) {
			managers = append(managers, e.Manager)
		}
	}
	if len(managers) == 0 {
		return ""
	}
	return fmt.Sprintf(" (set by %s)", strings.Join(managers, ", "))
}

func subjectNames(subjects []rbacv1.Subject) string {
	names := make([]string, 0, len(subjects))
	for _, s := range subjects {
		names = append(names, s.Kind+" "+s.Name)
	}
	return "[" + strings.Join(names, ", ") + "]"
}
