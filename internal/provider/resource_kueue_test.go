package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	k8sresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

var (
	kueueOnce sync.Once
	kueueErr  error
)

// needKueue starts Kueue's controller next to the test cluster (once per
// run); on an external cluster without Kueue the test is skipped, saying
// what to install.
func needKueue(t *testing.T) {
	t.Helper()
	testAccPreCheck(t)
	kueueOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		kueueErr = testCluster.StartKueue(ctx)
	})
	if errors.Is(kueueErr, testcluster.ErrNoKueue) {
		t.Skip(kueueErr)
	}
	if kueueErr != nil {
		t.Fatal(kueueErr)
	}
}

// kueueConfig: two families that share nvidia.com/gpu, told apart by a
// node label; tenant kq shares 4 H100s between projects a and b
// (overcommit); tenant kr has its projects hold their limits.
func kueueConfig(aLimitH100 int) string {
	return fmt.Sprintf(`
resource "gpuplane_dataplane" "kq" {
  name          = "kq"
  quota_backend = "kueue"
  gpu_families = {
    "NVIDIA-H100" = { resource_name = "nvidia.com/gpu", node_selector = { "gpu.example.com/family" = "h100" } }
    "NVIDIA-A100" = { resource_name = "nvidia.com/gpu", node_selector = { "gpu.example.com/family" = "a100" } }
  }
}

resource "gpuplane_tenant" "kq" {
  name       = "kq"
  dataplane  = gpuplane_dataplane.kq.name
  overcommit = true
  gpu_quota  = { limits = { "NVIDIA-H100" = 4, "NVIDIA-A100" = 2 } }
}

resource "gpuplane_project" "a" {
  tenant              = gpuplane_tenant.kq.name
  name                = "a"
  deletion_protection = false
  gpu_quota = { limits = { "NVIDIA-H100" = %d }, requests = { "NVIDIA-H100" = 2 } }
}

resource "gpuplane_project" "b" {
  tenant              = gpuplane_tenant.kq.name
  name                = "b"
  deletion_protection = false
  gpu_quota = { limits = { "NVIDIA-H100" = 3 } }
}

resource "gpuplane_tenant" "kr" {
  name      = "kr"
  dataplane = gpuplane_dataplane.kq.name
  gpu_quota = { limits = { "NVIDIA-H100" = 4, "NVIDIA-A100" = 2 } }
}

resource "gpuplane_project" "c" {
  tenant    = gpuplane_tenant.kr.name
  name      = "c"
  gpu_quota = { limits = { "NVIDIA-H100" = 3, "NVIDIA-A100" = 0 } }
}
`, aLimitH100)
}

var kqH100 = map[string]string{"gpu.example.com/family": "h100"}

// TestAccKueue_sharedResourceFamilies: families that share nvidia.com/gpu
// get separate quotas through Kueue; overcommitted projects cannot
// together exceed their tenant; nothing skips the queue.
func TestAccKueue_sharedResourceFamilies(t *testing.T) {
	needKueue(t)
	fakeGPUNode(t, "kq-h100", map[string]string{"gpu.example.com/family": "h100"}, map[string]int64{"nvidia.com/gpu": 8})
	fakeGPUNode(t, "kq-a100", map[string]string{"gpu.example.com/family": "a100"}, map[string]int64{"nvidia.com/gpu": 8})
	c := testClient(t).Typed
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoKueueObjects,
		Steps: []resource.TestStep{{
			Config: kueueConfig(3),
			Check: resource.ComposeTestCheckFunc(
				checkClusterQueue(t, "kq-a", "gpuplane-kq", "gpuplane-nvidia-h100", 0, ptr64(3)),
				checkClusterQueue(t, "kr-c", "gpuplane-kr", "gpuplane-nvidia-h100", 3, ptr64(0)),
				checkClusterQueue(t, "kr-c", "gpuplane-kr", "gpuplane-nvidia-a100", 0, ptr64(0)),
				func(*terraform.State) error {
					// Over project a's H100 limit (3): never admitted.
					if err := submitJob(c, "kq-a", "too-big", 2, 2, kqH100); err != nil {
						return err
					}
					// Within it: admitted, and its pod (created by the Job
					// controller, with the flavor's node label) is allowed.
					if err := submitJob(c, "kq-a", "fits", 1, 2, kqH100); err != nil {
						return err
					}
					if err := waitJobStarted(c, "kq-a", "fits"); err != nil {
						return err
					}
					if err := waitJobPod(c, "kq-a", "fits", kqH100); err != nil {
						return err
					}
					// b (limit 3) takes the tenant's other 2 H100s; one more
					// would exceed the tenant's 4: it waits.
					if err := submitJob(c, "kq-b", "rest", 1, 2, kqH100); err != nil {
						return err
					}
					if err := waitJobStarted(c, "kq-b", "rest"); err != nil {
						return err
					}
					if err := submitJob(c, "kq-b", "over-tenant", 1, 1, kqH100); err != nil {
						return err
					}
					return errors.Join(stillSuspended(c, "kq-a", "too-big"), stillSuspended(c, "kq-b", "over-tenant"))
				},
				func(*terraform.State) error { return checkNoBypass(t, c) },
			),
		}, {
			// Changing a project's quota changes its ClusterQueue.
			Config: kueueConfig(2),
			Check:  checkClusterQueue(t, "kq-a", "gpuplane-kq", "gpuplane-nvidia-h100", 0, ptr64(2)),
		}, {
			// Usage comes from Kueue: admitted (fits 2 + rest 2) and waiting
			// (too-big 4 + held 1 in a, over-tenant 1 in b), apart.
			Config: kueueConfig(2) + `
data "gpuplane_gpu_usage" "kq" {
  tenant = gpuplane_tenant.kq.name
}
`,
			Check: resource.ComposeTestCheckFunc(
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.kq", "families.NVIDIA-H100.used", "4"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.kq", "families.NVIDIA-H100.pending", "6"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.kq", "families.NVIDIA-H100.limit", "4"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.kq", "projects.a.NVIDIA-H100.used", "2"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.kq", "projects.a.NVIDIA-H100.pending", "5"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.kq", "projects.b.NVIDIA-H100.pending", "1"),
				resource.TestCheckResourceAttr("data.gpuplane_gpu_usage.kq", "families.NVIDIA-A100.used", "0"),
			),
		}},
	})
}

func ptr64(n int64) *int64 { return &n }

// checkNoBypass: a bare GPU pod, a Job that is not queued and a Job
// started by anyone but Kueue are refused; a pod over its family's cap is
// refused even from the Job controller.
func checkNoBypass(t *testing.T, c kubernetes.Interface) error {
	ctx := context.Background()
	dry := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	pod := gpuPod("kq-a", "bare", 1, kqH100)
	if _, err := c.CoreV1().Pods("kq-a").Create(ctx, pod, dry); err == nil || !strings.Contains(err.Error(), "run through Kueue") {
		return fmt.Errorf("a bare GPU pod: got %v, want refused with \"run through Kueue\"", err)
	}
	job := gpuJob("kq-a", "unqueued", 1, 1, kqH100)
	delete(job.Labels, platform.KueueQueueLabel)
	job.Spec.Suspend = nil
	// Kueue's webhook queues it in the default LocalQueue.
	created, err := c.BatchV1().Jobs("kq-a").Create(ctx, job, dry)
	if err != nil || created.Labels[platform.KueueQueueLabel] != platform.LocalQueueName || !*created.Spec.Suspend {
		return fmt.Errorf("a Job without queue label: got %v (labels %v), want it queued in %q by Kueue's webhook", err, labelsOf(created), platform.LocalQueueName)
	}
	if err := submitJob(c, "kq-a", "held", 1, 1, kqH100); err != nil {
		return err
	}
	patch := []byte(`{"spec":{"suspend":false}}`)
	if _, err := c.BatchV1().Jobs("kq-a").Patch(ctx, "held", "application/merge-patch+json", patch, metav1.PatchOptions{}); err == nil ||
		!strings.Contains(err.Error(), "only Kueue starts") {
		return fmt.Errorf("un-suspending a queued Job by hand: got %v, want refused with \"only Kueue starts\"", err)
	}
	if _, err := c.BatchV1().Jobs("kq-a").Create(ctx, gpuJob("kq-a", "wide", 1, 3, kqH100), dry); err == nil ||
		!strings.Contains(err.Error(), "pin a family") {
		return fmt.Errorf("a Job of 3-GPU pods (cap 2): got %v, want refused at submission", err)
	}
	jc := impersonating(t, "system:serviceaccount:kube-system:job-controller")
	if _, err := jc.CoreV1().Pods("kq-a").Create(ctx, gpuPod("kq-a", "over-cap", 3, kqH100), dry); err == nil ||
		!strings.Contains(err.Error(), "NVIDIA-H100 at most 2") {
		return fmt.Errorf("a 3-GPU H100 pod (cap 2) from the Job controller: got %v, want refused naming NVIDIA-H100 at most 2", err)
	}
	if _, err := jc.CoreV1().Pods("kq-a").Create(ctx, gpuPod("kq-a", "at-cap", 2, kqH100), dry); err != nil {
		return fmt.Errorf("a 2-GPU H100 pod (cap 2) from the Job controller: %w", err)
	}
	return nil
}

func labelsOf(j *batchv1.Job) map[string]string {
	if j == nil {
		return nil
	}
	return j.Labels
}

func impersonating(t *testing.T, user string) kubernetes.Interface {
	rc, err := clientcmd.BuildConfigFromFlags("", testCluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	rc.Impersonate = rest.ImpersonationConfig{UserName: user}
	return kubernetes.NewForConfigOrDie(rc)
}

func gpuPod(ns, name string, gpus int64, selector map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Spec: gpuPodSpec(gpus, selector)}
}

func gpuPodSpec(gpus int64, selector map[string]string) corev1.PodSpec {
	return corev1.PodSpec{
		NodeSelector: selector, RestartPolicy: corev1.RestartPolicyNever,
		Containers: []corev1.Container{{Name: "train", Image: "gpuplane.invalid/train", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{"nvidia.com/gpu": *k8sresource.NewQuantity(gpus, k8sresource.DecimalSI)}}}},
	}
}

func gpuJob(ns, name string, pods int32, gpusPerPod int64, selector map[string]string) *batchv1.Job {
	suspend := true
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{platform.KueueQueueLabel: platform.LocalQueueName}},
		Spec: batchv1.JobSpec{Parallelism: &pods, Completions: &pods, Suspend: &suspend,
			Template: corev1.PodTemplateSpec{Spec: gpuPodSpec(gpusPerPod, selector)}},
	}
}

func submitJob(c kubernetes.Interface, ns, name string, pods int32, gpusPerPod int64, selector map[string]string) error {
	_, err := c.BatchV1().Jobs(ns).Create(context.Background(), gpuJob(ns, name, pods, gpusPerPod, selector), metav1.CreateOptions{})
	return err
}

func waitJobStarted(c kubernetes.Interface, ns, name string) error {
	return waitCond(30*time.Second, fmt.Sprintf("Kueue to start Job %s/%s", ns, name), func() (bool, error) {
		j, err := c.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && j.Spec.Suspend != nil && !*j.Spec.Suspend, err
	})
}

func waitJobPod(c kubernetes.Interface, ns, job string, selector map[string]string) error {
	return waitCond(30*time.Second, "the Job controller to create a pod of "+job, func() (bool, error) {
		pods, err := c.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "job-name=" + job})
		if err != nil || len(pods.Items) == 0 {
			return false, err
		}
		for k, v := range selector {
			if pods.Items[0].Spec.NodeSelector[k] != v {
				return false, fmt.Errorf("pod %s has node selector %v, want %v (the flavor's labels)", pods.Items[0].Name, pods.Items[0].Spec.NodeSelector, selector)
			}
		}
		return true, nil
	})
}

// stillSuspended: the Job is not started, and its Workload is pending.
func stillSuspended(c kubernetes.Interface, ns, name string) error {
	time.Sleep(3 * time.Second) // Kueue admits within a scheduling cycle when it can
	j, err := c.BatchV1().Jobs(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	if j.Spec.Suspend == nil || !*j.Spec.Suspend {
		return fmt.Errorf("Job %s/%s was started, want it held by Kueue", ns, name)
	}
	return nil
}

func waitCond(timeout time.Duration, what string, ok func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		done, err := ok()
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out waiting for %s (last error: %v)", what, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkClusterQueue asserts a ClusterQueue's cohort and one flavor's GPU
// nominal quota and borrowing limit (nil: none).
func checkClusterQueue(t *testing.T, name, cohort, flavor string, nominal int64, borrowing *int64) resource.TestCheckFunc {
	return func(*terraform.State) error {
		obj, err := testClient(t).Get(context.Background(), platform.ClusterQueues, "", name)
		if err != nil || obj == nil {
			return fmt.Errorf("ClusterQueue %s: %v (exists: %v)", name, err, obj != nil)
		}
		cq := new(kueue.ClusterQueue)
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, cq); err != nil {
			return err
		}
		if string(cq.Spec.CohortName) != cohort {
			return fmt.Errorf("ClusterQueue %s cohort = %q, want %q", name, cq.Spec.CohortName, cohort)
		}
		for _, g := range cq.Spec.ResourceGroups {
			for _, f := range g.Flavors {
				if string(f.Name) != flavor {
					continue
				}
				q := f.Resources[0]
				gotB := "none"
				if q.BorrowingLimit != nil {
					gotB = q.BorrowingLimit.String()
				}
				wantB := "none"
				if borrowing != nil {
					wantB = fmt.Sprint(*borrowing)
				}
				if q.NominalQuota.Value() != nominal || gotB != wantB {
					return fmt.Errorf("ClusterQueue %s flavor %s: nominal %s, borrowing limit %s; want %d, %s", name, flavor, q.NominalQuota.String(), gotB, nominal, wantB)
				}
				return nil
			}
		}
		return fmt.Errorf("ClusterQueue %s has no flavor %s: %+v", name, flavor, cq.Spec.ResourceGroups)
	}
}

// checkNoKueueObjects: destroy leaves no Kueue object gpuplane wrote, and
// nothing of gpuplane's.
func checkNoKueueObjects(s *terraform.State) error {
	c, err := newTestClient()
	if err != nil {
		return err
	}
	ctx := context.Background()
	var left []string
	for _, r := range []string{"resourceflavors", "cohorts", "clusterqueues", "localqueues"} {
		items, err := c.List(ctx, kueue.GroupVersion.WithResource(r), "", "")
		if err != nil {
			return err
		}
		for _, it := range items {
			if strings.HasPrefix(it.GetName(), "gpuplane-") || strings.HasPrefix(it.GetName(), "kq-") ||
				strings.HasPrefix(it.GetName(), "kr-") || it.GetNamespace() != "" {
				left = append(left, r+"/"+it.GetNamespace()+"/"+it.GetName())
			}
		}
	}
	if len(left) > 0 {
		return fmt.Errorf("Kueue objects left after destroy: %s", strings.Join(left, ", "))
	}
	return checkNoGpuplaneObjects(s)
}
