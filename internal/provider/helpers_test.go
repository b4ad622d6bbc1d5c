// Shared helpers of the acceptance tests: the test cluster, configurations
// (helpers_configs_test.go) used by several tests, and cluster checks.

package provider

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// testAccProtoV6ProviderFactories runs the provider in the test process.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"gpuplane": func() (tfprotov6.ProviderServer, error) { return NewServer("test")(), nil },
}

// testCluster is the cluster of this test run; nil without TF_ACC.
var testCluster *testcluster.Cluster

// TestMain starts one cluster for all acceptance tests of the package and
// points the provider at it through KUBE_CONFIG_PATH.
func TestMain(m *testing.M) {
	testcluster.Main(m, func(c *testcluster.Cluster) {
		testCluster = c
		os.Setenv("KUBE_CONFIG_PATH", c.Kubeconfig)
	})
}

// testAccPreCheck stops a test early when it runs without a cluster.
func testAccPreCheck(t *testing.T) {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		// The same precondition resource.Test applies; checked first because
		// tests arrange cluster objects before they call it.
		t.Skip("acceptance test: set TF_ACC=1 (make testacc)")
	}
}

// testClient is an admin client of the test cluster, for arranging and
// asserting what the API server holds.
func testClient(t testing.TB) *kube.Client {
	t.Helper()
	c, err := newTestClient()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func newTestClient() (*kube.Client, error) {
	rc, err := clientcmd.BuildConfigFromFlags("", testCluster.Kubeconfig)
	if err != nil {
		return nil, err
	}
	rc.QPS, rc.Burst = 200, 400
	return kube.NewClient(rc, "gpuplane-tests")
}

// fakeGPUNode creates a Node object with labels and GPU capacity in its
// status; nothing runs on it (there is no kubelet), which quota admission
// and usage accounting do not need. It is deleted when the test ends.
func fakeGPUNode(t *testing.T, name string, labels map[string]string, gpus map[string]int64) {
	t.Helper()
	c := testClient(t)
	ctx := context.Background()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if _, err := c.Typed.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Typed.CoreV1().Nodes().Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Error(err)
		}
	})
	rl := corev1.ResourceList{}
	for r, n := range gpus {
		rl[corev1.ResourceName(r)] = *k8sresource.NewQuantity(n, k8sresource.DecimalSI)
	}
	node, err := c.Typed.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	node.Status.Capacity, node.Status.Allocatable = rl, rl
	if _, err := c.Typed.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// exists reports whether an object exists in the cluster.
func exists(t *testing.T, gvr schema.GroupVersionResource, namespace, name string) bool {
	t.Helper()
	obj, err := testClient(t).Get(context.Background(), gvr, namespace, name)
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
	return obj != nil
}

// wrapped matches text as Terraform prints it in a diagnostic: wrapped at
// any space. Parts are matched in order, with anything between them.
func wrapped(parts ...string) *regexp.Regexp {
	quoted := make([]string, len(parts))
	for i, p := range parts {
		quoted[i] = strings.Join(strings.Fields(regexp.QuoteMeta(p)), `\s+`)
	}
	return regexp.MustCompile(`(?s)` + strings.Join(quoted, ".*"))
}

func regexpMust(s string) *regexp.Regexp { return regexp.MustCompile(s) }

var quotaGVR = corev1.SchemeGroupVersion.WithResource("resourcequotas")

var namespaceGVR = corev1.SchemeGroupVersion.WithResource("namespaces")

// createGPUPod creates a pod asking for gpus of res (none when 0).
func createGPUPod(c kubernetes.Interface, ns, name, res string, gpus int64) error {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "train", Image: "registry.example/train:1"}}},
	}
	if gpus > 0 {
		pod.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceName(res): *k8sresource.NewQuantity(gpus, k8sresource.DecimalSI)}
	}
	_, err := c.CoreV1().Pods(ns).Create(context.Background(), pod, metav1.CreateOptions{})
	return err
}

// waitQuotaStatus waits for the resourcequota controller to fill in the
// quota's status; admission refuses every pod until then.
func waitQuotaStatus(c kubernetes.Interface, ns string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		rq, err := c.CoreV1().ResourceQuotas(ns).Get(context.Background(), platform.GPUQuotaName, metav1.GetOptions{})
		if err == nil && len(rq.Status.Hard) == len(rq.Spec.Hard) && len(rq.Status.Hard) > 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("quota %s/%s has no status after 30s (err %v)", ns, platform.GPUQuotaName, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkH100Quota asserts a namespace's quota of the H100 family's resource.
func checkH100Quota(t *testing.T, ns string, want int64) resource.TestCheckFunc {
	const key = "requests.nvidia.com/gpu-h100"
	return func(*terraform.State) error {
		rq, err := testClient(t).Typed.CoreV1().ResourceQuotas(ns).Get(context.Background(), platform.GPUQuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if got := rq.Spec.Hard[corev1.ResourceName(key)]; got.Value() != want {
			return fmt.Errorf("%s/%s hard[%s] = %s, want %d", ns, platform.GPUQuotaName, key, got.String(), want)
		}
		return nil
	}
}

// checkLabelled asserts that a namespace and its gpuplane objects carry labels.
func checkLabelled(t *testing.T, ns string, want map[string]string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		ctx := context.Background()
		n, err := c.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return err
		}
		rq, err := c.Typed.CoreV1().ResourceQuotas(ns).Get(ctx, platform.GPUQuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for what, labels := range map[string]map[string]string{"namespace": n.Labels, "quota": rq.Labels} {
			for k, v := range want {
				if labels[k] != v {
					return fmt.Errorf("%s %s: label %s = %q, want %q", what, ns, k, labels[k], v)
				}
			}
		}
		return nil
	}
}

func addForeignLabels(t *testing.T, ns string) {
	t.Helper()
	c := testClient(t)
	ctx := context.Background()
	n, err := c.Typed.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Labels["policy.example.com/scanned"] = "true"
	n.Annotations = map[string]string{"example.com/owner": "someone"}
	if _, err := c.Typed.CoreV1().Namespaces().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	rq, err := c.Typed.CoreV1().ResourceQuotas(ns).Get(ctx, platform.GPUQuotaName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rq.Labels["policy.example.com/scanned"] = "true"
	if _, err := c.Typed.CoreV1().ResourceQuotas(ns).Update(ctx, rq, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// checkNoGpuplaneObjects reads the cluster after destroy: no object of any
// kind, in any namespace, carries gpuplane's managed-by label, and the
// dataplane with its CRDs is gone. Every acceptance test that applies
// resources uses it as its CheckDestroy.
func checkNoGpuplaneObjects(*terraform.State) error {
	c, err := newTestClient()
	if err != nil {
		return err
	}
	if left, err := labelledObjects(context.Background(), c); err != nil || len(left) > 0 {
		return fmt.Errorf("objects labelled %s remain after destroy: %v (err %v)", platform.ManagedSelector, left, err)
	}
	return checkDataplaneDestroyed("main")(nil)
}

// labelledObjects lists every object of every kind the API server serves
// (that can be listed) that carries gpuplane's managed-by label, as
// "kind namespace/name@resourceVersion", sorted: any write shows.
func labelledObjects(ctx context.Context, c *kube.Client) ([]string, error) {
	lists, err := c.Typed.Discovery().ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, err
	}
	var out []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			return nil, err
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") {
				continue
			}
			items, err := c.List(ctx, gv.WithResource(r.Name), "", platform.ManagedSelector)
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue // gone since discovery (a CRD deleted), or not listable
			}
			if err != nil {
				return nil, fmt.Errorf("listing %s: %w", r.Name, err)
			}
			for _, it := range items {
				out = append(out, fmt.Sprintf("%s %s/%s@%s", r.Kind, it.GetNamespace(), it.GetName(), it.GetResourceVersion()))
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// createNamespace makes a namespace the way another tool would (no
// gpuplane labels); it is deleted when the test ends.
func createNamespace(t *testing.T, name string) {
	t.Helper()
	c := testClient(t)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Typed.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		_ = c.Typed.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{})
		// Gone before the next test, whose CheckDestroy counts labelled namespaces.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := c.Typed.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Errorf("namespace %s was not deleted: %v", name, err)
		}
	})
}

// checkQuotaExactly asserts the whole spec.hard of a namespace's GPU quota.
func checkQuotaExactly(t *testing.T, ns string, want map[string]int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		rq, err := testClient(t).Typed.CoreV1().ResourceQuotas(ns).Get(context.Background(), platform.GPUQuotaName, metav1.GetOptions{})
		if err != nil {
			return err
		}
		got := map[string]int64{}
		for k, q := range rq.Spec.Hard {
			got[string(k)] = q.Value()
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("%s/%s hard = %v, want %v", ns, platform.GPUQuotaName, got, want)
		}
		return nil
	}
}

// checkPrinted asserts a column of what `kubectl get` prints for a
// cluster-scoped object: the API server's own Table rendering of its
// printer columns.
func checkPrinted(t *testing.T, gvr schema.GroupVersionResource, name, column, want string) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		raw, err := c.Typed.CoreV1().RESTClient().Get().AbsPath("apis", gvr.Group, gvr.Version, gvr.Resource, name).
			SetHeader("Accept", "application/json;as=Table;v=v1;g=meta.k8s.io").DoRaw(context.Background())
		if err != nil {
			return err
		}
		var table metav1.Table
		if err := json.Unmarshal(raw, &table); err != nil {
			return err
		}
		for i, col := range table.ColumnDefinitions {
			if col.Name != column {
				continue
			}
			if len(table.Rows) != 1 || fmt.Sprint(table.Rows[0].Cells[i]) != want {
				return fmt.Errorf("kubectl get %s %s prints %s = %v, want %q", gvr.Resource, name, column, table.Rows, want)
			}
			return nil
		}
		return fmt.Errorf("kubectl get %s prints no column %s (columns %v)", gvr.Resource, column, table.ColumnDefinitions)
	}
}
