package platform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
)

// Waiting: with a watch where the API server can tell (objects gone), else
// polling with backoff (what only a request can prove, such as a dry-run).

// waitFor polls done until it reports true, fails with a non-transient
// error, or ctx (the resource timeout) ends.
func waitFor(ctx context.Context, what string, done func() (bool, error)) error {
	// What is awaited is usually there within tens of milliseconds (an
	// informer in the API server catching up): check again soon, then less
	// and less often.
	pause := 20 * time.Millisecond
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
		case <-time.After(pause):
		}
		pause = min(2*pause, time.Second)
	}
}

// WaitNamespacesGone waits until none of the namespaces exists (see waitGone).
func WaitNamespacesGone(ctx context.Context, c *kube.Client, names []string) error {
	if len(names) == 0 {
		return nil
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	selector := ""
	if len(names) == 1 {
		selector = fields.OneTermEqualSelector("metadata.name", names[0]).String()
	}
	return waitGone(ctx, c, kube.Namespaces, "", selector, func(name string) bool { return want[name] })
}

// waitGone waits, with one LIST and a watch (no polling), until no object
// of gvr that matches the label and field selectors and counts exists.
// A resource the API server does not serve has nothing to wait for.
// Namespaces that outlive ctx are reported with what is left in them.
func waitGone(ctx context.Context, c *kube.Client, gvr schema.GroupVersionResource, labelSelector, fieldSelector string, counts func(name string) bool) error {
	res := c.Dynamic.Resource(gvr)
	first, err := res.List(ctx, metav1.ListOptions{LabelSelector: labelSelector, FieldSelector: fieldSelector, Limit: 1})
	if apierrors.IsNotFound(err) || (err == nil && len(first.Items) == 0 && first.GetContinue() == "") {
		return nil // not served, or nothing to wait for
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.LabelSelector, o.FieldSelector = labelSelector, fieldSelector
			return res.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.LabelSelector, o.FieldSelector = labelSelector, fieldSelector
			return res.Watch(ctx, o)
		},
	}
	var store cache.Store
	left := func() []*unstructured.Unstructured {
		var out []*unstructured.Unstructured
		for _, o := range store.List() {
			if u, ok := o.(*unstructured.Unstructured); ok && counts(u.GetName()) {
				out = append(out, u)
			}
		}
		return out
	}
	_, err = watchtools.UntilWithSync(ctx, lw, &unstructured.Unstructured{},
		func(s cache.Store) (bool, error) { store = s; return len(left()) == 0, nil },
		func(watch.Event) (bool, error) { return len(left()) == 0, nil })
	switch {
	case err == nil || apierrors.IsNotFound(err):
		return nil
	case store == nil || ctx.Err() == nil || gvr != kube.Namespaces:
		return fmt.Errorf("waiting for %s to be deleted: %w", gvr.Resource, kube.Explain(err))
	}
	var stuck []string
	for _, u := range left() {
		var ns corev1.Namespace
		if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &ns) == nil {
			stuck = append(stuck, stillTerminating(&ns))
		}
	}
	return errors.New(strings.Join(stuck, "\n"))
}

// WaitTenantObjectsGone waits until no namespace (but except) and no Kueue
// ClusterQueue of the tenant (by its label) is left: its projects', also
// those whose deletion began earlier.
func WaitTenantObjectsGone(ctx context.Context, c *kube.Client, tenant string, queued bool, except string) error {
	if err := waitGone(ctx, c, kube.Namespaces, LabelTenant+"="+tenant, "", func(n string) bool { return n != except }); err != nil || !queued {
		return err
	}
	all := func(string) bool { return true }
	return waitGone(ctx, c, ClusterQueues, LabelTenant+"="+tenant, "", all)
}

// stillTerminating says what is left of a namespace that outlived the timeout.
func stillTerminating(ns *corev1.Namespace) string {
	var left []string
	for _, cond := range ns.Status.Conditions {
		if cond.Status == corev1.ConditionTrue {
			left = append(left, fmt.Sprintf("%s: %s", cond.Type, cond.Message))
		}
	}
	if len(left) == 0 {
		left = append(left, "no condition reported yet; is kube-controller-manager's namespace controller running?")
	}
	return fmt.Sprintf("namespace %q is still terminating after the timeout (raise the resource's timeouts, or see "+
		"`kubectl get all -n %s`); gpuplane does not strip finalizers. What is left: %s",
		ns.Name, ns.Name, strings.Join(left, "; "))
}
