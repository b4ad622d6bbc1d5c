package platform

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// GetDataplane reads a Dataplane's spec (uncached); nil when there is none.
func GetDataplane(ctx context.Context, c *kube.Client, name string) (*crds.DataplaneSpec, error) {
	obj, err := c.Get(ctx, crds.Dataplanes, "", name)
	if err != nil || obj == nil {
		return nil, err
	}
	return specOf[crds.DataplaneSpec](obj)
}

// CachedCatalog reads a dataplane's catalog from the cached LIST of
// gpuplane's dataplanes; nil when there is no such dataplane.
func CachedCatalog(ctx context.Context, c *kube.Client, name string) (quota.Catalog, error) {
	obj, err := c.CachedGet(ctx, crds.Dataplanes, ManagedSelector, "", name)
	if err != nil || obj == nil {
		return nil, err
	}
	spec, err := specOf[crds.DataplaneSpec](obj)
	if err != nil {
		return nil, err
	}
	return CatalogOf(*spec), nil
}

// FirstDataplane is the name of the cluster's dataplane ("" when none).
func FirstDataplane(ctx context.Context, c *kube.Client) (string, error) {
	all, err := c.List(ctx, crds.Dataplanes, "", "")
	if err != nil || len(all) == 0 {
		return "", err
	}
	return all[0].GetName(), nil
}

// WriteDataplane writes the Dataplane object.
func WriteDataplane(ctx context.Context, c *kube.Client, name string, spec crds.DataplaneSpec) error {
	obj, err := crds.New("Dataplane", "", name, ManagedLabels(nil), &spec)
	if err != nil {
		return err
	}
	if _, err = reclaimingApplyObject(ctx, c, crds.Dataplanes, obj); err != nil {
		return err
	}
	// The summary kubectl prints in the Families column (a printer column
	// can only print a map of families as raw JSON).
	status := &unstructured.Unstructured{Object: map[string]any{"status": map[string]any{"families": FamiliesSummary(spec.GPUFamilies)}}}
	status.SetAPIVersion(obj.GetAPIVersion())
	status.SetKind(obj.GetKind())
	status.SetName(name)
	return kube.Retry(ctx, func(ctx context.Context) error {
		_, err := c.Dynamic.Resource(crds.Dataplanes).ApplyStatus(ctx, name, status, c.ApplyOptions())
		return err
	})
}

// FamiliesSummary is "<family>=<resource or device class>, ..." by name.
func FamiliesSummary(families map[string]crds.GPUFamily) string {
	out := make([]string, 0, len(families))
	for _, name := range slices.Sorted(maps.Keys(families)) {
		f := families[name]
		what := f.ResourceName
		if what == "" {
			what = f.DeviceClass + " (DRA)"
		}
		out = append(out, name+"="+what)
	}
	return strings.Join(out, ", ")
}

// CheckSingleDataplane refuses a second dataplane on a cluster and an
// existing one that gpuplane did not write.
func CheckSingleDataplane(ctx context.Context, c *kube.Client, name string) error {
	existing, err := c.List(ctx, crds.Dataplanes, "", "")
	if apierrors.IsNotFound(err) {
		return nil // CRDs not installed yet: a new cluster.
	}
	if err != nil {
		return err
	}
	for _, dp := range existing {
		if dp.GetName() != name {
			return fmt.Errorf("this cluster already has dataplane %q, and a cluster has one dataplane. Use that name, "+
				"or bring it under this configuration with: terraform import gpuplane_dataplane.<name> %s", dp.GetName(), dp.GetName())
		}
		if !IsManaged(dp.GetLabels()) {
			return fmt.Errorf("dataplane %q exists but was not created by gpuplane (it lacks the label %s=%s). "+
				"Import it with: terraform import gpuplane_dataplane.<name> %s", name, LabelManagedBy, ManagedBy, name)
		}
	}
	return nil
}

// DataplaneDependents lists the tenants and computes on the cluster, sorted:
// deleting the dataplane (and its CRDs) would delete them.
func DataplaneDependents(ctx context.Context, c *kube.Client) (tenants, computes []string, err error) {
	for _, dep := range []struct {
		gvr schema.GroupVersionResource
		out *[]string
	}{{crds.Tenants, &tenants}, {crds.Computes, &computes}} {
		items, err := c.List(ctx, dep.gvr, "", "")
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, nil, err
		}
		*dep.out = objectNames(items)
	}
	return tenants, computes, nil
}

// DeleteDataplane deletes the Dataplane object, then what Install wrote.
func DeleteDataplane(ctx context.Context, c *kube.Client, name string) error {
	spec, err := GetDataplane(ctx, c, name)
	if err != nil {
		return err
	}
	// The flavors first: if that fails, the Dataplane object is still
	// there, and the next destroy tries again.
	if spec != nil && spec.QuotaBackend == BackendKueue {
		if err := DeleteFlavors(ctx, c); err != nil {
			return err
		}
	}
	if err := c.Delete(ctx, crds.Dataplanes, "", name); err != nil {
		return err
	}
	return Uninstall(ctx, c)
}

// ListNodes reads every node (from the cached LIST).
func ListNodes(ctx context.Context, c *kube.Client) ([]corev1.Node, error) {
	return kube.CachedListAs[corev1.Node](ctx, c, kube.Nodes, "")
}

// NodesMatching returns the nodes whose labels match selector.
func NodesMatching(nodes []corev1.Node, selector map[string]string) []corev1.Node {
	s := labels.SelectorFromSet(selector)
	return slices.DeleteFunc(slices.Clone(nodes), func(n corev1.Node) bool { return !s.Matches(labels.Set(n.Labels)) })
}

// GPUCapacity sums the allocatable resource over the nodes whose labels match selector.
func GPUCapacity(nodes []corev1.Node, resourceName string, selector map[string]string) int64 {
	var total int64
	for _, n := range NodesMatching(nodes, selector) {
		q, ok := n.Status.Allocatable[corev1.ResourceName(resourceName)]
		if !ok {
			q = n.Status.Capacity[corev1.ResourceName(resourceName)]
		}
		total += q.Value()
	}
	return total
}

// PoolCapacity sums the GPUs per extended-resource family on the nodes that
// match any of the selectors (each node once).
func PoolCapacity(nodes []corev1.Node, selectors map[string]map[string]string, cat quota.Catalog) map[string]int64 {
	var pool []corev1.Node
	for _, n := range nodes {
		for _, sel := range selectors {
			if labels.SelectorFromSet(sel).Matches(labels.Set(n.Labels)) {
				pool = append(pool, n)
				break
			}
		}
	}
	capacity := map[string]int64{}
	for f, fam := range cat {
		if fam.ResourceName != "" {
			capacity[f] = GPUCapacity(pool, fam.ResourceName, fam.NodeSelector)
		}
	}
	return capacity
}

// LabelsOf reads an object's labels, uncached and by name (an object
// gpuplane did not write is not in its label-selected lists); exists is
// false when there is no such object.
func LabelsOf(ctx context.Context, c *kube.Client, gvr schema.GroupVersionResource, namespace, name string) (labels map[string]string, exists bool, err error) {
	obj, err := c.Get(ctx, gvr, namespace, name)
	if err != nil || obj == nil {
		return nil, false, err
	}
	return obj.GetLabels(), true, nil
}

func specOf[T any](obj *unstructured.Unstructured) (*T, error) {
	out := new(T)
	if err := crds.SpecOf(obj, out); err != nil {
		return nil, fmt.Errorf("decoding %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	return out, nil
}

func objectNames(items []unstructured.Unstructured) []string {
	names := make([]string, 0, len(items))
	for _, it := range items {
		names = append(names, it.GetName())
	}
	sort.Strings(names)
	return names
}

// ServerVersion is the API server's version, e.g. v1.37.2.
func ServerVersion(ctx context.Context, c *kube.Client) (string, error) {
	var version string
	err := kube.Retry(ctx, func(context.Context) error {
		v, err := c.Typed.Discovery().ServerVersion()
		if err == nil {
			version = v.GitVersion
		}
		return err
	})
	return version, kube.Explain(err)
}

// RewriteAllDerived writes, for every tenant of a dataplane, what it and its
// projects derive from the catalog (RewriteDerived): a family whose resource
// name or device class changes moves every quota to its new key in the same
// apply.
func RewriteAllDerived(ctx context.Context, c *kube.Client, dataplane string, cat quota.Catalog) error {
	tenants, err := ListTenants(ctx, c)
	if err != nil {
		return err
	}
	for _, t := range tenants {
		if t.Dataplane != dataplane {
			continue
		}
		if err := RewriteDerived(ctx, c, t, cat); err != nil {
			return fmt.Errorf("tenant %q: %w", t.Name, err)
		}
	}
	return nil
}
