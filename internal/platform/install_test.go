package platform

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// testCluster is the cluster of this package's acceptance tests; nil
// without TF_ACC.
var testCluster *testcluster.Cluster

// TestMain starts one cluster for the package's acceptance tests when
// TF_ACC is set; the unit tests need none.
func TestMain(m *testing.M) {
	testcluster.Main(m, func(c *testcluster.Cluster) { testCluster = c })
}

// testAccClient skips an acceptance test without TF_ACC, and otherwise
// returns an admin client of the test cluster.
func testAccClient(t *testing.T) *kube.Client {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
	rc, err := clientcmd.BuildConfigFromFlags("", testCluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	c, err := kube.NewClient(rc, "test")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The policy's refusal for a project acme/train whose cap is 4 H100s.
const perPodRefusal = "this pod asks for more GPUs of one family than the largest workload allowed in gpuplane project " +
	"acme/train (gpu_quota.requests): " + h100 + " at most 4"

// TestAccPerPodPolicy installs the admission policies and asserts that the
// per-pod cap counts a pod's GPUs as Kubernetes does: sidecars (restartable
// init containers) add to the containers, and a plain init container counts
// with the sidecars declared before it. Pods are created with a
// server-side dry-run.
func TestAccPerPodPolicy(t *testing.T) {
	c := testAccClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := Install(ctx, c); err != nil {
		t.Fatal(err)
	}
	// The API server compiled every expression when Install created the
	// policies; it would have refused a policy that does not compile.

	ns := fmt.Sprintf("gpuplane-per-pod-%d", time.Now().UnixNano()%1_000_000)
	labels := ProjectLabels("acme", "train", nil, nil)
	if err := ApplyNamespace(ctx, c, ns, labels); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		if err := DeleteNamespace(ctx, c, ns); err != nil {
			t.Error(err)
		}
	})
	project, err := crds.New("Project", ns, "train", labels, &crds.ProjectSpec{
		Tenant: "acme", Project: "train", MaxPerPod: map[string]int64{h100: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, crds.Projects, project); err != nil {
		t.Fatal(err)
	}
	if err := WaitPodPolicies(ctx, c, ns, map[string]int64{h100: 4}); err != nil {
		t.Fatal(err)
	}

	gpu := func(n string) map[string]string { return gpuCount(h100, n) }
	cpu := map[string]string{"cpu": "1"}
	// longInit is a sidecar of 1 GPU, then 20 init containers without GPUs,
	// sidecars and plain ones alternating; a plain init container appended
	// to it counts with that first sidecar.
	longInit := []corev1.Container{sidecar("first", nil, gpu("1"))}
	for i := range 20 {
		if i%2 == 0 {
			longInit = append(longInit, sidecar(fmt.Sprintf("side%d", i), nil, cpu))
		} else {
			longInit = append(longInit, ctr(fmt.Sprintf("init%d", i), nil, cpu))
		}
	}
	tests := []struct {
		name       string
		init, main []corev1.Container
		refused    bool
	}{
		{name: "4 GPUs in containers", main: []corev1.Container{ctr("a", nil, gpu("2")), ctr("b", nil, gpu("2"))}},
		{name: "5 GPUs in containers", main: []corev1.Container{ctr("a", nil, gpu("3")), ctr("b", nil, gpu("2"))}, refused: true},
		{name: "containers 3 and a sidecar of 2",
			init: []corev1.Container{sidecar("side", nil, gpu("2"))}, main: []corev1.Container{ctr("a", nil, gpu("3"))}, refused: true},
		{name: "containers 2 and a sidecar of 2",
			init: []corev1.Container{sidecar("side", nil, gpu("2"))}, main: []corev1.Container{ctr("a", nil, gpu("2"))}},
		{name: "a plain init container of 4 next to containers of 4",
			init: []corev1.Container{ctr("init", nil, gpu("4"))}, main: []corev1.Container{ctr("a", nil, gpu("4"))}},
		{name: "a plain init container of 5",
			init: []corev1.Container{ctr("init", nil, gpu("5"))}, main: []corev1.Container{ctr("a", nil, cpu)}, refused: true},
		{name: "a sidecar of 1 before a plain init container of 4",
			init: []corev1.Container{sidecar("side", nil, gpu("1")), ctr("init", nil, gpu("4"))},
			main: []corev1.Container{ctr("a", nil, gpu("2"))}, refused: true},
		{name: "a sidecar of 1 after a plain init container of 4",
			init: []corev1.Container{ctr("init", nil, gpu("4")), sidecar("side", nil, gpu("1"))},
			main: []corev1.Container{ctr("a", nil, gpu("2"))}},
		{name: "a sidecar of 1, 20 init containers, then a plain init container of 3",
			init: append(longInit[:len(longInit):len(longInit)], ctr("last", nil, gpu("3"))), main: []corev1.Container{ctr("a", nil, cpu)}},
		{name: "a sidecar of 1, 20 init containers, then a plain init container of 4",
			init: append(longInit[:len(longInit):len(longInit)], ctr("last", nil, gpu("4"))), main: []corev1.Container{ctr("a", nil, cpu)},
			refused: true},
		{name: "requests and limits of 4", main: []corev1.Container{ctr("a", gpu("4"), gpu("4"))}},
		{name: "an uncapped GPU resource", main: []corev1.Container{ctr("a", nil, gpuCount(a100, "8"))}},
		{name: "CPU only", init: []corev1.Container{sidecar("side", nil, cpu)}, main: []corev1.Container{ctr("a", nil, cpu)}},
	}
	// The policy reads the Project from the API server's cache, and an
	// updated policy replaces the old one there a moment after Install:
	// wait until a pod whose sidecar takes it over the cap is refused (a
	// policy that does not count sidecars never refuses it).
	probe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: ns}, Spec: corev1.PodSpec{
		InitContainers: []corev1.Container{sidecar("side", nil, gpu("2"))},
		Containers:     []corev1.Container{ctr("a", nil, gpu("3"))}}}
	waitCtx, cancelWait := context.WithTimeout(ctx, time.Minute)
	defer cancelWait()
	if err := waitFor(waitCtx, "the per-pod policy to count sidecars", func() (bool, error) {
		err := dryRunPod(waitCtx, c, probe)
		return err != nil && strings.Contains(err.Error(), perPodRefusal), nil
	}); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pod-%d", i), Namespace: ns},
				Spec: corev1.PodSpec{InitContainers: tt.init, Containers: tt.main}}
			err := dryRunPod(ctx, c, pod)
			switch {
			case tt.refused && err == nil:
				t.Errorf("admitted, want refused (Kubernetes counts %v)", podRequests(pod))
			case tt.refused && (!apierrors.IsForbidden(err) || !strings.Contains(err.Error(), perPodRefusal)):
				t.Errorf("refused with %v, want the per-pod policy's message %q", err, perPodRefusal)
			case !tt.refused && err != nil:
				t.Errorf("refused, want admitted (Kubernetes counts %v): %v", podRequests(pod), err)
			}
			// The usage data source counts what the policy checks.
			if got := podRequests(pod)[h100]; (got > 4) != tt.refused {
				t.Errorf("podRequests counts %d %s, but the policy refused: %v", got, h100, tt.refused)
			}
		})
	}
}

// dryRunPod creates a pod with a server-side dry-run.
func dryRunPod(ctx context.Context, c *kube.Client, pod *corev1.Pod) error {
	_, err := c.Typed.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	return err
}

// TestAccNoRefusalWindowAfterInstall: when Install returns, the API server
// has synced the pod policies' parameters: the very first pod in a new
// project namespace is admitted at once, not refused "not yet synced".
// Install runs on a cluster without gpuplane (Uninstall first), as a
// dataplane's create does.
func TestAccNoRefusalWindowAfterInstall(t *testing.T) {
	c := testAccClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if err := Uninstall(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := Install(ctx, c); err != nil {
		t.Fatal(err)
	}
	const ns = "gpuplane-window"
	labels := ProjectLabels("acme", "window", nil, nil)
	if err := ApplyNamespace(ctx, c, ns, labels); err != nil {
		t.Fatal(err)
	}
	project, err := crds.New("Project", ns, "window", labels, &crds.ProjectSpec{Tenant: "acme", Project: "window"})
	if err == nil {
		_, err = c.Apply(ctx, crds.Projects, project)
	}
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dryRunProbe(ctx, c, ns, 8); err != nil {
		t.Errorf("the first pod in a project namespace right after Install was refused: %v", err)
	}
	if err := DeleteNamespace(ctx, c, ns); err != nil {
		t.Fatal(err)
	}
}
