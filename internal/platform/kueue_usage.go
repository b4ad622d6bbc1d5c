package platform

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// queueUsage is, for Kueue's families, what the projects' ClusterQueues
// have admitted and what waits in them, by project namespace and family.
type queueUsage struct {
	admitted, pending map[string]map[string]int64
	queues            map[string]bool // namespaces with a gpuplane ClusterQueue
}

func add(m map[string]map[string]int64, ns, family string, n int64) {
	if m[ns] == nil {
		m[ns] = map[string]int64{}
	}
	m[ns][family] += n
}

// readQueueUsage reads gpuplane's ClusterQueues (status.flavorsUsage: the
// quota their admitted workloads use, per flavor) and the workloads of
// namespace ("" for all) that wait for admission. A waiting workload counts
// under the first family Kueue would try for it: in catalog order, the
// first of its resource whose node labels its pods do not contradict.
func readQueueUsage(ctx context.Context, c *kube.Client, cat quota.Catalog, namespace string) (*queueUsage, error) {
	u := &queueUsage{admitted: map[string]map[string]int64{}, pending: map[string]map[string]int64{}, queues: map[string]bool{}}
	byFlavor := map[string]string{}
	for _, f := range cat.Names() {
		if cat[f].Queued {
			byFlavor[FlavorName(f)] = f
		}
	}
	cqs, err := c.List(ctx, ClusterQueues, "", ManagedSelector)
	if apierrors.IsNotFound(err) {
		return u, nil // Kueue is not installed
	}
	if err != nil {
		return nil, err
	}
	for i := range cqs {
		cq := new(kueue.ClusterQueue)
		if err := fromUnstructured(&cqs[i], cq); err != nil {
			return nil, err
		}
		if namespace != "" && cq.Name != namespace {
			continue
		}
		u.queues[cq.Name] = true
		for _, fu := range cq.Status.FlavorsUsage {
			f, ok := byFlavor[string(fu.Name)]
			if !ok {
				continue
			}
			for _, r := range fu.Resources {
				if string(r.Name) == cat[f].ResourceName {
					add(u.admitted, cq.Name, f, r.Total.Value())
				}
			}
		}
	}
	wls, err := c.List(ctx, KueueWorkloads, namespace, "")
	if err != nil {
		return nil, err
	}
	for i := range wls {
		wl := new(kueue.Workload)
		if err := fromUnstructured(&wls[i], wl); err != nil {
			return nil, err
		}
		// Only what waits in a gpuplane project's own queue.
		if !u.queues[wl.Namespace] || string(wl.Spec.QueueName) != LocalQueueName ||
			wl.Status.Admission != nil || meta.IsStatusConditionTrue(wl.Status.Conditions, kueue.WorkloadFinished) {
			continue
		}
		for _, ps := range wl.Spec.PodSets {
			pod := &corev1.Pod{Spec: ps.Template.Spec}
			for res, n := range podRequests(pod) {
				if f := firstFlavorFor(cat, res, ps.Template.Spec.NodeSelector); f != "" && n > 0 {
					add(u.pending, wl.Namespace, f, int64(ps.Count)*n)
				}
			}
		}
	}
	return u, nil
}

// firstFlavorFor is the first Kueue family (catalog order) of resource res
// whose node labels the node selector does not contradict; "" when none.
func firstFlavorFor(cat quota.Catalog, res string, selector map[string]string) string {
	for _, f := range cat.Names() {
		fam := cat[f]
		if !fam.Queued || fam.ResourceName != res {
			continue
		}
		ok := true
		for k, v := range fam.NodeSelector {
			if s, set := selector[k]; set && s != v {
				ok = false
			}
		}
		if ok {
			return f
		}
	}
	return ""
}

// withQueueUsage replaces, in the namespaces of gpuplane's queues, the
// pod-counted use of Kueue's families by what the queues report admitted;
// GPU pods elsewhere (outside any project) keep counting by their pods.
func withQueueUsage(u quota.Usage, cat quota.Catalog, qu *queueUsage) quota.Usage {
	for ns, m := range u.ByNamespace {
		if !qu.queues[ns] {
			continue
		}
		for f := range m {
			if cat[f].Queued {
				delete(m, f)
			}
		}
	}
	for ns, m := range qu.admitted {
		for f, n := range m {
			if u.ByNamespace[ns] == nil {
				u.ByNamespace[ns] = map[string]int64{}
			}
			u.ByNamespace[ns][f] += n
		}
	}
	return u
}
