package provider

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// How the lifecycle benchmark measures (audit log, RSS) and reports.

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
	phases := r.Phases
	if r.OneProject != nil {
		p := *r.OneProject
		fmt.Fprintf(&b, "\n%s, on this cluster: %.1f s, %d API requests, provider peak RSS %d MiB.\n", p.Phase, p.Seconds, p.Total, p.PeakRSS)
		phases = append(slices.Clone(phases), p)
	}
	b.WriteString("\nRequests by verb and resource:\n\n| phase | requests |\n|---|---|\n")
	for _, p := range phases {
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
