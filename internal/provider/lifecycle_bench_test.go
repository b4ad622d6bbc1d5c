package provider

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// TestLifecycleBench (make bench) measures the whole Terraform lifecycle of
// a platform of N projects in 10 tenants with two memberships per tenant,
// with the terraform binary at its default parallelism: apply (create),
// plan (refresh, no changes), plan -refresh=false, an update of every
// tenant's quota, and destroy. In the same run it measures the floors:
// the same phases for as many terraform_data resources, and, for destroy,
// the namespace controller deleting as many namespaces (with a quota and
// four RoleBindings each, as a project's) all at once. It reports seconds,
// ratios, the provider's API requests by verb and resource (from the local
// control plane's audit log) and its peak RSS, into bench/results.md and
// bench/results.json. Sizes: GPUPLANE_BENCH_SIZES (default "100,1000").
func TestLifecycleBench(t *testing.T) {
	if os.Getenv("GPUPLANE_BENCH_LIFECYCLE") == "" {
		t.Skip("lifecycle benchmark: GPUPLANE_BENCH_LIFECYCLE=1 TF_ACC=1 (make bench)")
	}
	testAccPreCheck(t)
	if testCluster.AuditLog() == "" {
		t.Skip("the lifecycle benchmark counts requests in the local control plane's audit log")
	}
	sizes := []int{100, 1000}
	if s := os.Getenv("GPUPLANE_BENCH_SIZES"); s != "" {
		sizes = nil
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n < 10 || n%10 != 0 {
				t.Fatalf("GPUPLANE_BENCH_SIZES: %q is not a multiple of 10", f)
			}
			sizes = append(sizes, n)
		}
	}
	plugins := buildProvider(t)
	var results []lifecycleResult
	for _, n := range sizes {
		r := lifecycleResult{Projects: n, Resources: 1 + 10 + n + 20}
		r.Phases = runPhases(t, plugins, gpuplaneLifecycleConfig(testCluster.Kubeconfig, n), true, func() {
			one := planOneProject(t, plugins)
			r.OneProject = &one
		})
		r.Floor = runPhases(t, plugins, floorConfig(r.Resources), false, nil)
		r.NamespaceFloor = namespaceDeleteFloor(t, n+10)
		results = append(results, r)
		t.Log(r.markdown())
	}
	writeResults(t, results)
}

// phaseResult is one terraform command.
type phaseResult struct {
	Phase    string           `json:"phase"`
	Seconds  float64          `json:"seconds"`
	Requests map[string]int64 `json:"requests,omitempty"` // "verb resource" → count
	Total    int64            `json:"total_requests,omitempty"`
	PeakRSS  int64            `json:"provider_peak_rss_mib,omitempty"`
}

type lifecycleResult struct {
	Projects       int           `json:"projects"`
	Resources      int           `json:"resources"`
	Phases         []phaseResult `json:"gpuplane"`
	Floor          []phaseResult `json:"terraform_data"`
	NamespaceFloor float64       `json:"namespace_delete_floor_seconds"`
	OneProject     *phaseResult  `json:"one_project_plan,omitempty"`
}

var lifecyclePhases = []struct {
	name string
	args []string
}{
	{"apply", []string{"apply", "-auto-approve"}},
	{"plan", []string{"plan", "-detailed-exitcode"}},
	{"plan -refresh=false", []string{"plan", "-refresh=false", "-detailed-exitcode"}},
	{"update", []string{"apply", "-auto-approve", "-var=scale=2"}},
	{"destroy", []string{"destroy", "-auto-approve", "-var=scale=2"}},
}

func buildProvider(t *testing.T) string {
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-gpuplane"), ".")
	build.Dir = filepath.Dir(bin)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the provider: %v\n%s", err, out)
	}
	return dir
}

// runPhases runs the lifecycle in a new working directory; beforeDestroy
// (if any) runs between the update and the destroy.
func runPhases(t *testing.T, plugins, config string, counted bool, beforeDestroy func()) []phaseResult {
	w := newBenchDir(t, plugins, config)
	var out []phaseResult
	for _, ph := range lifecyclePhases {
		if ph.name == "destroy" && beforeDestroy != nil {
			beforeDestroy()
		}
		out = append(out, w.run(t, ph.name, ph.args, counted))
	}
	return out
}

// benchDir is a working directory with a CLI configuration that takes
// gpuplane from the benchmark's build.
type benchDir struct{ dir, cliConfig string }

func newBenchDir(t *testing.T, plugins, config string) benchDir {
	dir := t.TempDir()
	w := benchDir{dir: dir, cliConfig: filepath.Join(dir, "terraformrc")}
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides { \"gpuplane/gpuplane\" = %q }\n  direct {}\n}\n", plugins)
	if err := os.WriteFile(w.cliConfig, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return w
}

// run times one terraform command; counted: with its API requests and the
// provider's peak RSS.
func (w benchDir) run(t *testing.T, name string, args []string, counted bool) phaseResult {
	offset := fileSize(testCluster.AuditLog())
	rss := watchPeakRSS("terraform-provider-gpuplane")
	start := time.Now()
	cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), append(args, "-input=false", "-no-color")...)
	cmd.Dir = w.dir
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+w.cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	r := phaseResult{Phase: name, Seconds: time.Since(start).Seconds(), PeakRSS: rss() >> 20}
	if err != nil {
		t.Fatalf("terraform %s: %v\n%s", name, err, tail(buf.String()))
	}
	if counted {
		r.Requests, r.Total = auditedRequests(t, testCluster.AuditLog(), offset)
	} else {
		r.PeakRSS = 0
	}
	return r
}

// planOneProject plans, in a configuration of its own, one new project in
// the first tenant of the platform the lifecycle applied: what it costs
// must not grow with the cluster's other projects.
func planOneProject(t *testing.T, plugins string) phaseResult {
	config := fmt.Sprintf(`terraform {
  required_providers {
    gpuplane = { source = "gpuplane/gpuplane" }
  }
}
provider "gpuplane" { config_path = %q }
resource "gpuplane_project" "extra" {
  tenant    = "load-0"
  name      = "extra"
  gpu_quota = { limits = { "NVIDIA-H100" = 1 } }
}
`, testCluster.Kubeconfig)
	return newBenchDir(t, plugins, config).run(t, "plan of one project (its own configuration)", []string{"plan"}, true)
}

// gpuplaneLifecycleConfig is loadConfig's platform with a scale variable
// for the update phase: every tenant's quota is multiplied by it.
func gpuplaneLifecycleConfig(kubeconfig string, projects int) string {
	c := loadConfig(kubeconfig, 10, projects/10)
	c = strings.Replace(c, fmt.Sprintf(`gpu_quota = { limits = { "NVIDIA-H100" = %d } }`, projects/10),
		fmt.Sprintf(`gpu_quota = { limits = { "NVIDIA-H100" = %d * var.scale } }`, projects/10), 1)
	return c + "variable \"scale\" {\n  type    = number\n  default = 1\n}\n"
}

// floorConfig is as many terraform_data resources, the ten "tenants"
// changing with the scale variable.
func floorConfig(resources int) string {
	return fmt.Sprintf(`variable "scale" {
  type    = number
  default = 1
}
resource "terraform_data" "tenant" {
  count = 10
  input = { quota = 100 * var.scale }
}
resource "terraform_data" "other" {
  count = %d
  input = { name = "r${count.index}" }
}
`, resources-10)
}

// namespaceDeleteFloor creates n namespaces, each with a ResourceQuota and
// four RoleBindings as a project's, deletes them all at once and returns
// the seconds until the namespace controller has removed them all.
func namespaceDeleteFloor(t *testing.T, n int) float64 {
	c := testClient(t).Typed
	ctx := context.Background()
	names := make([]string, n)
	sem := make(chan struct{}, 20)
	var wg sync.WaitGroup
	for i := range names {
		names[i] = fmt.Sprintf("nsfloor-%04d", i)
		wg.Add(1)
		sem <- struct{}{}
		go func(ns string) {
			defer func() { <-sem; wg.Done() }()
			if _, err := c.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
				t.Error(err)
				return
			}
			rq := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "gpu"}, Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{}}}
			_, _ = c.CoreV1().ResourceQuotas(ns).Create(ctx, rq, metav1.CreateOptions{})
			for i, role := range []string{"view", "edit", "admin", "admin"} {
				rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("b%d", i)},
					RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
					Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.GroupKind, Name: "g"}}}
				_, _ = c.RbacV1().RoleBindings(ns).Create(ctx, rb, metav1.CreateOptions{})
			}
		}(names[i])
	}
	wg.Wait()
	start := time.Now()
	for _, ns := range names {
		if err := c.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		list, err := c.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		left := 0
		for _, ns := range list.Items {
			if strings.HasPrefix(ns.Name, "nsfloor-") {
				left++
			}
		}
		if left == 0 {
			return time.Since(start).Seconds()
		}
		time.Sleep(100 * time.Millisecond)
	}
}
