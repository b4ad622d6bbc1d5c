package provider

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

const refreshProjects = 100

// BenchmarkRefreshProjects reads the state of 100 projects (with their
// namespaces, bindings and quotas) as a plan's refresh does, with a new
// client per iteration as each Terraform operation has. The baseline, in the
// same iteration, is one raw LIST of each kind the refresh reads. It reports
// both times, their ratio and the API requests of each.
func BenchmarkRefreshProjects(b *testing.B) {
	if testCluster == nil {
		b.Fatal("benchmark needs a cluster: run with TF_ACC=1 (make bench)")
	}
	ctx := context.Background()
	setupRefreshBench(b)
	kinds := []schema.GroupVersionResource{
		crds.Projects, crds.Tenants, crds.Dataplanes, crds.Computes,
		{Version: "v1", Resource: "namespaces"}, {Version: "v1", Resource: "resourcequotas"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	}
	var rawTime, readTime time.Duration
	var rawRequests, readRequests int64
	b.ResetTimer()
	for b.Loop() {
		c, requests := countingClient(b)
		start := time.Now()
		for _, gvr := range kinds {
			if _, err := c.List(ctx, gvr, "", platform.ManagedSelector); err != nil {
				b.Fatal(err)
			}
		}
		rawTime += time.Since(start)
		rawRequests += requests.Load()

		c, requests = countingClient(b)
		d := &providerData{plans: newPlanCache()}
		start = time.Now()
		for i := range refreshProjects {
			var m projectModel
			name := fmt.Sprintf("r%03d", i)
			found, diags := d.readProject(ctx, c, "refresh", name, "refresh-"+name, &m)
			if !found || diags.HasError() || !m.ObjectsInSync.ValueBool() {
				b.Fatalf("project %s: found %v, in sync %v, %v", name, found, m.ObjectsInSync, diags)
			}
		}
		readTime += time.Since(start)
		readRequests += requests.Load()
	}
	n := float64(b.N)
	b.ReportMetric(float64(rawTime.Milliseconds())/n, "raw-lists-ms/op")
	b.ReportMetric(float64(readTime.Milliseconds())/n, "refresh-ms/op")
	b.ReportMetric(float64(readTime)/float64(rawTime), "refresh/raw-lists")
	b.ReportMetric(float64(rawRequests)/n, "raw-lists-requests/op")
	b.ReportMetric(float64(readRequests)/n, "refresh-requests/op")
}

// setupRefreshBench makes a dataplane, a tenant with a compute, and 100
// projects with all their objects, as the project resource writes them.
func setupRefreshBench(b *testing.B) {
	ctx := context.Background()
	c := testClient(b)
	if err := platform.Install(ctx, c); err != nil {
		b.Fatal(err)
	}
	cat := quota.Catalog{"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"}}
	t := tenantView{Tenant: platform.Tenant{Name: "refresh", Dataplane: "refresh", Computes: []string{"refresh-pool"},
		Quota: quota.Quota{Limits: map[string]int64{"Default": 1000}}}, Catalog: cat, ComputesKnown: true}
	for _, o := range []struct {
		kind string
		gvr  schema.GroupVersionResource
		name string
		spec any
	}{
		{"Dataplane", crds.Dataplanes, "refresh", &crds.DataplaneSpec{GPUFamilies: map[string]crds.GPUFamily{"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"}}}},
		{"Compute", crds.Computes, "refresh-pool", &crds.ComputeSpec{Dataplane: "refresh", NodeSelector: map[string]string{"pool": "refresh"}}},
		{"Tenant", crds.Tenants, "refresh", &crds.TenantSpec{Dataplane: "refresh", Namespace: "refresh", Computes: t.Computes,
			GPUQuota: platform.GPUQuotaOf(t.Quota)}},
	} {
		obj, err := crds.New(o.kind, "", o.name, platform.TenantLabels("refresh", nil), o.spec)
		if err == nil {
			_, err = c.Apply(ctx, o.gvr, obj)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for i := range refreshProjects {
			_ = c.Typed.CoreV1().Namespaces().Delete(context.Background(), fmt.Sprintf("refresh-r%03d", i), metav1.DeleteOptions{})
		}
	})
	d := &providerData{plans: newPlanCache()}
	placement, _, err := d.placement(ctx, c, t, false)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, refreshProjects)
	sem := make(chan struct{}, 8)
	for i := range refreshProjects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			name := fmt.Sprintf("r%03d", i)
			p := platform.Project{Tenant: "refresh", Name: name, Namespace: "refresh-" + name,
				Roles:     crds.RoleMapping{Viewer: []string{"v"}, Editor: []string{"e"}, Admin: []string{"a"}},
				Quota:     quota.Quota{Limits: map[string]int64{"NVIDIA-H100": 4}},
				Placement: placement}
			eff := quota.ProjectEffective(t.effective(), p.Quota, cat.Names())
			_, err := platform.WriteProject(ctx, c, p, t.Tenant, cat, eff)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
}
