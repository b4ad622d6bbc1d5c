package platform

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
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
	return kube.ApplyTyped(ctx, "ResourceQuota", namespace+"/"+GPUQuotaName, func(ctx context.Context) error {
		_, err := c.Typed.CoreV1().ResourceQuotas(namespace).Apply(ctx, rq, c.ApplyOptions())
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
