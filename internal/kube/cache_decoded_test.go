package kube

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
