package provider

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
		r.Phases = runPhases(t, plugins, gpuplaneLifecycleConfig(testCluster.Kubeconfig, n), true)
		r.Floor = runPhases(t, plugins, floorConfig(r.Resources), false)
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

// runPhases runs the lifecycle in a new working directory.
func runPhases(t *testing.T, plugins, config string, counted bool) []phaseResult {
	dir := t.TempDir()
	cliConfig := filepath.Join(dir, "terraformrc")
	rc := fmt.Sprintf("provider_installation {\n  dev_overrides { \"gpuplane/gpuplane\" = %q }\n  direct {}\n}\n", plugins)
	if err := os.WriteFile(cliConfig, []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.tf"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	var out []phaseResult
	for _, ph := range lifecyclePhases {
		offset := fileSize(testCluster.AuditLog())
		rss := watchPeakRSS("terraform-provider-gpuplane")
		start := time.Now()
		cmd := exec.Command(os.Getenv("TF_ACC_TERRAFORM_PATH"), append(ph.args, "-input=false", "-no-color")...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+cliConfig, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		err := cmd.Run()
		r := phaseResult{Phase: ph.name, Seconds: time.Since(start).Seconds(), PeakRSS: rss() >> 20}
		if err != nil {
			t.Fatalf("terraform %s: %v\n%s", ph.name, err, tail(buf.String()))
		}
		if counted {
			r.Requests, r.Total = auditedRequests(t, testCluster.AuditLog(), offset)
		} else {
			r.PeakRSS = 0
		}
		out = append(out, r)
	}
	return out
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// auditedRequests counts the provider's requests (by user agent) in the
// audit log from offset on, by verb and resource.
func auditedRequests(t *testing.T, path string, offset int64) (map[string]int64, int64) {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Seek(offset, 0); err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	var total int64
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var e struct {
			Stage     string `json:"stage"`
			Verb      string `json:"verb"`
			UserAgent string `json:"userAgent"`
			ObjectRef struct {
				Resource, Subresource string
			} `json:"objectRef"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil || !strings.HasPrefix(e.UserAgent, "terraform-provider-gpuplane/") ||
			e.Stage != "ResponseComplete" {
			continue
		}
		res := e.ObjectRef.Resource
		if e.ObjectRef.Subresource != "" {
			res += "/" + e.ObjectRef.Subresource
		}
		if res == "" {
			res = "(discovery)"
		}
		counts[e.Verb+" "+res]++
		total++
	}
	return counts, total
}

// watchPeakRSS samples the peak RSS (VmHWM) of processes whose command is
// name until the returned function is called, which returns it in bytes.
func watchPeakRSS(name string) func() int64 {
	var peak atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
			for _, p := range procs {
				cmdline, err := os.ReadFile(p)
				if err != nil || !strings.HasSuffix(strings.SplitN(string(cmdline), "\x00", 2)[0], "/"+name) {
					continue
				}
				status, err := os.ReadFile(filepath.Join(filepath.Dir(p), "status"))
				if err != nil {
					continue
				}
				for _, line := range strings.Split(string(status), "\n") {
					if kb, ok := strings.CutPrefix(line, "VmHWM:"); ok {
						n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(kb), "kB")), 10, 64)
						if n<<10 > peak.Load() {
							peak.Store(n << 10)
						}
					}
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	return func() int64 { close(stop); wg.Wait(); return peak.Load() }
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

func (r lifecycleResult) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n### %d projects (%d resources: 1 dataplane, 10 tenants, %d projects, 20 memberships)\n\n", r.Projects, r.Resources, r.Projects)
	b.WriteString("| phase | gpuplane | terraform_data floor | ratio | API requests | provider peak RSS |\n|---|---|---|---|---|---|\n")
	for i, p := range r.Phases {
		floor := r.Floor[i].Seconds
		ratio := fmt.Sprintf("%.1f×", p.Seconds/floor)
		if p.Phase == "destroy" {
			ratio += fmt.Sprintf(" (namespace floor %.1f s: %.2f×)", r.NamespaceFloor, p.Seconds/r.NamespaceFloor)
		}
		fmt.Fprintf(&b, "| %s | %.1f s | %.1f s | %s | %d | %d MiB |\n", p.Phase, p.Seconds, floor, ratio, p.Total, p.PeakRSS)
	}
	b.WriteString("\nRequests by verb and resource:\n\n| phase | requests |\n|---|---|\n")
	for _, p := range r.Phases {
		keys := make([]string, 0, len(p.Requests))
		for k := range p.Requests {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return p.Requests[keys[i]] > p.Requests[keys[j]] })
		parts := make([]string, 0, len(keys))
		for _, k := range keys {
			parts = append(parts, fmt.Sprintf("%s %d", k, p.Requests[k]))
		}
		fmt.Fprintf(&b, "| %s | %s |\n", p.Phase, strings.Join(parts, ", "))
	}
	return b.String()
}

func writeResults(t *testing.T, results []lifecycleResult) {
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(filepath.Dir(bin), "bench")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(map[string]any{
		"machine": fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()), "date": time.Now().UTC().Format(time.RFC3339),
		"results": results,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), append(js, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	fmt.Fprintf(&md, "# Lifecycle benchmark\n\n`make bench` (TestLifecycleBench) on %s/%s with %d CPUs, %s, the local control plane, "+
		"terraform at its default parallelism (10). Regenerated by every run.\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(),
		time.Now().UTC().Format("2006-01-02"))
	for _, r := range results {
		md.WriteString(r.markdown())
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
