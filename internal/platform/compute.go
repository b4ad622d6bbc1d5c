package platform

import (
	"context"
	"slices"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// GetCompute reads a Compute's spec (from the cached LIST, see CachedGetOrGet); nil when there is none.
func GetCompute(ctx context.Context, c *kube.Client, name string) (*crds.ComputeSpec, error) {
	obj, err := c.CachedGetOrGet(ctx, crds.Computes, ManagedSelector, "", name)
	if err != nil || obj == nil {
		return nil, err
	}
	return specOf[crds.ComputeSpec](obj)
}

// CachedCompute reads a Compute's spec from the cached LIST of gpuplane's
// computes; nil when there is none.
func CachedCompute(ctx context.Context, c *kube.Client, name string) (*crds.ComputeSpec, error) {
	obj, err := c.CachedGet(ctx, crds.Computes, ManagedSelector, "", name)
	if err != nil || obj == nil {
		return nil, err
	}
	return specOf[crds.ComputeSpec](obj)
}

// WriteCompute writes the Compute object.
func WriteCompute(ctx context.Context, c *kube.Client, name string, spec crds.ComputeSpec) error {
	obj, err := crds.New("Compute", "", name, ManagedLabels(nil), &spec)
	if err == nil {
		_, err = reclaimingApplyObject(ctx, c, crds.Computes, obj)
	}
	return err
}

// DeleteCompute deletes the Compute object.
func DeleteCompute(ctx context.Context, c *kube.Client, name string) error {
	return c.Delete(ctx, crds.Computes, "", name)
}

// TenantsUsingCompute lists the tenants that list a compute, sorted.
func TenantsUsingCompute(ctx context.Context, c *kube.Client, compute string) ([]string, error) {
	items, err := c.List(ctx, crds.Tenants, "", "")
	if err != nil {
		return nil, err
	}
	var out []string
	for i := range items {
		spec, err := specOf[crds.TenantSpec](&items[i])
		if err != nil {
			return nil, err
		}
		if slices.Contains(spec.Computes, compute) {
			out = append(out, items[i].GetName())
		}
	}
	sort.Strings(out)
	return out, nil
}

// AttachComputes marks each compute the tenant attaches with the tenant's
// own label, written under a field manager of the tenant's own, and unmarks
// those it no longer attaches: server-side apply drops what that manager no
// longer sends. The exclusive-computes policy reads these labels.
func AttachComputes(ctx context.Context, c *kube.Client, tenant string, attach, prior []string) error {
	opts := metav1.ApplyOptions{FieldManager: c.FieldManager + "/tenant-" + tenant}
	mark := func(name string, labels map[string]string) error {
		obj := &unstructured.Unstructured{Object: map[string]any{}}
		obj.SetAPIVersion(crds.Group + "/" + crds.Version)
		obj.SetKind("Compute")
		obj.SetName(name)
		obj.SetLabels(labels)
		return kube.ApplyTyped(ctx, "Compute", name, func(ctx context.Context) error {
			_, err := c.Dynamic.Resource(crds.Computes).Apply(ctx, name, obj, opts)
			return err
		})
	}
	for _, name := range attach {
		if err := mark(name, map[string]string{LabelAttachedPrefix + tenant: "true"}); err != nil {
			return err
		}
	}
	for _, name := range prior {
		if slices.Contains(attach, name) {
			continue
		}
		// Applying to a deleted compute would create a bare one.
		if obj, err := c.Get(ctx, crds.Computes, "", name); err != nil || obj == nil {
			if err != nil {
				return err
			}
			continue
		}
		if err := mark(name, nil); err != nil {
			return err
		}
	}
	return nil
}

// ComputesAttached reports whether every compute carries the tenant's
// attached label (from the cached LIST of gpuplane's computes).
func ComputesAttached(ctx context.Context, c *kube.Client, tenant string, computes []string) (bool, error) {
	for _, compute := range computes {
		obj, err := c.CachedGet(ctx, crds.Computes, ManagedSelector, "", compute)
		if err != nil || obj == nil || obj.GetLabels()[LabelAttachedPrefix+tenant] != "true" {
			return false, err
		}
	}
	return true, nil
}
