package platform

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// GPUQuotaName names the ResourceQuota gpuplane writes in
// tenant and project namespaces.
const GPUQuotaName = "gpuplane-gpu"

func resourceList(m map[string]int64) corev1.ResourceList {
	rl := corev1.ResourceList{}
	for k, v := range m {
		rl[corev1.ResourceName(k)] = *resource.NewQuantity(v, resource.DecimalSI)
	}
	return rl
}

// ApplyResourceQuota writes the GPU ResourceQuota; the API server enforces
// it atomically at admission. Keys no longer listed are dropped by
// server-side apply, since we owned them.
func ApplyResourceQuota(ctx context.Context, c *kube.Client, namespace string, hard map[string]int64, labels map[string]string) error {
	rq := corev1ac.ResourceQuota(GPUQuotaName, namespace).WithLabels(labels).
		WithSpec(corev1ac.ResourceQuotaSpec().WithHard(resourceList(hard)))
	return reclaimingApply(ctx, c, kube.ResourceQuotas, namespace, GPUQuotaName, "ResourceQuota", func(ctx context.Context, opts metav1.ApplyOptions) error {
		_, err := c.Typed.CoreV1().ResourceQuotas(namespace).Apply(ctx, rq, opts)
		return err
	})
}

// GetResourceQuota reads the GPU ResourceQuota (from the cached LIST of
// gpuplane's quotas); a missing one is (nil, nil).
func GetResourceQuota(ctx context.Context, c *kube.Client, namespace string) (*corev1.ResourceQuota, error) {
	return kube.CachedGetAs[corev1.ResourceQuota](ctx, c, kube.ResourceQuotas, ManagedSelector, namespace, GPUQuotaName)
}

// QuotaUsed is a ResourceQuota's status.used in whole units.
func QuotaUsed(rq *corev1.ResourceQuota) map[string]int64 {
	out := map[string]int64{}
	if rq == nil {
		return out
	}
	for k, q := range rq.Status.Used {
		out[string(k)] = q.Value()
	}
	return out
}

// ResourceListEqual reports whether a live quota's list holds exactly want, in whole units.
func ResourceListEqual(live corev1.ResourceList, want map[string]int64) bool {
	got := map[string]int64{}
	for k, q := range live {
		got[string(k)] = q.Value()
	}
	return maps.Equal(got, want)
}

// UsedPerQuotaKey is what the namespaces use now, per quota key of the
// catalog's families: from each namespace's GPU ResourceQuota status where
// it counts the key, else from the namespace's non-terminal pods (a family
// that had no limit has no key in the quota yet). The pods of a namespace
// are listed only when its quota lacks a key.
func UsedPerQuotaKey(ctx context.Context, c *kube.Client, namespaces []string, cat quota.Catalog) (map[string]int64, error) {
	out := map[string]int64{}
	var nodeLabels map[string]map[string]string
	for _, ns := range namespaces {
		rq, err := GetResourceQuota(ctx, c, ns)
		if err != nil {
			return nil, err
		}
		counted := map[string]bool{}
		if rq != nil {
			for k, q := range rq.Status.Used {
				counted[string(k)] = true
				out[string(k)] += q.Value()
			}
		}
		missing := false
		for _, f := range cat {
			missing = missing || !counted[f.QuotaKey()]
		}
		if !missing {
			continue
		}
		if nodeLabels == nil {
			nodes, err := ListNodes(ctx, c)
			if err != nil {
				return nil, err
			}
			nodeLabels = map[string]map[string]string{}
			for _, n := range nodes {
				nodeLabels[n.Name] = n.Labels
			}
		}
		pods, err := listActivePodGPUs(ctx, c, ns)
		if err != nil {
			return nil, err
		}
		for family, n := range quota.AttributeUsage(pods, cat, nodeLabels).Sum(ns) {
			if key := cat[family].QuotaKey(); !counted[key] {
				out[key] += n
			}
		}
	}
	return out, nil
}
