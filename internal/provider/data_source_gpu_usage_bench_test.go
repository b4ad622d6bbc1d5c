package provider

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

const (
	benchProjects       = 100
	benchPodsPerProject = 100
)

// countingTransport counts requests, for requests/op.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

func countingClient(b *testing.B) (*kube.Client, *atomic.Int64) {
	rc, err := clientcmd.BuildConfigFromFlags("", testCluster.Kubeconfig)
	if err != nil {
		b.Fatal(err)
	}
	rc.QPS, rc.Burst = kube.DefaultQPS, kube.DefaultBurst // what users get
	n := &atomic.Int64{}
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return countingTransport{rt, n} })
	c, err := kube.NewClient(rc, "gpuplane-bench")
	if err != nil {
		b.Fatal(err)
	}
	return c, n
}

// BenchmarkGPUUsage reads the usage of a dataplane with 10,000 GPU pods in
// 100 projects, and, in the same iteration, one raw paginated LIST of the
// same pods. It reports both times, their ratio (goal: at most 2), and the
// API requests of each.
func BenchmarkGPUUsage(b *testing.B) {
	if testCluster == nil {
		b.Fatal("benchmark needs a cluster: run with TF_ACC=1 (make bench)")
	}
	ctx := context.Background()
	setupUsageBench(b)

	var rawTime, usageTime time.Duration
	var rawRequests, usageRequests int64
	b.ResetTimer()
	for b.Loop() {
		// A new client per iteration, as each Terraform operation has one.
		c, requests := countingClient(b)
		start, before := time.Now(), requests.Load()
		pods, err := rawListActivePods(ctx, c)
		if err != nil || len(pods) < benchProjects*benchPodsPerProject {
			b.Fatalf("raw list: %d pods, %v", len(pods), err)
		}
		rawTime += time.Since(start)
		rawRequests += requests.Load() - before

		start, before = time.Now(), requests.Load()
		r, err := platform.ReadGPUUsage(ctx, c, platform.UsageScope{})
		if err != nil {
			b.Fatal(err)
		}
		usageTime += time.Since(start)
		usageRequests += requests.Load() - before
		if got := r.Tenants["bench"]["NVIDIA-H100"].Used; got != benchProjects*benchPodsPerProject {
			b.Fatalf("usage counted %d GPUs, want %d", got, benchProjects*benchPodsPerProject)
		}
	}
	n := float64(b.N)
	b.ReportMetric(float64(rawTime.Milliseconds())/n, "raw-list-ms/op")
	b.ReportMetric(float64(usageTime.Milliseconds())/n, "usage-ms/op")
	b.ReportMetric(float64(usageTime)/float64(rawTime), "usage/raw-list")
	b.ReportMetric(float64(rawRequests)/n, "raw-list-requests/op")
	b.ReportMetric(float64(usageRequests)/n, "usage-requests/op")
}

// setupUsageBench makes a dataplane, a tenant, 100 project namespaces with
// their Project objects and 100 Pending GPU pods in each.
func setupUsageBench(b *testing.B) {
	ctx := context.Background()
	c := testClient(b)
	if err := platform.Install(ctx, c); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cleanupUsageBench(c) })
	for _, o := range []struct {
		kind string
		gvr  schema.GroupVersionResource
		spec any
	}{
		{"Dataplane", crds.Dataplanes, &crds.DataplaneSpec{GPUFamilies: map[string]crds.GPUFamily{"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"}}}},
		{"Tenant", crds.Tenants, &crds.TenantSpec{Dataplane: "bench", Namespace: "bench"}},
	} {
		obj, err := crds.New(o.kind, "", "bench", platform.TenantLabels("bench", nil), o.spec)
		if err == nil {
			_, err = c.Apply(ctx, o.gvr, obj)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, benchProjects)
	sem := make(chan struct{}, 8)
	for i := range benchProjects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs <- makeBenchProject(ctx, c, fmt.Sprintf("p%03d", i))
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

func makeBenchProject(ctx context.Context, c *kube.Client, name string) error {
	ns := "bench-" + name
	labels := platform.ProjectLabels("bench", name, nil, nil)
	if err := platform.ApplyNamespace(ctx, c, ns, labels); err != nil {
		return err
	}
	obj, err := crds.New("Project", ns, name, labels, &crds.ProjectSpec{Tenant: "bench", Project: name})
	if err != nil {
		return err
	}
	if _, err := c.Apply(ctx, crds.Projects, obj); err != nil {
		return err
	}
	if err := platform.WaitPodPolicies(ctx, c, ns, nil); err != nil {
		return err
	}
	existing, err := c.Typed.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	for j := len(existing.Items); j < benchPodsPerProject; j++ {
		name := fmt.Sprintf("pod-%03d", j)
		// Right after the policies are installed, the API server may refuse
		// pods for a moment while it syncs their parameter kinds.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
			err := createGPUPod(c.Typed, ns, name, "nvidia.com/gpu-h100", 1)
			if err != nil && strings.Contains(err.Error(), "not yet synced") {
				return false, nil
			}
			return true, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func cleanupUsageBench(c *kube.Client) {
	ctx := context.Background()
	for i := range benchProjects {
		_ = c.Typed.CoreV1().Namespaces().Delete(ctx, fmt.Sprintf("bench-p%03d", i), metav1.DeleteOptions{})
	}
	_ = c.Delete(ctx, crds.Tenants, "", "bench")
	_ = c.Delete(ctx, crds.Dataplanes, "", "bench")
}

// rawListActivePods is the baseline: one paginated LIST of the non-terminal
// pods of the cluster, as the usage data source sends it.
func rawListActivePods(ctx context.Context, c *kube.Client) ([]corev1.Pod, error) {
	var out []corev1.Pod
	opts := metav1.ListOptions{Limit: 500, FieldSelector: "status.phase!=Succeeded,status.phase!=Failed"}
	for {
		page, err := c.Typed.CoreV1().Pods("").List(ctx, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if page.Continue == "" {
			return out, nil
		}
		opts.Continue = page.Continue
	}
}
