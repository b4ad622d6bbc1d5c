package kube

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/rest"
)

// Resources and collection paths of the fake API server.
var tenants = schema.GroupVersionResource{Group: "tenancy.gpuplane.dev", Version: "v1alpha1", Resource: "tenants"}

const (
	namespacesPath   = "/api/v1/namespaces"
	tenantsPath      = "/apis/tenancy.gpuplane.dev/v1alpha1/tenants"
	roleBindingsPath = "/apis/rbac.authorization.k8s.io/v1/rolebindings"
)

// fakeAPI is the smallest API server the cache needs: per collection path, a
// label-selected LIST (paginated when pageSize is set), and GET, POST, apply
// PATCH and DELETE of one object. Any other path is a 404, as for a CRD that
// is not installed. It counts requests per method and path.
type fakeAPI struct {
	pageSize int               // objects per LIST page; 0 is all in one page
	fail     map[string]int    // collection path -> status code of every LIST
	colls    map[string][]*obj // collection path -> objects, in LIST order

	mu    sync.Mutex
	calls map[string]int // "METHOD path" -> requests
	total int
}

type obj = unstructured.Unstructured

// maxFakeRequests stops a client that pages forever (a lost continue token)
// with an error instead of a hung test.
const maxFakeRequests = 50

func newFakeAPI(colls map[string][]*obj) *fakeAPI {
	return &fakeAPI{colls: colls, fail: map[string]int{}, calls: map[string]int{}}
}

// gets is the number of GET requests (LISTs of a collection) of path.
func (f *fakeAPI) gets(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[http.MethodGet+" "+path]
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[r.Method+" "+r.URL.Path]++
	if f.total++; f.total > maxFakeRequests {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "too many requests to the fake API server", nil)
		return
	}
	if coll, ns, ok := namespacedCollection(r.URL.Path); ok && r.Method == http.MethodGet {
		if items, ok := f.colls[coll]; ok {
			f.list(w, r, slices.DeleteFunc(slices.Clone(items), func(o *obj) bool { return o.GetNamespace() != ns }))
			return
		}
	}
	if items, ok := f.colls[r.URL.Path]; ok {
		switch r.Method {
		case http.MethodGet:
			f.list(w, r, items)
		case http.MethodPost:
			f.write(w, r, r.URL.Path, "")
		default:
			writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, r.Method, nil)
		}
		return
	}
	coll, name := path.Dir(r.URL.Path), path.Base(r.URL.Path)
	if c, _, ok := namespacedCollection(coll); ok {
		coll = c // a namespaced object: <prefix>/namespaces/<ns>/<resource>/<name>
	}
	items, ok := f.colls[coll]
	if !ok {
		http.NotFound(w, r) // What the API server answers for a group it does not serve.
		return
	}
	i := slices.IndexFunc(items, func(o *obj) bool { return o.GetName() == name })
	switch {
	case r.Method == http.MethodPatch:
		f.write(w, r, coll, name)
	case i < 0:
		writeStatus(w, http.StatusNotFound, metav1.StatusReasonNotFound, name+" not found", nil)
	case r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, items[i].Object)
	case r.Method == http.MethodDelete:
		f.colls[coll] = slices.Delete(items, i, i+1)
		writeJSON(w, http.StatusOK, metav1.Status{TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}, Status: metav1.StatusSuccess})
	default:
		writeStatus(w, http.StatusMethodNotAllowed, metav1.StatusReasonMethodNotAllowed, r.Method, nil)
	}
}

func (f *fakeAPI) list(w http.ResponseWriter, r *http.Request, items []*obj) {
	if code := f.fail[r.URL.Path]; code != 0 {
		writeStatus(w, code, metav1.StatusReason(http.StatusText(code)), "refused by the test", nil)
		return
	}
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error(), nil)
		return
	}
	fieldSel, err := fields.ParseSelector(r.URL.Query().Get("fieldSelector"))
	if err != nil {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, err.Error(), nil)
		return
	}
	var page []map[string]any
	for _, o := range items {
		if sel.Matches(labels.Set(o.GetLabels())) && fieldSel.Matches(fields.Set{"metadata.name": o.GetName()}) {
			page = append(page, o.Object)
		}
	}
	start, _ := strconv.Atoi(r.URL.Query().Get("continue"))
	page = page[min(start, len(page)):]
	next := ""
	if f.pageSize > 0 && len(page) > f.pageSize {
		page = page[:f.pageSize]
		next = strconv.Itoa(start + f.pageSize)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"apiVersion": "v1",
		"kind":       "List",
		"metadata":   map[string]any{"resourceVersion": "1", "continue": next},
		"items":      page,
	})
}

// write creates or replaces the object in the request body: a POST to the
// collection or a server-side apply PATCH of one name.
func (f *fakeAPI) write(w http.ResponseWriter, r *http.Request, coll, name string) {
	body, _ := io.ReadAll(r.Body)
	o := &obj{}
	if err := o.UnmarshalJSON(body); err != nil || (name != "" && o.GetName() != name) {
		writeStatus(w, http.StatusBadRequest, metav1.StatusReasonBadRequest, "bad object: "+string(body), nil)
		return
	}
	items := f.colls[coll]
	if i := slices.IndexFunc(items, func(x *obj) bool { return x.GetName() == o.GetName() && x.GetNamespace() == o.GetNamespace() }); i >= 0 {
		items[i] = o
	} else {
		f.colls[coll] = append(items, o)
	}
	writeJSON(w, http.StatusOK, o.Object)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeStatus answers with a failure Status, which client-go turns into the
// apierrors error of that reason.
func writeStatus(w http.ResponseWriter, code int, reason metav1.StatusReason, message string, details *metav1.StatusDetails) {
	writeJSON(w, code, metav1.Status{
		TypeMeta: metav1.TypeMeta{Kind: "Status", APIVersion: "v1"},
		Status:   metav1.StatusFailure,
		Code:     int32(code),
		Reason:   reason,
		Message:  message,
		Details:  details,
	})
}

// newTestClient returns a client of a test server that serves h.
func newTestClient(t *testing.T, h http.Handler) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := NewClient(&rest.Config{Host: srv.URL}, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func object(apiVersion, kind, namespace, name string, labels map[string]string) *obj {
	o := &obj{}
	o.SetAPIVersion(apiVersion)
	o.SetKind(kind)
	o.SetNamespace(namespace)
	o.SetName(name)
	o.SetLabels(labels)
	return o
}

func namespace(name string, labels map[string]string) *obj {
	return object("v1", "Namespace", "", name, labels)
}

func tenant(name string, labels map[string]string) *obj {
	return object("tenancy.gpuplane.dev/v1alpha1", "Tenant", "", name, labels)
}

func team(name string) map[string]string { return map[string]string{"team": name} }

func names(items []unstructured.Unstructured) []string {
	out := []string{}
	for _, o := range items {
		out = append(out, o.GetName())
	}
	return out
}

// testContext bounds a test's calls, so that retrying what should not be
// retried fails the test instead of hanging it.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// mustList is CachedList that fails the test on an error.
func mustList(t *testing.T, c *Client, gvr schema.GroupVersionResource, selector string) []string {
	t.Helper()
	items, err := c.CachedList(testContext(t), gvr, selector)
	if err != nil {
		t.Fatalf("CachedList(%s, %q): %v", gvr.Resource, selector, err)
	}
	return names(items)
}

// Reads, whether from the cache or not, do not drop it: one LIST serves them all.
func TestCachedReadsShareOneList(t *testing.T) {
	for _, tc := range []struct {
		gvr  schema.GroupVersionResource
		path string
		item *obj
	}{
		{Namespaces, namespacesPath, namespace("a", team("a"))},
		{tenants, tenantsPath, tenant("a", team("a"))},
	} {
		t.Run(tc.gvr.Resource, func(t *testing.T) {
			api := newFakeAPI(map[string][]*obj{tc.path: {tc.item}})
			c := newTestClient(t, api)
			ctx := testContext(t)

			for range 2 {
				if got := mustList(t, c, tc.gvr, "team=a"); !slices.Equal(got, []string{"a"}) {
					t.Errorf("CachedList = %v, want [a]", got)
				}
				if o, err := c.CachedGet(ctx, tc.gvr, "team=a", "", "a"); err != nil || o == nil {
					t.Errorf("CachedGet = %v, %v; want the object", o, err)
				}
				if o, err := c.Get(ctx, tc.gvr, "", "a"); err != nil || o == nil {
					t.Errorf("Get = %v, %v; want the object", o, err)
				}
			}
			if n := api.gets(tc.path); n != 1 {
				t.Errorf("%d LIST requests, want 1", n)
			}
			if n := api.gets(tc.path + "/a"); n != 2 {
				t.Errorf("%d GET requests of the object, want 2 (Get does not use the cache)", n)
			}
		})
	}
}

// Readers of one list at the same time (Terraform refreshes resources in
// parallel) share one LIST; an object outside the label-selected list is
// read with a GET.
func TestConcurrentCachedReadsShareOneList(t *testing.T) {
	api := newFakeAPI(map[string][]*obj{namespacesPath: {namespace("a", team("a")), namespace("b", nil)}})
	c := newTestClient(t, api)
	ctx := testContext(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if o, err := c.CachedGetOrGet(ctx, Namespaces, "team=a", "", "a"); err != nil || o == nil {
				t.Errorf("CachedGetOrGet(a) = %v, %v; want the object", o, err)
			}
		}()
	}
	wg.Wait()
	if n := api.gets(namespacesPath); n != 1 {
		t.Errorf("%d LIST requests from 20 concurrent readers, want 1", n)
	}
	if o, err := c.CachedGetOrGet(ctx, Namespaces, "team=a", "", "b"); err != nil || o == nil {
		t.Errorf("CachedGetOrGet(b), not labelled: %v, %v; want the object by GET", o, err)
	}
	if n := api.gets(namespacesPath + "/b"); n != 1 {
		t.Errorf("%d GETs of b, want 1", n)
	}
}

// Any request the client sends that is not a read, through any of its
// interfaces, drops the cached lists of what it writes, so the next read sees the write.
func TestCachedListRefetchesAfterOwnWrite(t *testing.T) {
	ctx := testContext(t)
	for _, tc := range []struct {
		name  string
		write func(c *Client) error
		want  []string // namespaces with team=a after the write
		lists int      // LISTs of namespaces: 2 when the write drops the cached list
	}{
		{"Client.Apply", func(c *Client) error {
			_, err := c.Apply(ctx, Namespaces, namespace("b", team("a")))
			return err
		}, []string{"a", "b"}, 2},
		{"Client.Delete", func(c *Client) error {
			return c.Delete(ctx, Namespaces, "", "a")
		}, []string{}, 2},
		{"Client.Apply of another kind keeps the list", func(c *Client) error {
			_, err := c.Apply(ctx, tenants, tenant("t", nil))
			return err
		}, []string{"a"}, 1},
		{"Typed apply", func(c *Client) error {
			_, err := c.Typed.CoreV1().Namespaces().Apply(ctx, corev1ac.Namespace("b").WithLabels(team("a")), c.ApplyOptions())
			return err
		}, []string{"a", "b"}, 2},
		{"Typed delete", func(c *Client) error {
			return c.Typed.CoreV1().Namespaces().Delete(ctx, "a", metav1.DeleteOptions{})
		}, []string{}, 2},
		{"Dynamic create", func(c *Client) error {
			_, err := c.Dynamic.Resource(Namespaces).Create(ctx, namespace("b", team("a")), metav1.CreateOptions{})
			return err
		}, []string{"a", "b"}, 2},
		{"server-side dry-run keeps the list", func(c *Client) error {
			_, err := c.Dynamic.Resource(Namespaces).Create(ctx, namespace("b", team("a")), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			return err
		}, []string{"a"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(map[string][]*obj{
				namespacesPath: {namespace("a", team("a"))},
				tenantsPath:    {},
			})
			c := newTestClient(t, api)

			if got := mustList(t, c, Namespaces, "team=a"); !slices.Equal(got, []string{"a"}) {
				t.Fatalf("before the write: CachedList = %v, want [a]", got)
			}
			if err := tc.write(c); err != nil {
				t.Fatalf("write: %v", err)
			}
			if got := mustList(t, c, Namespaces, "team=a"); !slices.Equal(got, tc.want) {
				t.Errorf("after the write: CachedList = %v, want %v", got, tc.want)
			}
			mustList(t, c, Namespaces, "team=a")
			if n := api.gets(namespacesPath); n != tc.lists {
				t.Errorf("%d LIST requests, want %d (one before the write, one after it if it drops the list; then cached)", n, tc.lists)
			}
		})
	}
}

// The cache is keyed by resource and selector: no list answers for another.
func TestCachedListKeysBySelectorAndResource(t *testing.T) {
	api := newFakeAPI(map[string][]*obj{
		namespacesPath: {
			namespace("a", team("a")),
			namespace("b", team("b")),
			namespace("c", map[string]string{"team": "a", "tier": "gpu"}),
		},
		tenantsPath: {tenant("t", team("a"))},
	})
	c := newTestClient(t, api)
	cases := []struct {
		gvr      schema.GroupVersionResource
		selector string
		want     []string
	}{
		{Namespaces, "team=a", []string{"a", "c"}},
		{Namespaces, "team=b", []string{"b"}},
		{Namespaces, "team=a,tier=gpu", []string{"c"}},
		{Namespaces, "", []string{"a", "b", "c"}},
		{tenants, "team=a", []string{"t"}},
	}
	for range 2 { // The second round is served from the cache.
		for _, tc := range cases {
			if got := mustList(t, c, tc.gvr, tc.selector); !slices.Equal(got, tc.want) {
				t.Errorf("CachedList(%s, %q) = %v, want %v", tc.gvr.Resource, tc.selector, got, tc.want)
			}
		}
	}
	if n := api.gets(namespacesPath); n != 4 {
		t.Errorf("%d LIST requests of namespaces, want 4 (one per selector)", n)
	}
	if n := api.gets(tenantsPath); n != 1 {
		t.Errorf("%d LIST requests of tenants, want 1", n)
	}
}

// A LIST cut into pages is followed to its end with the continue token.
func TestCachedListFollowsContinue(t *testing.T) {
	all := []string{"n1", "n2", "n3", "n4", "n5"}
	for _, tc := range []struct {
		pageSize, wantRequests int
	}{
		{pageSize: 0, wantRequests: 1},
		{pageSize: 2, wantRequests: 3},
		{pageSize: 4, wantRequests: 2},
		{pageSize: 5, wantRequests: 1},
	} {
		t.Run("page size "+strconv.Itoa(tc.pageSize), func(t *testing.T) {
			var items []*obj
			for _, n := range all {
				items = append(items, namespace(n, team("a")))
			}
			api := newFakeAPI(map[string][]*obj{namespacesPath: items})
			api.pageSize = tc.pageSize
			c := newTestClient(t, api)

			if got := mustList(t, c, Namespaces, "team=a"); !slices.Equal(got, all) {
				t.Errorf("CachedList = %v, want %v", got, all)
			}
			if n := api.gets(namespacesPath); n != tc.wantRequests {
				t.Errorf("%d LIST requests, want %d", n, tc.wantRequests)
			}
		})
	}
}

// A resource the API server does not serve (its CRD is not installed) is
// empty; any other failure of the LIST is an error.
func TestCachedListOfUnservedResource(t *testing.T) {
	ctx := testContext(t)

	t.Run("404 is empty", func(t *testing.T) {
		api := newFakeAPI(map[string][]*obj{namespacesPath: {}}) // No tenants.
		c := newTestClient(t, api)
		for range 2 {
			if items, err := c.CachedList(ctx, tenants, ""); err != nil || len(items) != 0 {
				t.Errorf("CachedList = %v, %v; want empty, no error", names(items), err)
			}
			if o, err := c.CachedGet(ctx, tenants, "", "", "t"); err != nil || o != nil {
				t.Errorf("CachedGet = %v, %v; want nil, nil", o, err)
			}
		}
		if n := api.gets(tenantsPath); n != 1 {
			t.Errorf("%d LIST requests, want 1 (the empty answer is cached too)", n)
		}
	})

	t.Run("403 is an error", func(t *testing.T) {
		api := newFakeAPI(map[string][]*obj{tenantsPath: {tenant("t", nil)}})
		api.fail[tenantsPath] = http.StatusForbidden
		c := newTestClient(t, api)
		if items, err := c.CachedList(ctx, tenants, ""); err == nil {
			t.Errorf("CachedList = %v, nil; want the 403", names(items))
		}
		if o, err := c.CachedGet(ctx, tenants, "", "", "t"); err == nil {
			t.Errorf("CachedGet = %v, nil; want the 403", o)
		}
	})
}

// CachedGet finds an object by namespace and name among those the selector
// selects; anything else is (nil, nil).
func TestCachedGet(t *testing.T) {
	rb := func(ns, name string) *obj {
		return object("rbac.authorization.k8s.io/v1", "RoleBinding", ns, name, team("a"))
	}
	api := newFakeAPI(map[string][]*obj{
		namespacesPath:   {namespace("a", team("a")), namespace("other", team("b"))},
		roleBindingsPath: {rb("team-a", "rb"), rb("team-b", "other")},
	})
	c := newTestClient(t, api)
	for _, tc := range []struct {
		desc            string
		gvr             schema.GroupVersionResource
		namespace, name string
		wantFound       bool
	}{
		{"cluster-scoped", Namespaces, "", "a", true},
		{"missing", Namespaces, "", "missing", false},
		{"not selected", Namespaces, "", "other", false},
		{"namespaced", RoleBindings, "team-a", "rb", true},
		{"in another namespace", RoleBindings, "team-b", "rb", false},
		{"unserved resource", tenants, "", "a", false},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			o, err := c.CachedGet(testContext(t), tc.gvr, "team=a", tc.namespace, tc.name)
			switch {
			case err != nil:
				t.Fatalf("CachedGet: %v", err)
			case !tc.wantFound && o != nil:
				t.Errorf("CachedGet = %s/%s, want nil", o.GetNamespace(), o.GetName())
			case tc.wantFound && (o == nil || o.GetNamespace() != tc.namespace || o.GetName() != tc.name):
				t.Errorf("CachedGet = %v, want %s/%s", o, tc.namespace, tc.name)
			}
		})
	}
}

func TestResourceKey(t *testing.T) {
	for path, want := range map[string]struct {
		key    string
		status bool
	}{
		"/api/v1/namespaces":                                           {"/namespaces", false},
		"/api/v1/namespaces/team-a":                                    {"/namespaces", false},
		"/api/v1/namespaces/team-a/finalize":                           {"/namespaces", false},
		"/api/v1/namespaces/team-a/status":                             {"/namespaces", true},
		"/api/v1/namespaces/team-a/resourcequotas":                     {"/resourcequotas", false},
		"/api/v1/namespaces/team-a/resourcequotas/gpuplane":            {"/resourcequotas", false},
		"/api/v1/namespaces/team-a/resourcequotas/gpuplane/status":     {"/resourcequotas", true},
		"/api/v1/namespaces/team-a/pods":                               {"/pods", false},
		"/api/v1/nodes/n1/status":                                      {"/nodes", true},
		"/apis/rbac.authorization.k8s.io/v1/clusterroles/x":            {"rbac.authorization.k8s.io/clusterroles", false},
		"/apis/tenancy.gpuplane.dev/v1alpha1/tenants/t/status":         {"tenancy.gpuplane.dev/tenants", true},
		"/apis/tenancy.gpuplane.dev/v1alpha1/namespaces/ns/projects/p": {"tenancy.gpuplane.dev/projects", false},
		"/apis/tenancy.gpuplane.dev/v1alpha1/namespaces/ns/projects":   {"tenancy.gpuplane.dev/projects", false},
		"/version": {"", false},
	} {
		key, status := resourceKey(path)
		if key != want.key || status != want.status {
			t.Errorf("resourceKey(%q) = %q, %v; want %q, %v", path, key, status, want.key, want.status)
		}
	}
}
