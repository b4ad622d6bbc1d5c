package platform

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// Writing, checking and deleting the Kueue objects of the mapping in kueue.go.

// kueueObject is one of Kueue's objects with its spec, to apply.
func kueueObject(kind, namespace, name string, labels map[string]string, spec any) (*unstructured.Unstructured, error) {
	s, err := runtime.DefaultUnstructuredConverter.ToUnstructured(spec)
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": s}}
	obj.SetAPIVersion(kueue.GroupVersion.String())
	obj.SetKind(kind)
	obj.SetName(name)
	obj.SetNamespace(namespace)
	obj.SetLabels(labels)
	return obj, nil
}

func applyKueue(ctx context.Context, c *kube.Client, kind, namespace, name string, labels map[string]string, spec any) error {
	obj, err := kueueObject(kind, namespace, name, labels, spec)
	if err == nil {
		_, err = reclaimingApplyObject(ctx, c, kueue.GroupVersion.WithResource(strings.ToLower(kind)+"s"), obj)
	}
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: is Kueue installed? quota_backend = %q needs Kueue's API %s", err, BackendKueue, KueueAPIVersion)
	}
	return err
}

// WriteFlavors writes a ResourceFlavor per Kueue family and the default
// flavor, and deletes gpuplane's flavors of families no longer in the catalog.
func WriteFlavors(ctx context.Context, c *kube.Client, cat quota.Catalog) error {
	want := map[string]bool{DefaultFlavor: true}
	if err := applyKueue(ctx, c, "ResourceFlavor", "", DefaultFlavor, ManagedLabels(nil), &kueue.ResourceFlavorSpec{}); err != nil {
		return err
	}
	for _, f := range cat.Names() {
		if !cat[f].Queued {
			continue
		}
		want[FlavorName(f)] = true
		spec := kueue.ResourceFlavorSpec{NodeLabels: cat[f].NodeSelector}
		if err := applyKueue(ctx, c, "ResourceFlavor", "", FlavorName(f), ManagedLabels(nil), &spec); err != nil {
			return err
		}
	}
	live, err := c.List(ctx, ResourceFlavors, "", ManagedSelector)
	if err != nil {
		return err
	}
	for _, fl := range live {
		if !want[fl.GetName()] {
			if err := c.Delete(ctx, ResourceFlavors, "", fl.GetName()); err != nil {
				return err
			}
		}
	}
	return nil
}

// DrainQueue stops a project's ClusterQueue with Kueue's HoldAndDrain
// stop policy (no new admissions; admitted workloads are evicted, which
// suspends their Jobs) and waits until no workload holds its quota.
func DrainQueue(ctx context.Context, c *kube.Client, name string) error {
	obj, err := c.Get(ctx, ClusterQueues, "", name)
	if err != nil || obj == nil {
		return err
	}
	patch := []byte(`{"spec":{"stopPolicy":"` + string(kueue.HoldAndDrain) + `"}}`)
	err = kube.Retry(ctx, func(ctx context.Context) error {
		_, err := c.Dynamic.Resource(ClusterQueues).Patch(ctx, name, types.MergePatchType, patch, metav1.PatchOptions{FieldManager: c.FieldManager})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("stopping ClusterQueue %s: %w", name, kube.Explain(err))
	}
	return waitFor(ctx, "ClusterQueue "+name+" to drain", func() (bool, error) {
		cq, err := getAs[kueue.ClusterQueue](ctx, c, ClusterQueues, "", name)
		return err == nil && (cq == nil || cq.Status.ReservingWorkloads+cq.Status.AdmittedWorkloads == 0), err
	})
}

// deleteAndWait deletes an object and waits until it is gone (Kueue holds
// queues, cohorts and flavors with finalizers while they are in use).
func deleteAndWait(ctx context.Context, c *kube.Client, gvr schema.GroupVersionResource, namespace, name string) error {
	if err := c.Delete(ctx, gvr, namespace, name); err != nil {
		return err
	}
	return waitFor(ctx, gvr.Resource+" "+name+" to be deleted", func() (bool, error) {
		obj, err := c.Get(ctx, gvr, namespace, name)
		return err == nil && obj == nil, err
	})
}

// DeleteQueue deletes a project's ClusterQueue (drained, its namespace and
// so its LocalQueue and workloads deleted first).
func DeleteQueue(ctx context.Context, c *kube.Client, name string) error {
	return deleteAndWait(ctx, c, ClusterQueues, "", name)
}

// DeleteCohort deletes a tenant's Cohort.
func DeleteCohort(ctx context.Context, c *kube.Client, tenant string) error {
	return deleteAndWait(ctx, c, Cohorts, "", CohortName(tenant))
}

// DeleteFlavors deletes gpuplane's ResourceFlavors (dataplane delete, or a
// switch back to the resource-quota backend).
func DeleteFlavors(ctx context.Context, c *kube.Client) error {
	live, err := c.List(ctx, ResourceFlavors, "", ManagedSelector)
	if apierrors.IsNotFound(err) {
		return nil // Kueue is not installed
	}
	if err != nil {
		return err
	}
	for _, fl := range live {
		if err := deleteAndWait(ctx, c, ResourceFlavors, "", fl.GetName()); err != nil {
			return err
		}
	}
	return nil
}

func getAs[T any](ctx context.Context, c *kube.Client, gvr schema.GroupVersionResource, namespace, name string) (*T, error) {
	obj, err := c.Get(ctx, gvr, namespace, name)
	if err != nil || obj == nil {
		return nil, err
	}
	out := new(T)
	return out, fromUnstructured(obj, out)
}

func fromUnstructured(obj *unstructured.Unstructured, out any) error {
	return runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out)
}

// WriteCohort writes a tenant's Cohort.
func WriteCohort(ctx context.Context, c *kube.Client, t Tenant, cat quota.Catalog) error {
	spec := CohortSpec(cat, quota.TenantEffective(t.Quota, cat.Names()))
	return applyKueue(ctx, c, "Cohort", "", CohortName(t.Name), TenantLabels(t.Name, t.Labels), &spec)
}

// WriteQueues writes a project's ClusterQueue and LocalQueue and waits
// until Kueue reports the ClusterQueue active: then Kueue admits its
// workloads, and a missing Kueue controller is an error, not a silent stall.
func WriteQueues(ctx context.Context, c *kube.Client, p Project, t Tenant, cat quota.Catalog, eff quota.Scope, labels map[string]string) error {
	cq := ClusterQueueSpec(t.Name, p.Namespace, t.Overcommit, cat, eff)
	if err := applyKueue(ctx, c, "ClusterQueue", "", p.Namespace, labels, &cq); err != nil {
		return err
	}
	lq := kueue.LocalQueueSpec{ClusterQueue: kueue.ClusterQueueReference(p.Namespace)}
	if err := applyKueue(ctx, c, "LocalQueue", p.Namespace, LocalQueueName, labels, &lq); err != nil {
		return err
	}
	return waitQueueActive(ctx, c, p.Namespace)
}

func waitQueueActive(ctx context.Context, c *kube.Client, name string) error {
	// Kueue reports within seconds; a missing controller should not cost
	// the whole resource timeout.
	ctx, cancel := context.WithTimeout(ctx, queueActiveTimeout)
	defer cancel()
	last := "Kueue has not reported on it yet; is Kueue's controller manager running?"
	err := waitFor(ctx, "ClusterQueue "+name+" to be active", func() (bool, error) {
		obj, err := c.Get(ctx, ClusterQueues, "", name)
		if err != nil || obj == nil {
			return false, err
		}
		cq := new(kueue.ClusterQueue)
		if err := fromUnstructured(obj, cq); err != nil {
			return false, err
		}
		cond := meta.FindStatusCondition(cq.Status.Conditions, kueue.ClusterQueueActive)
		if cond == nil {
			return false, nil
		}
		last = cond.Reason + ": " + cond.Message
		return cond.Status == metav1.ConditionTrue, nil
	})
	if err != nil {
		return fmt.Errorf("%w (last: %s)", err, last)
	}
	return nil
}

// CohortInSync reports whether a tenant's Cohort is as WriteCohort writes it.
func CohortInSync(ctx context.Context, c *kube.Client, t Tenant, cat quota.Catalog) (bool, error) {
	if !cat.Queued() {
		return true, nil
	}
	live, err := kube.CachedGetAs[kueue.Cohort](ctx, c, Cohorts, ManagedSelector, "", CohortName(t.Name))
	if err != nil || live == nil {
		return false, err
	}
	want := CohortSpec(cat, quota.TenantEffective(t.Quota, cat.Names()))
	return equality.Semantic.DeepEqual(live.Spec.ResourceGroups, want.ResourceGroups), nil
}

// QueuesInSync reports whether a project's ClusterQueue and LocalQueue are
// as WriteQueues writes them.
func QueuesInSync(ctx context.Context, c *kube.Client, p Project, t Tenant, cat quota.Catalog, eff quota.Scope) (bool, error) {
	if !cat.Queued() {
		return true, nil
	}
	live, err := kube.CachedGetAs[kueue.ClusterQueue](ctx, c, ClusterQueues, ManagedSelector, "", p.Namespace)
	if err != nil || live == nil {
		return false, err
	}
	want := ClusterQueueSpec(t.Name, p.Namespace, t.Overcommit, cat, eff)
	if live.Spec.CohortName != want.CohortName || !equality.Semantic.DeepEqual(live.Spec.ResourceGroups, want.ResourceGroups) ||
		live.Spec.StopPolicy == nil || *live.Spec.StopPolicy != kueue.None ||
		!equality.Semantic.DeepEqual(live.Spec.NamespaceSelector, want.NamespaceSelector) {
		return false, nil
	}
	lq, err := kube.CachedGetAs[kueue.LocalQueue](ctx, c, LocalQueues, ManagedSelector, p.Namespace, LocalQueueName)
	return err == nil && lq != nil && string(lq.Spec.ClusterQueue) == p.Namespace, err
}

// KueueAPIVersion is the Kueue API gpuplane writes.
var KueueAPIVersion = kueue.GroupVersion.String()

// MissingKueueAPI names the Kueue resources gpuplane needs that the
// cluster does not serve (all of them when Kueue is not installed).
func MissingKueueAPI(ctx context.Context, c *kube.Client) ([]string, error) {
	need := []string{ResourceFlavors.Resource, Cohorts.Resource, ClusterQueues.Resource, LocalQueues.Resource, KueueWorkloads.Resource}
	var list *metav1.APIResourceList
	err := kube.Retry(ctx, func(context.Context) error {
		var err error
		list, err = c.Typed.Discovery().ServerResourcesForGroupVersion(KueueAPIVersion)
		return err
	})
	if apierrors.IsNotFound(err) {
		return need, nil
	}
	if err != nil {
		return nil, kube.Explain(err)
	}
	return slices.DeleteFunc(need, func(r string) bool {
		return slices.ContainsFunc(list.APIResources, func(ar metav1.APIResource) bool { return ar.Name == r })
	}), nil
}
