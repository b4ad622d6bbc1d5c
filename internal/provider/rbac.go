package provider

import (
	"context"
	"slices"

	rbacv1 "k8s.io/api/rbac/v1"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// groupBinding is a RoleBinding of groups to a built-in ClusterRole in one namespace.
type groupBinding struct {
	Name        string
	ClusterRole string
	Groups      []string
}

func applyGroupBinding(ctx context.Context, c *kube.Client, namespace string, b groupBinding, labels map[string]string) error {
	rb := rbacv1ac.RoleBinding(b.Name, namespace).WithLabels(labels).
		WithRoleRef(rbacv1ac.RoleRef().WithAPIGroup(rbacv1.GroupName).WithKind("ClusterRole").WithName(b.ClusterRole))
	for _, g := range b.Groups {
		rb.WithSubjects(rbacv1ac.Subject().WithKind(rbacv1.GroupKind).WithAPIGroup(rbacv1.GroupName).WithName(g))
	}
	return kube.ApplyTyped(ctx, "RoleBinding", namespace+"/"+b.Name, func(ctx context.Context) error {
		_, err := c.Typed.RbacV1().RoleBindings(namespace).Apply(ctx, rb, c.ApplyOptions())
		return err
	})
}

// groupBindingInSync reports whether the live binding grants exactly what b says.
func groupBindingInSync(ctx context.Context, c *kube.Client, namespace string, b groupBinding) (bool, error) {
	live, err := kube.CachedGetAs[rbacv1.RoleBinding](ctx, c, kube.RoleBindings, kube.ManagedSelector, namespace, b.Name)
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
