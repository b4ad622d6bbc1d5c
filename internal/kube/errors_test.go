package kube

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
)

// TestForbiddenIsNeverMissing: a 403 on a read, a list, an apply or a
// delete says that the provider's identity lacks a permission and keeps the
// API server's words, which name the verb and the resource; it is not
// "missing" (a GET that 404s is).
func TestForbiddenIsNeverMissing(t *testing.T) {
	const denied = `tenants.tenancy.gpuplane.dev "research" is forbidden: User "ci" cannot get resource "tenants" in API group "tenancy.gpuplane.dev" at the cluster scope`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeStatus(w, http.StatusForbidden, metav1.StatusReasonForbidden, denied,
			&metav1.StatusDetails{Group: "tenancy.gpuplane.dev", Kind: "tenants", Name: "research"})
	}))
	defer srv.Close()
	c, err := NewClient(&rest.Config{Host: srv.URL}, "test")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	tenants := schema.GroupVersionResource{Group: "tenancy.gpuplane.dev", Version: "v1alpha1", Resource: "tenants"}
	obj, getErr := c.Get(ctx, tenants, "", "research")
	_, listErr := c.List(ctx, tenants, "", "")
	deleteErr := c.Delete(ctx, tenants, "", "research")
	if obj != nil {
		t.Errorf("Get returned an object on 403: %v", obj)
	}
	for what, err := range map[string]error{"get": getErr, "list": listErr, "delete": deleteErr} {
		if err == nil {
			t.Errorf("%s: a 403 returned no error (it would read as missing)", what)
			continue
		}
		for _, want := range []string{"the provider's Kubernetes identity lacks a permission", `cannot get resource "tenants"`} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s: %q lacks %q", what, err, want)
			}
		}
	}
	if again := Explain(getErr); again.Error() != getErr.Error() {
		t.Errorf("Explain worded an explained error twice: %q", again)
	}
}
