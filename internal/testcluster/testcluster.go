// Package testcluster gives acceptance tests a real Kubernetes API server:
// a kind (or other) cluster named by GPUPLANE_TEST_KUBECONFIG, or by a
// KUBECONFIG whose current context is a kind cluster, or else the local
// control plane (etcd + kube-apiserver + kube-controller-manager) that
// `make controlplane` builds into bin/.
package testcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// Cluster is a running cluster for tests.
type Cluster struct {
	// Kubeconfig is the path of an admin kubeconfig.
	Kubeconfig string
	// Local reports whether the cluster is the local control plane this
	// package started.
	Local bool

	dir   string
	cmd   *exec.Cmd
	done  chan struct{}
	kueue *kueueProcess // started by StartKueue
}

// Start returns the cluster to test against, starting the local control
// plane when no external one is configured.
func Start(ctx context.Context) (*Cluster, error) {
	if kc := os.Getenv("GPUPLANE_TEST_KUBECONFIG"); kc != "" {
		return &Cluster{Kubeconfig: kc}, nil
	}
	// KUBECONFIG is honoured only for kind clusters: acceptance tests create
	// and delete cluster-wide objects, and a developer's KUBECONFIG may well
	// point at a production cluster.
	if kc := os.Getenv("KUBECONFIG"); kc != "" && isKind(kc) {
		return &Cluster{Kubeconfig: kc}, nil
	}
	return StartLocal(ctx)
}

func isKind(kubeconfig string) bool {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: filepath.SplitList(kubeconfig)}
	cfg, err := rules.Load()
	return err == nil && strings.HasPrefix(cfg.CurrentContext, "kind-")
}

// BinDir is where the control plane binaries are: GPUPLANE_CONTROLPLANE_BIN,
// or bin/ at the root of this repository.
func BinDir() (string, error) {
	if d := os.Getenv("GPUPLANE_CONTROLPLANE_BIN"); d != "" {
		return d, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(b), "module github.com/gpuplane/terraform-provider-gpuplane\n") {
			return filepath.Join(dir, "bin"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("cannot find the repository root (go.mod of terraform-provider-gpuplane)")
		}
		dir = parent
	}
}

// StartLocal starts a local control plane (a test may run several), with
// the launcher's extra flags (e.g. -demo-nodes); Stop stops it.
func StartLocal(ctx context.Context, flags ...string) (*Cluster, error) {
	bin, err := BinDir()
	if err != nil {
		return nil, err
	}
	launcher := filepath.Join(bin, "gpuplane-controlplane")
	if _, err := os.Stat(launcher); err != nil {
		return nil, fmt.Errorf("%s is missing: run `make controlplane` (or `make test`), "+
			"or set GPUPLANE_TEST_KUBECONFIG to a kind cluster's kubeconfig", launcher)
	}
	dir, err := os.MkdirTemp("", "gpuplane-test-")
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "controlplane.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(launcher, append([]string{"-dir", filepath.Join(dir, "cp"), "-bin-dir", bin}, flags...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &Cluster{Local: true, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(c.done) }()

	ready := filepath.Join(dir, "cp", "ready")
	deadline := time.NewTimer(3 * time.Minute)
	defer deadline.Stop()
	for {
		if _, err := os.Stat(ready); err == nil {
			c.Kubeconfig = filepath.Join(dir, "cp", "kubeconfig")
			return c, nil
		}
		select {
		case <-c.done:
			log, _ := os.ReadFile(filepath.Join(dir, "controlplane.log"))
			return nil, fmt.Errorf("control plane exited before it was ready:\n%s", log)
		case <-deadline.C:
			c.Stop()
			return nil, errors.New("control plane not ready after 3 minutes")
		case <-ctx.Done():
			c.Stop()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Stop stops a local control plane and removes its files; it leaves an
// external cluster alone.
func (c *Cluster) Stop() {
	if !c.Local {
		return
	}
	if c.kueue != nil {
		c.kueue.stop()
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = os.RemoveAll(c.dir)
}

// Main runs a package's tests (a TestMain calls it): with TF_ACC set it
// starts one cluster for all of them first, hands it to started, and
// stops it after; without TF_ACC only the unit tests run, with no cluster.
func Main(m interface{ Run() int }, started func(*Cluster)) {
	if os.Getenv("TF_ACC") == "" {
		os.Exit(m.Run())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	c, err := Start(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting the test cluster:", err)
		os.Exit(1)
	}
	started(c)
	code := m.Run()
	c.Stop()
	os.Exit(code)
}

// ErrNotLocal: only the local control plane can be restarted by a test.
var ErrNotLocal = errors.New("the cluster is not the local control plane")

// RestartAPIServer stops kube-apiserver and starts it again on the same
// etcd data, port and certificates, and returns once it serves again
// (tests of a restart mid-apply). Only for the local control plane.
func (c *Cluster) RestartAPIServer(ctx context.Context) error {
	if !c.Local {
		return ErrNotLocal
	}
	marker := filepath.Join(c.dir, "cp", "restarts")
	before, _ := os.ReadFile(marker)
	if err := c.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		return err
	}
	for {
		if now, _ := os.ReadFile(marker); len(now) > 0 && string(now) != string(before) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver did not restart: %w", ctx.Err())
		case <-c.done:
			return errors.New("the control plane exited")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// AuditLog is the path of the local control plane's audit log (every
// request at Metadata level, JSON lines); "" for an external cluster.
func (c *Cluster) AuditLog() string {
	if !c.Local {
		return ""
	}
	return filepath.Join(c.dir, "cp", "audit.log")
}
