package kube

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// listCache keeps label-selected LISTs for the life of one client (one
// Terraform operation), so that refreshing N objects costs a few LISTs per
// kind instead of N GETs. Every write the client sends bumps gen, which
// drops every cached list: a read after our own write is never stale.
type listCache struct {
	gen     atomic.Int64
	mu      sync.Mutex
	entries map[string]*cachedList
}

type cachedList struct {
	gen   int64
	items []unstructured.Unstructured
	index map[string]*unstructured.Unstructured // namespace/name
}

// writeCounter bumps the cache generation on every request that is not a read.
type writeCounter struct {
	next http.RoundTripper
	gen  *atomic.Int64
}

func (w writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.gen.Add(1)
	}
	return w.next.RoundTrip(r)
}

// CachedList returns every object of gvr (all namespaces) matching the label
// selector, from one paginated LIST per client and write generation. A
// resource the API server does not serve (CRDs not installed) is empty.
func (c *Client) CachedList(ctx context.Context, gvr schema.GroupVersionResource, selector string) ([]unstructured.Unstructured, error) {
	l, err := c.cachedList(ctx, gvr, selector)
	if err != nil {
		return nil, err
	}
	return l.items, nil
}

// CachedGet returns one object from the cached list of gvr and selector;
// a missing one is (nil, nil). The object must carry the selector's labels.
func (c *Client) CachedGet(ctx context.Context, gvr schema.GroupVersionResource, selector, namespace, name string) (*unstructured.Unstructured, error) {
	l, err := c.cachedList(ctx, gvr, selector)
	if err != nil {
		return nil, err
	}
	return l.index[namespace+"/"+name], nil
}

func (c *Client) cachedList(ctx context.Context, gvr schema.GroupVersionResource, selector string) (*cachedList, error) {
	key := gvr.String() + "?" + selector
	gen := c.cache.gen.Load()
	c.cache.mu.Lock()
	l, ok := c.cache.entries[key]
	c.cache.mu.Unlock()
	if ok && l.gen == gen {
		return l, nil
	}
	items, err := c.List(ctx, gvr, "", selector)
	if apierrors.IsNotFound(err) {
		items, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	l = &cachedList{gen: gen, items: items, index: make(map[string]*unstructured.Unstructured, len(items))}
	for i := range items {
		l.index[items[i].GetNamespace()+"/"+items[i].GetName()] = &items[i]
	}
	c.cache.mu.Lock()
	c.cache.entries[key] = l
	c.cache.mu.Unlock()
	return l, nil
}

// Resources of the built-in kinds gpuplane reads through the cache.
var (
	Namespaces     = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	Nodes          = schema.GroupVersionResource{Version: "v1", Resource: "nodes"}
	ResourceQuotas = schema.GroupVersionResource{Version: "v1", Resource: "resourcequotas"}
	RoleBindings   = schema.GroupVersionResource{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"}
)

// CachedGetAs is CachedGet decoded into a typed object; nil when missing.
func CachedGetAs[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, selector, namespace, name string) (*T, error) {
	obj, err := c.CachedGet(ctx, gvr, selector, namespace, name)
	if err != nil || obj == nil {
		return nil, err
	}
	out := new(T)
	return out, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out)
}

// CachedListAs is CachedList decoded into typed objects.
func CachedListAs[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, selector string) ([]T, error) {
	items, err := c.CachedList(ctx, gvr, selector)
	if err != nil {
		return nil, err
	}
	out := make([]T, len(items))
	for i := range items {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(items[i].Object, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Forget drops every cached list, so the next cached read lists afresh: for
// a wait that watches what others change.
func (c *Client) Forget() { c.cache.gen.Add(1) }
