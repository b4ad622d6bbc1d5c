package kube

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ApplyOptions are the options of every server-side apply: our field
// manager, and never Force, so another manager's fields are a conflict.
func (c *Client) ApplyOptions() metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: c.FieldManager}
}

// ForceApplyOptions take over, from other field managers, exactly the
// fields the apply sends; fields it does not send stay theirs. gpuplane
// forces only on objects it created (see platform's reclaiming applies).
func (c *Client) ForceApplyOptions() metav1.ApplyOptions {
	return metav1.ApplyOptions{FieldManager: c.FieldManager, Force: true}
}

// Apply server-side applies obj (cluster-scoped when its namespace is empty),
// retrying transient errors.
func (c *Client) Apply(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		out, err = c.Dynamic.Resource(gvr).Namespace(obj.GetNamespace()).Apply(ctx, obj.GetName(), obj, c.ApplyOptions())
		return err
	})
	if err != nil {
		return nil, ApplyError(obj.GetKind(), objectKey(obj.GetNamespace(), obj.GetName()), err)
	}
	return out, nil
}

// Get reads one object, retrying transient errors. A missing object is
// (nil, nil).
func (c *Client) Get(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	err := Retry(ctx, func(ctx context.Context) error {
		var err error
		out, err = c.Dynamic.Resource(gvr).Namespace(namespace).Get(ctx, name, metav1.GetOptions{})
		return err
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return out, Explain(err)
}

// List reads every object of gvr matching the label selector, page by page.
func (c *Client) List(ctx context.Context, gvr schema.GroupVersionResource, namespace, selector string) ([]unstructured.Unstructured, error) {
	return c.list(ctx, gvr, namespace, selector, "")
}

// list is List with a field selector too.
func (c *Client) list(ctx context.Context, gvr schema.GroupVersionResource, namespace, selector, fields string) ([]unstructured.Unstructured, error) {
	var items []unstructured.Unstructured
	opts := metav1.ListOptions{LabelSelector: selector, FieldSelector: fields, Limit: 500}
	for {
		var page *unstructured.UnstructuredList
		err := Retry(ctx, func(ctx context.Context) error {
			var err error
			page, err = c.Dynamic.Resource(gvr).Namespace(namespace).List(ctx, opts)
			return err
		})
		if err != nil {
			return nil, Explain(err)
		}
		items = append(items, page.Items...)
		if page.GetContinue() == "" {
			return items, nil
		}
		opts.Continue = page.GetContinue()
	}
}

// Delete deletes one object in the background; a missing one is no error.
func (c *Client) Delete(ctx context.Context, gvr schema.GroupVersionResource, namespace, name string) error {
	policy := metav1.DeletePropagationBackground
	err := Retry(ctx, func(ctx context.Context) error {
		return c.Dynamic.Resource(gvr).Namespace(namespace).Delete(ctx, name, metav1.DeleteOptions{PropagationPolicy: &policy})
	})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return Explain(err)
}

// ApplyError explains a failed apply; a field-manager conflict names the
// other manager (the API server's message does) and says why we don't force.
func ApplyError(kind, key string, err error) error {
	if IsFieldManagerConflict(err) {
		return fmt.Errorf("%s %s has fields owned by another field manager; gpuplane never takes them over by force. "+
			"Remove that manager's change (or its fields) and apply again: %w", kind, key, err)
	}
	return fmt.Errorf("applying %s %s: %w", kind, key, Explain(err))
}

func objectKey(namespace, name string) string {
	if namespace == "" {
		return name
	}
	return namespace + "/" + name
}

// ApplyTyped runs one typed server-side apply call (built with c.ApplyOptions)
// with retries, and explains a failure naming the object.
func ApplyTyped(ctx context.Context, kind, key string, apply func(context.Context) error) error {
	if err := Retry(ctx, apply); err != nil {
		return ApplyError(kind, key, err)
	}
	return nil
}
