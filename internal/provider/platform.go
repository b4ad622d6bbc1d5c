package provider

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	rbacv1ac "k8s.io/client-go/applyconfigurations/rbac/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// viewRoleName is the ClusterRole that lets the built-in view, edit and
// admin roles read a project's own Project object, and nothing more: tenants
// and project admins must not write the object that holds their quota.
const viewRoleName = "gpuplane-view"

// installPlatform server-side applies the CRDs and ClusterRoles of this
// provider version and waits until the CRDs are served.
func installPlatform(ctx context.Context, c *kube.Client) error {
	all, err := crds.All()
	if err != nil {
		return err
	}
	for _, crd := range all {
		if _, err := c.Apply(ctx, crds.CustomResourceDefinitions, crd); err != nil {
			return err
		}
	}
	for _, crd := range all {
		if err := waitFor(ctx, "CRD "+crd.GetName()+" to be established", func() (bool, error) {
			obj, err := c.Get(ctx, crds.CustomResourceDefinitions, "", crd.GetName())
			return err == nil && obj != nil && crdEstablished(obj), err
		}); err != nil {
			return err
		}
	}
	role := rbacv1ac.ClusterRole(viewRoleName).
		WithLabels(managedLabels(map[string]string{
			"rbac.authorization.k8s.io/aggregate-to-view":  "true",
			"rbac.authorization.k8s.io/aggregate-to-edit":  "true",
			"rbac.authorization.k8s.io/aggregate-to-admin": "true",
		})).
		WithRules(rbacv1ac.PolicyRule().
			WithAPIGroups(crds.Group).
			WithResources("projects").
			WithVerbs("get", "list", "watch"))
	return kube.ApplyTyped(ctx, "ClusterRole", viewRoleName, func(ctx context.Context) error {
		_, err := c.Typed.RbacV1().ClusterRoles().Apply(ctx, role, c.ApplyOptions())
		return err
	})
}

// uninstallPlatform removes what installPlatform wrote and waits for the
// CRDs to be gone (the API server deletes their objects first).
func uninstallPlatform(ctx context.Context, c *kube.Client) error {
	err := kube.Retry(ctx, func(ctx context.Context) error {
		return c.Typed.RbacV1().ClusterRoles().DeleteCollection(ctx, metav1.DeleteOptions{},
			metav1.ListOptions{LabelSelector: kube.ManagedSelector})
	})
	if err != nil {
		return err
	}
	all, err := crds.All()
	if err != nil {
		return err
	}
	for _, crd := range all {
		if err := c.Delete(ctx, crds.CustomResourceDefinitions, "", crd.GetName()); err != nil {
			return err
		}
	}
	for _, crd := range all {
		if err := waitFor(ctx, "CRD "+crd.GetName()+" to be deleted", func() (bool, error) {
			obj, err := c.Get(ctx, crds.CustomResourceDefinitions, "", crd.GetName())
			return err == nil && obj == nil, err
		}); err != nil {
			return err
		}
	}
	return nil
}

func crdEstablished(obj *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// waitFor polls done until it reports true, fails with a non-transient
// error, or ctx (the resource timeout) ends.
func waitFor(ctx context.Context, what string, done func() (bool, error)) error {
	for {
		ok, err := done()
		if ok {
			return nil
		}
		if err != nil && !kube.IsTransient(err) && !apierrors.IsNotFound(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}
