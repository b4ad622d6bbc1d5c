package platform

import (
	"context"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// GroupBinding is a RoleBinding of groups to a built-in ClusterRole in one namespace.
type GroupBinding struct {
	Name        string
	ClusterRole string
	Groups      []string
}

// ApplyGroupBinding writes b in namespace.
func ApplyGroupBinding(ctx context.Context, c *kube.Client, namespace string, b GroupBinding, labels map[string]string) error {
	rb := rbacv1ac.RoleBinding(b.Name, namespace).WithLabels(labels).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(b.ClusterRole))
	for _, g := range b.Groups {
		rb.WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.GroupKind).WithAPIGroup(rbacv1.GroupName).WithName(g))
	}
	return reclaimingApply(ctx, c, kube.RoleBindings, namespace, b.Name, "RoleBinding", func(ctx context.Context, opts metav1.ApplyOptions) error {
		_, err := c.Typed.RbacV1().RoleBindings(namespace).Apply(ctx, rb, opts)
		return err
	})
}

// GroupBindingInSync reports whether the live binding grants exactly what b says.
func GroupBindingInSync(ctx context.Context, c *kube.Client, namespace string, b GroupBinding) (bool, error) {
	live, err := kube.CachedGetAs[rbacv1.RoleBinding](ctx, c, kube.RoleBindings, ManagedSelector, namespace, b.Name)
	if err != nil || live == nil {
		return false, err
	}
	if live.RoleRef.Kind != "ClusterRole" || live.RoleRef.Name != b.ClusterRole {
		return false, nil
	}
	var groups []string
	for _, s := range live.Subjects {
		if s.Kind != rbacv1.GroupKind {
			return false, nil
		}
		groups = append(groups, s.Name)
	}
	want := slices.Clone(b.Groups)
	slices.Sort(want)
	slices.Sort(groups)
	return slices.Equal(groups, want), nil
}

// TenantAdminBinding binds a tenant's admin groups to the built-in admin
// role, in the tenant namespace and in each of its project namespaces.
const TenantAdminBinding = "gpuplane-tenant-admins"

// DeleteRoleBindings deletes bindings; those already gone are no error.
func DeleteRoleBindings(ctx context.Context, c *kube.Client, rbs []rbacv1.RoleBinding) error {
	for _, rb := range rbs {
		err := kube.Retry(ctx, func(ctx context.Context) error {
			return c.Typed.RbacV1().RoleBindings(rb.Namespace).Delete(ctx, rb.Name, metav1.DeleteOptions{})
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return kube.Explain(err)
		}
	}
	return nil
}
