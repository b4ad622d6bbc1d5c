package platform

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// A drift report names who changed a field (its field manager), though the
// read cache keeps no field managers: the report reads the objects itself.
func TestAccProjectDriftNamesWhoChanged(t *testing.T) {
	c := testAccClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	p := Project{Tenant: "acme", Name: "drift", Namespace: fmt.Sprintf("gpuplane-drift-%d", time.Now().UnixNano()%1_000_000)}
	if err := ApplyNamespace(ctx, c, p.Namespace, ProjectLabels(p.Tenant, p.Name, nil, nil)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		if err := DeleteNamespace(ctx, c, p.Namespace); err != nil {
			t.Error(err)
		}
	})
	// Fill the read cache first, as a plan's refresh does.
	if _, err := GetResourceQuota(ctx, c, p.Namespace); err != nil {
		t.Fatal(err)
	}
	_, err := c.Typed.CoreV1().Namespaces().Patch(ctx, p.Namespace, types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"`+LabelProject+`":"hijacked"}}}`), metav1.PatchOptions{FieldManager: "kubectl-edit"})
	if err != nil {
		t.Fatal(err)
	}
	lines, err := ProjectDrift(ctx, c, p, Tenant{Name: p.Tenant}, quota.Catalog{}, quota.Scope{})
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`namespace %s: label %s is "hijacked" (set by kubectl-edit); the apply restores "drift"`, p.Namespace, LabelProject)
	if !strings.Contains(strings.Join(lines, "\n"), want) {
		t.Errorf("drift report:\n%s\nwant a line %q", strings.Join(lines, "\n"), want)
	}
}
