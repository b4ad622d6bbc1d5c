package kube

import (
	"fmt"
	"slices"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A cached list is decoded once per type and list generation (a plan reads
// a tenant's projects once per project), each caller gets a slice of its
// own, and a write of the resource makes the next read decode the new list.
func TestCachedDecodedDecodesOncePerList(t *testing.T) {
	api := newFakeAPI(map[string][]*obj{namespacesPath: {namespace("a", team("a")), namespace("b", team("a"))}})
	c := newTestClient(t, api)
	ctx := testContext(t)
	decodes := 0
	decodeName := func(o *unstructured.Unstructured) (string, error) { //nolint:unparam // the signature CachedDecoded takes
		decodes++
		return o.GetName(), nil
	}
	read := func() []string {
		t.Helper()
		got, err := CachedDecoded(ctx, c, Namespaces, "team=a", decodeName)
		if err != nil {
			t.Fatalf("CachedDecoded: %v", err)
		}
		return got
	}

	first := read()
	first = slices.DeleteFunc(first, func(n string) bool { return n == "a" }) // a caller filters its copy
	if got := read(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("second read = %v, want [a b]: a caller's filtering changed the shared list", got)
	}
	if decodes != 2 {
		t.Errorf("%d decodes for two reads of a 2-object list, want 2 (decoded once)", decodes)
	}
	if !slices.Equal(first, []string{"b"}) {
		t.Errorf("filtered copy = %v, want [b]", first)
	}

	if _, err := c.Apply(ctx, Namespaces, namespace("c", team("a"))); err != nil {
		t.Fatalf("apply: %v", err)
	}
	if got := read(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("after a write = %v, want [a b c]", got)
	}
	if decodes != 5 {
		t.Errorf("%d decodes after the write's list, want 5 (the new list decoded once)", decodes)
	}
	if n := api.gets(namespacesPath); n != 2 {
		t.Errorf("%d LISTs, want 2", n)
	}
}

// A client's first look-ups read just their namespace (or, of a
// cluster-scoped kind, just their object); more list the whole kind once;
// a write of the kind starts the count again.
func TestCachedGetReadsNarrowFirst(t *testing.T) {
	var bindings []*obj
	for i := range 6 {
		ns := fmt.Sprintf("p%d", i)
		bindings = append(bindings, object("rbac.authorization.k8s.io/v1", "RoleBinding", ns, "rb", team("a")))
	}
	nss := []*obj{}
	for i := range 6 {
		nss = append(nss, namespace(fmt.Sprintf("p%d", i), team("a")))
	}
	api := newFakeAPI(map[string][]*obj{roleBindingsPath: bindings, namespacesPath: nss})
	c := newTestClient(t, api)
	ctx := testContext(t)
	get := func(gvr schema.GroupVersionResource, ns, name string) {
		t.Helper()
		if o, err := c.CachedGet(ctx, gvr, "team=a", ns, name); err != nil || o == nil {
			t.Fatalf("CachedGet(%s %s/%s) = %v, %v; want the object", gvr.Resource, ns, name, o, err)
		}
	}
	nsPath := func(i int) string {
		return fmt.Sprintf("/apis/rbac.authorization.k8s.io/v1/namespaces/p%d/rolebindings", i)
	}

	for i := range smallLookups {
		get(RoleBindings, fmt.Sprintf("p%d", i), "rb")
		get(RoleBindings, fmt.Sprintf("p%d", i), "rb") // again: cached
	}
	for i := range smallLookups {
		if n := api.gets(nsPath(i)); n != 1 {
			t.Errorf("%d LISTs of namespace p%d's bindings, want 1", n, i)
		}
	}
	if n := api.gets(roleBindingsPath); n != 0 {
		t.Errorf("%d LISTs of every binding after %d look-ups, want 0", n, smallLookups)
	}
	get(RoleBindings, "p4", "rb")
	get(RoleBindings, "p5", "rb")
	if n := api.gets(roleBindingsPath); n != 1 {
		t.Errorf("%d LISTs of every binding after more look-ups, want 1", n)
	}
	if n := api.gets(nsPath(4)) + api.gets(nsPath(5)); n != 0 {
		t.Errorf("%d narrow LISTs once the whole list is read, want 0", n)
	}

	// Cluster-scoped: by name first, then the whole kind.
	for i := range 6 {
		get(Namespaces, "", fmt.Sprintf("p%d", i))
	}
	if n := api.gets(namespacesPath); n != smallLookups+1 {
		t.Errorf("%d LISTs of namespaces for 6 look-ups, want %d (%d by name, then all)", n, smallLookups+1, smallLookups)
	}

	// A write of bindings: the next look-up reads its namespace again, narrowly.
	if _, err := c.Apply(ctx, RoleBindings, object("rbac.authorization.k8s.io/v1", "RoleBinding", "p0", "new", team("a"))); err != nil {
		t.Fatal(err)
	}
	get(RoleBindings, "p0", "new")
	if n := api.gets(nsPath(0)); n != 2 {
		t.Errorf("%d LISTs of p0's bindings after a write, want 2", n)
	}
	if n := api.gets(roleBindingsPath); n != 1 {
		t.Errorf("%d LISTs of every binding after a write, want still 1", n)
	}
}

// CachedListAsNarrowing lists by the extra labels for the first few, then
// filters the whole list; either way only the objects with those labels.
func TestCachedListAsNarrowing(t *testing.T) {
	var bindings []*obj
	for i := range 6 {
		l := team("a")
		l["member"] = fmt.Sprintf("m%d", i)
		bindings = append(bindings, object("rbac.authorization.k8s.io/v1", "RoleBinding", "ns", fmt.Sprintf("rb%d", i), l))
	}
	api := newFakeAPI(map[string][]*obj{roleBindingsPath: bindings})
	c := newTestClient(t, api)
	ctx := testContext(t)
	for round := range 2 {
		for i := range 6 {
			got, err := CachedListAsNarrowing[rbacv1.RoleBinding](ctx, c, RoleBindings, "team=a", fmt.Sprintf("member=m%d", i))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Name != fmt.Sprintf("rb%d", i) {
				t.Errorf("round %d, member m%d: got %d bindings (%v), want rb%d", round, i, len(got), got, i)
			}
		}
	}
	if n := api.gets(roleBindingsPath); n != smallLookups+1 {
		t.Errorf("%d LISTs for 6 members read twice, want %d (%d by label, then all once)", n, smallLookups+1, smallLookups)
	}
}
