package kube

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// listCache keeps label-selected LISTs for the life of one client (one
// Terraform operation), so that refreshing N objects costs a few LISTs per
// kind instead of N GETs. Every write the client sends bumps the generation
// of the resource it writes, which drops the cached lists of that resource:
// a read after our own write is never stale. A write of one resource keeps
// the lists of the others (an apply of N projects writes N of each kind;
// dropping every list on every write made its reads O(N²)). Writes of a
// status subresource keep every list: the cached reads are of specs (the
// one status gpuplane writes, a tenant's quota ledger, is read uncached).
// Forget drops every list.
type listCache struct {
	gen     atomic.Int64 // every resource
	writes  atomic.Int64 // writes sent, ever
	mu      sync.Mutex
	entries map[string]*cachedList
	kinds   map[string]*atomic.Int64 // resource path key → its generation
	// listing: one LIST in flight per list key; concurrent readers of the
	// same list (Terraform refreshes resources in parallel) wait for it.
	listing map[string]*sync.Mutex
	// narrowed: per whole-list key, the scopes read narrowly (see CachedGet).
	narrowed map[string]*narrowed
}

// keyLock is the lock of one list key.
func (l *listCache) keyLock(key string) *sync.Mutex { return entry(l, l.listing, key) }

// entry returns m[key], made (zero) on first use, under l.mu.
func entry[T any](l *listCache, m map[string]*T, key string) *T {
	l.mu.Lock()
	defer l.mu.Unlock()
	v, ok := m[key]
	if !ok {
		v = new(T)
		m[key] = v
	}
	return v
}

type cachedList struct {
	gen   [2]int64 // the cache's and the resource's generation when listed
	items []unstructured.Unstructured
	index map[string]*unstructured.Unstructured // namespace/name
	// decoded: the items decoded once per Go type (see CachedDecoded), so a
	// plan that reads a list once per resource decodes it once, not N times.
	decodeMu sync.Mutex
	decoded  map[reflect.Type]any
}

// kindGen is the generation counter of a resource (see resourceKey).
func (l *listCache) kindGen(key string) *atomic.Int64 { return entry(l, l.kinds, key) }

// generation is the pair a cached list of the resource key must match.
func (l *listCache) generation(key string) [2]int64 {
	return [2]int64{l.gen.Load(), l.kindGen(key).Load()}
}

// resourceKey is "<group>/<resource>" of a request path
// (/api/v1/[namespaces/<ns>/]<resource>[/<name>[/<subresource>]] or
// /apis/<group>/<version>/...), and whether the path is of a status
// subresource; "" when the path is not a resource's.
func resourceKey(path string) (key string, status bool) {
	s := strings.Split(strings.Trim(path, "/"), "/")
	group := ""
	switch {
	case len(s) >= 3 && s[0] == "api":
		s = s[2:]
	case len(s) >= 4 && s[0] == "apis":
		group, s = s[1], s[3:]
	default:
		return "", false
	}
	if len(s) == 3 && group == "" && s[0] == "namespaces" && (s[2] == "status" || s[2] == "finalize") {
		return "/namespaces", s[2] == "status" // a namespace's subresource
	}
	if len(s) >= 3 && s[0] == "namespaces" {
		s = s[2:] // <resource>[/<name>[/<subresource>]] in a namespace
	}
	return group + "/" + s[0], len(s) == 3 && s[2] == "status"
}

// writeCounter bumps the generation of the resource each write (a request
// that is not a read, nor a server-side dry-run) sends to.
type writeCounter struct {
	next  http.RoundTripper
	cache *listCache
}

func (w writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.URL.Query().Get("dryRun") != "" {
		return w.next.RoundTrip(r)
	}
	var gen *atomic.Int64
	switch key, status := resourceKey(r.URL.Path); {
	case key == "":
		gen = &w.cache.gen
	case !status:
		gen = w.cache.kindGen(key)
	default:
		return w.next.RoundTrip(r)
	}
	// Before the write and again once it is done: a LIST that ran while the
	// write was in flight may or may not hold it, so a list stored with a
	// generation read in between is dropped too.
	w.cache.writes.Add(1)
	gen.Add(1)
	defer gen.Add(1)
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
// The first look-ups (smallLookups namespaces, or objects of a
// cluster-scoped kind) list just their namespace or object; more list the
// whole kind once: a plan of one project on a cluster of thousands reads
// what it needs, a plan of thousands reads each kind once.
func (c *Client) CachedGet(ctx context.Context, gvr schema.GroupVersionResource, selector, namespace, name string) (*unstructured.Unstructured, error) {
	scope := listScope{namespace: namespace}
	if namespace == "" {
		scope.name = name
	}
	if !c.cache.narrow(listBase(gvr, selector), scope, c.cache.generation(gvr.Group+"/"+gvr.Resource)) {
		scope = listScope{}
	}
	l, err := c.cachedListIn(ctx, gvr, scope, selector)
	if err != nil {
		return nil, err
	}
	return l.index[namespace+"/"+name], nil
}

// smallLookups is how many namespaces (or objects of a cluster-scoped kind)
// a client looks up in a list, per write generation of its kind, before it
// lists the whole kind instead.
const smallLookups = 2

// listScope narrows a LIST to a namespace, to one object by name, or by
// more labels; the zero scope is the whole list.
type listScope struct{ namespace, name, labels string }

// listBase is the part of a list key that names the resource and selector.
func listBase(gvr schema.GroupVersionResource, selector string) string {
	return gvr.String() + "?" + selector
}

// key is the cache key of the list of base in scope.
func (s listScope) key(base string) string {
	return base + "&ns=" + s.namespace + "&name=" + s.name + "&labels=" + s.labels
}

// narrow reports whether a look-up in the list base may read just scope:
// the whole list is not cached, and scope is one of the first smallLookups
// scopes looked up since the generation gen (a write of the kind starts the
// count again: an apply writes objects and reads them back one by one).
// Narrow lists of an older generation are dropped then: an apply of N
// projects reads N namespaces' lists, and keeps none it cannot use.
func (l *listCache) narrow(base string, scope listScope, gen [2]int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.entries[listScope{}.key(base)]; ok && e.gen == gen {
		return false // the whole list is at hand
	}
	n := l.narrowed[base]
	if n == nil || n.gen != gen {
		if n != nil {
			for s := range n.scopes {
				delete(l.entries, s.key(base))
			}
		}
		n = &narrowed{gen: gen, scopes: map[listScope]bool{}}
		l.narrowed[base] = n
	}
	if n.scopes[scope] {
		return true
	}
	if len(n.scopes) >= smallLookups {
		return false
	}
	n.scopes[scope] = true
	return true
}

// narrowed are the scopes looked up narrowly in one list, since gen.
type narrowed struct {
	gen    [2]int64
	scopes map[listScope]bool
}

func (c *Client) cachedList(ctx context.Context, gvr schema.GroupVersionResource, selector string) (*cachedList, error) {
	return c.cachedListIn(ctx, gvr, listScope{}, selector)
}

// cachedListIn is the cached LIST of gvr and selector in scope.
func (c *Client) cachedListIn(ctx context.Context, gvr schema.GroupVersionResource, scope listScope, selector string) (*cachedList, error) {
	key := scope.key(listBase(gvr, selector))
	fresh := func() (*cachedList, [2]int64, bool) {
		gen := c.cache.generation(gvr.Group + "/" + gvr.Resource)
		c.cache.mu.Lock()
		l, ok := c.cache.entries[key]
		c.cache.mu.Unlock()
		return l, gen, ok && l.gen == gen
	}
	if l, _, ok := fresh(); ok {
		return l, nil
	}
	lock := c.cache.keyLock(key)
	lock.Lock()
	defer lock.Unlock()
	l, gen, ok := fresh() // listed by another reader meanwhile
	if ok {
		return l, nil
	}
	fields := ""
	if scope.name != "" {
		fields = "metadata.name=" + scope.name
	}
	if scope.labels != "" {
		selector += "," + scope.labels
	}
	items, err := c.list(ctx, gvr, scope.namespace, selector, fields)
	if apierrors.IsNotFound(err) {
		items, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	l = &cachedList{gen: gen, items: items, index: make(map[string]*unstructured.Unstructured, len(items))}
	for i := range items {
		// Field managers are most of an object applied server-side, and
		// only a drift report names them: it reads the object with GetAs.
		unstructured.RemoveNestedField(items[i].Object, "metadata", "managedFields")
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

// CachedGetOrGet is CachedGet, falling back to an uncached GET when the
// object is not in the label-selected list (someone removed the label): a
// refresh costs no GET per object, and still sees such an object.
func (c *Client) CachedGetOrGet(ctx context.Context, gvr schema.GroupVersionResource, selector, namespace, name string) (*unstructured.Unstructured, error) {
	obj, err := c.CachedGet(ctx, gvr, selector, namespace, name)
	if err != nil || obj != nil {
		return obj, err
	}
	return c.Get(ctx, gvr, namespace, name)
}

// GetAs is Get decoded into a typed object (managedFields included, which
// cached objects do not keep); nil when missing.
func GetAs[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, namespace, name string) (*T, error) {
	obj, err := c.Get(ctx, gvr, namespace, name)
	if err != nil || obj == nil {
		return nil, err
	}
	out := new(T)
	return out, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out)
}

// CachedGetAs is CachedGet decoded into a typed object; nil when missing.
func CachedGetAs[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, selector, namespace, name string) (*T, error) {
	obj, err := c.CachedGet(ctx, gvr, selector, namespace, name)
	if err != nil || obj == nil {
		return nil, err
	}
	out := new(T)
	return out, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, out)
}

// CachedListAs is CachedList decoded into typed objects (see CachedDecoded).
func CachedListAs[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, selector string) ([]T, error) {
	l, err := c.cachedList(ctx, gvr, selector)
	if err != nil {
		return nil, err
	}
	return decodeList[T](l)
}

// decodeList is l's items decoded into Ts (by the unstructured converter),
// in their order, as CachedDecoded does it.
func decodeList[T any](l *cachedList) ([]T, error) {
	return decodedItems(l, func(obj *unstructured.Unstructured) (T, error) {
		var out T
		return out, runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &out)
	})
}

// CachedListAsNarrowing is CachedListAs of the objects of selector that
// also carry the labels narrow: read with a LIST of both while this client
// has read few such lists (see CachedGet), then from the whole list of
// selector, filtered.
func CachedListAsNarrowing[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, selector, narrow string) ([]T, error) {
	scope := listScope{labels: narrow}
	if !c.cache.narrow(listBase(gvr, selector), scope, c.cache.generation(gvr.Group+"/"+gvr.Resource)) {
		scope = listScope{}
	}
	l, err := c.cachedListIn(ctx, gvr, scope, selector)
	if err != nil {
		return nil, err
	}
	keep, err := labels.Parse(narrow)
	if err != nil {
		return nil, err
	}
	all, err := decodeList[T](l)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for i := range all {
		if keep.Matches(labels.Set(l.items[i].GetLabels())) {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// CachedDecoded is CachedList with each object decoded into a T. The list
// is decoded once per T and list generation, and every caller gets its own
// slice of the same values: a caller may reorder or filter the slice, but
// must not change what its elements point to (maps, slices, pointers).
// Use one decode function per T.
func CachedDecoded[T any](ctx context.Context, c *Client, gvr schema.GroupVersionResource, selector string, decode func(*unstructured.Unstructured) (T, error)) ([]T, error) {
	l, err := c.cachedList(ctx, gvr, selector)
	if err != nil {
		return nil, err
	}
	return decodedItems(l, decode)
}

// decodedItems is l's items decoded by decode, once per T (a copy of the
// slice each call).
func decodedItems[T any](l *cachedList, decode func(*unstructured.Unstructured) (T, error)) ([]T, error) {
	l.decodeMu.Lock()
	defer l.decodeMu.Unlock()
	key := reflect.TypeFor[T]()
	if v, ok := l.decoded[key].([]T); ok {
		return slices.Clone(v), nil
	}
	out := make([]T, len(l.items))
	for i := range l.items {
		var err error
		if out[i], err = decode(&l.items[i]); err != nil {
			return nil, err
		}
	}
	if l.decoded == nil {
		l.decoded = map[reflect.Type]any{}
	}
	l.decoded[key] = out
	return slices.Clone(out), nil
}

// HasWritten reports whether this client has sent a write: then it is
// applying, and a cached list of a kind it writes is soon stale, so a
// look-up of one object is better served by a narrow LIST (or a GET) than
// by listing the whole kind again.
func (c *Client) HasWritten() bool { return c.cache.writes.Load() > 0 }

// Forget drops every cached list, so the next cached read lists afresh: for
// a wait that watches what others change.
func (c *Client) Forget() { c.cache.gen.Add(1) }
