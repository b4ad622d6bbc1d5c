package provider

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// testAccProtoV6ProviderFactories runs the provider in the test process.
var testAccProtoV6ProviderFactories = map[string]func() (tfprotov6.ProviderServer, error){
	"gpuplane": providerserver.NewProtocol6WithError(New("test")()),
}

// testCluster is the cluster of this test run; nil without TF_ACC.
var testCluster *testcluster.Cluster

// TestMain starts one cluster for all acceptance tests of the package and
// points the provider at it through KUBE_CONFIG_PATH.
func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") == "" {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	c, err := testcluster.Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test cluster:", err)
		os.Exit(1)
	}
	testCluster = c
	os.Setenv("KUBE_CONFIG_PATH", c.Kubeconfig)
	code := m.Run()
	c.Stop()
	os.Exit(code)
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
