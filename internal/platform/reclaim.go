package platform

import (
	"context"

	"github.com/hashicorp/terraform-plugin-log/tflog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// Objects gpuplane created are gpuplane's: when someone changes a field
// gpuplane sets (kubectl edit raises a quota), the next apply takes it back,
// forcing on exactly the fields it sends; fields it does not send stay with
// whoever set them. Objects gpuplane did not create (no managed-by label)
// are never forced: the conflict stays an error that names the manager and
// the field.

// reclaimingApply runs apply without force; on a conflict with another
// field manager, if the live object (read by gvr) carries gpuplane's
// managed-by label, it runs apply again with force.
func reclaimingApply(ctx context.Context, c *kube.Client, gvr schema.GroupVersionResource, namespace, name, kind string,
	apply func(context.Context, metav1.ApplyOptions) error) error {
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	err := kube.ApplyTyped(ctx, kind, key, func(ctx context.Context) error { return apply(ctx, c.ApplyOptions()) })
	if !kube.IsFieldManagerConflict(err) {
		return err
	}
	labels, exists, getErr := LabelsOf(ctx, c, gvr, namespace, name)
	if getErr != nil || !exists || !IsManaged(labels) {
		return err
	}
	tflog.Warn(ctx, "taking back the fields gpuplane sets, which another field manager changed", map[string]any{
		"kind": kind, "object": key, "conflict": err.Error()})
	return kube.ApplyTyped(ctx, kind, key, func(ctx context.Context) error { return apply(ctx, c.ForceApplyOptions()) })
}

// reclaimingApplyObject is reclaimingApply for one of gpuplane's own kinds.
func reclaimingApplyObject(ctx context.Context, c *kube.Client, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	err := reclaimingApply(ctx, c, gvr, obj.GetNamespace(), obj.GetName(), obj.GetKind(), func(ctx context.Context, opts metav1.ApplyOptions) error {
		var err error
		out, err = c.Dynamic.Resource(gvr).Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, opts)
		return err
	})
	return out, err
}
