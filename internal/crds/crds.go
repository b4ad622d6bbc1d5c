// Package crds holds gpuplane's CustomResourceDefinitions, embedded in the
// provider binary so that a dataplane installs exactly the schema its
// provider version understands, and Go types for their specs.
package crds

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

// Group and Version of every gpuplane kind.
const (
	Group   = "tenancy.gpuplane.dev"
	Version = "v1alpha1"
)

// Resources of the gpuplane kinds.
var (
	Dataplanes        = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "dataplanes"}
	Computes          = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "computes"}
	Tenants           = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "tenants"}
	Projects          = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "projects"}
	TenantMemberships = schema.GroupVersionResource{Group: Group, Version: Version, Resource: "tenantmemberships"}
)

// CustomResourceDefinitions is the resource of CRDs themselves.
var CustomResourceDefinitions = schema.GroupVersionResource{
	Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions",
}

//go:embed manifests/*.yaml
var manifests embed.FS

// All returns the CRDs, sorted by name, as objects ready for server-side apply.
func All() ([]*unstructured.Unstructured, error) {
	names, err := fs.Glob(manifests, "manifests/*.yaml")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]*unstructured.Unstructured, 0, len(names))
	for _, n := range names {
		b, err := manifests.ReadFile(n)
		if err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := yaml.Unmarshal(b, &obj); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out = append(out, &unstructured.Unstructured{Object: obj})
	}
	return out, nil
}

// GPUFamily is one entry of a dataplane's catalog.
type GPUFamily struct {
	ResourceName string            `json:"resourceName,omitempty"`
	DeviceClass  string            `json:"deviceClass,omitempty"`
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`
}

// DataplaneSpec is the spec of a Dataplane.
type DataplaneSpec struct {
	// QuotaBackend is "resource-quota" (or empty) or "kueue".
	QuotaBackend string `json:"quotaBackend,omitempty"`
	// KueueServiceAccount is Kueue's controller identity, namespace/name.
	KueueServiceAccount string               `json:"kueueServiceAccount,omitempty"`
	GPUFamilies         map[string]GPUFamily `json:"gpuFamilies,omitempty"`
}

// Toleration mirrors the parts of a core/v1 Toleration a compute carries.
type Toleration struct {
	Key      string `json:"key,omitempty"`
	Operator string `json:"operator,omitempty"`
	Value    string `json:"value,omitempty"`
	Effect   string `json:"effect,omitempty"`
}

// ComputeSpec is the spec of a Compute.
type ComputeSpec struct {
	Dataplane    string            `json:"dataplane"`
	DisplayName  string            `json:"displayName,omitempty"`
	GPUFamily    string            `json:"gpuFamily,omitempty"`
	NodeSelector map[string]string `json:"nodeSelector"`
	Tolerations  []Toleration      `json:"tolerations,omitempty"`
}

// GPUQuota is a per-family quota: limits (total at once) and requests
// (largest single workload). The key "Default" covers unlisted families.
type GPUQuota struct {
	Limits   map[string]int64 `json:"limits,omitempty"`
	Requests map[string]int64 `json:"requests,omitempty"`
}

// TenantSpec is the spec of a Tenant.
type TenantSpec struct {
	Dataplane      string            `json:"dataplane"`
	Namespace      string            `json:"namespace"`
	DisplayName    string            `json:"displayName,omitempty"`
	AdminGroups    []string          `json:"adminGroups,omitempty"`
	Computes       []string          `json:"computes,omitempty"`
	GPUQuota       GPUQuota          `json:"gpuQuota"`
	Overcommit     bool              `json:"overcommit"`
	DeletionPolicy string            `json:"deletionPolicy,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
}

// RoleMapping maps the project roles to groups.
type RoleMapping struct {
	Viewer []string `json:"viewer,omitempty"`
	Editor []string `json:"editor,omitempty"`
	Admin  []string `json:"admin,omitempty"`
}

// ProjectSpec is the spec of a Project. The object lives in the project's
// namespace, so the namespace is its metadata.namespace.
type ProjectSpec struct {
	Tenant      string            `json:"tenant"`
	Project     string            `json:"project"`
	Compute     string            `json:"compute,omitempty"`
	RoleMapping RoleMapping       `json:"roleMapping"`
	GPUQuota    GPUQuota          `json:"gpuQuota"`
	Labels      map[string]string `json:"labels,omitempty"`
	// MaxPerPod is the per-workload GPU cap by resource name, computed from
	// the effective quota; the gpuplane admission policy reads it.
	MaxPerPod map[string]int64 `json:"maxPerPod,omitempty"`
	// Placement maps the tenant's computes to their node selectors; the
	// gpuplane placement policy admits only pods that select one of them.
	// Empty when the tenant lists no computes.
	Placement map[string]map[string]string `json:"placement,omitempty"`
	// Queue is set when Kueue enforces the project's quota.
	Queue *QueueParams `json:"queue,omitempty"`
	// DRA are the parameters of the gpuplane claims policy: the device
	// classes claims in the namespace may name (the catalog's), and the
	// per-claim cap per class.
	DRA *DRAParams `json:"dra,omitempty"`
}

// DRAParams are the parameters of the gpuplane claims policy.
type DRAParams struct {
	Classes     []string         `json:"classes"`
	MaxPerClaim map[string]int64 `json:"maxPerClaim,omitempty"`
}

// QueueParams are the parameters of the gpuplane Kueue admission policies
// in a project namespace.
type QueueParams struct {
	LocalQueue      string      `json:"localQueue"`
	Resources       []string    `json:"resources"`
	Admitters       []string    `json:"admitters"`
	PodCreators     []string    `json:"podCreators"`
	FamilyMaxPerPod []FamilyCap `json:"familyMaxPerPod,omitempty"`
}

// FamilyCap is the per-pod cap of one Kueue-enforced family.
type FamilyCap struct {
	Family     string            `json:"family"`
	Resource   string            `json:"resource"`
	NodeLabels map[string]string `json:"nodeLabels,omitempty"`
	Max        int64             `json:"max"`
}

// Subject is a user, group or service account.
type Subject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

// TenantMembershipSpec is the spec of a TenantMembership. Its object is
// named <tenant>.<membership>.
type TenantMembershipSpec struct {
	Tenant     string  `json:"tenant"`
	Membership string  `json:"membership"`
	Subject    Subject `json:"subject"`
	Role       string  `json:"role"`
	// Projects are the covered projects; empty: every project of the tenant.
	Projects []string `json:"projects,omitempty"`
}

// SpecOf decodes the spec of obj into out.
func SpecOf(obj *unstructured.Unstructured, out any) error {
	spec, _, err := unstructured.NestedMap(obj.Object, "spec")
	if err != nil {
		return err
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(spec, out)
}

// New returns an object of the given kind with name, namespace, labels and
// spec (a pointer to a spec struct) set.
func New(kind, namespace, name string, labels map[string]string, spec any) (*unstructured.Unstructured, error) {
	s, err := runtime.DefaultUnstructuredConverter.ToUnstructured(spec)
	if err != nil {
		return nil, err
	}
	obj := &unstructured.Unstructured{Object: map[string]any{"spec": s}}
	obj.SetAPIVersion(Group + "/" + Version)
	obj.SetKind(kind)
	obj.SetName(name)
	if namespace != "" {
		obj.SetNamespace(namespace)
	}
	obj.SetLabels(labels)
	return obj, nil
}
