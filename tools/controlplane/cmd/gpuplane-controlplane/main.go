// Command gpuplane-controlplane runs a throw-away Kubernetes control plane on
// loopback for gpuplane's acceptance tests and demo: an embedded etcd, and
// kube-apiserver and kube-controller-manager built from k8s.io/kubernetes as
// child processes. It writes an admin kubeconfig, prints where it is, and stops
// everything (and removes its data unless -keep) on SIGINT or SIGTERM.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func main() {
	dir := flag.String("dir", "", "data directory (default: a new temporary directory)")
	binDir := flag.String("bin-dir", "", "directory holding kube-apiserver and kube-controller-manager (default: next to this binary)")
	keep := flag.Bool("keep", false, "keep the data directory on exit")
	timeout := flag.Duration("ready-timeout", 3*time.Minute, "how long to wait for the control plane to become ready")
	demoNodes := flag.Bool("demo-nodes", false, "create fake GPU nodes (Node objects with GPU capacity) for the demo")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("gpuplane-controlplane: ")

	if err := run(*dir, *binDir, *keep, *demoNodes, *timeout); err != nil {
		log.Fatal(err)
	}
}

func run(dir, binDir string, keep, demoNodes bool, readyTimeout time.Duration) error {
	if binDir == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		binDir = filepath.Dir(self)
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "gpuplane-controlplane-")
		if err != nil {
			return err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	}
	// A stale ready marker from an earlier run would fool whoever waits for it.
	_ = os.Remove(filepath.Join(dir, "ready"))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	etcdServer, err := startEtcd(filepath.Join(dir, "etcd"), etcdURL, fmt.Sprintf("http://127.0.0.1:%d", ports[1]))
	if err != nil {
		return fmt.Errorf("etcd: %w", err)
	}
	defer etcdServer.Close()

	token, err := randomToken()
	if err != nil {
		return err
	}
	files, err := writeSecrets(dir, token)
	if err != nil {
		return err
	}

	apiPort := ports[2]
	certDir := filepath.Join(dir, "certs")
	apiArgs := []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		// The kubernetes Service endpoint cannot be a loopback address; no pod needs it here.
		"--endpoint-reconciler-type=none",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--cert-dir=" + certDir,
		"--token-auth-file=" + files.tokens,
		"--authorization-mode=RBAC",
		"--service-account-key-file=" + files.saKey,
		"--service-account-signing-key-file=" + files.saKey,
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-cluster-ip-range=10.0.0.0/24",
		"--disable-admission-plugins=ServiceAccount",
		"--audit-policy-file=" + files.auditPolicy,
		"--audit-log-path=" + filepath.Join(dir, "audit.log"),
		"--audit-log-format=json",
		// Never rotate (the log's writer rotates at 100 MB by default): the
		// lifecycle benchmark counts requests from offsets in this one file.
		"--audit-log-maxsize=1000000",
	}
	apiserver, err := startChild(ctx, dir, filepath.Join(binDir, "kube-apiserver"), apiArgs...)
	if err != nil {
		return err
	}
	defer func() { apiserver.stop() }()

	host := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	deadline, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := waitFor(deadline, apiserver, func() bool { return get(host+"/readyz", token) == nil }); err != nil {
		return fmt.Errorf("kube-apiserver did not become ready (log: %s): %w", apiserver.logPath, err)
	}
	ca, err := os.ReadFile(filepath.Join(certDir, "apiserver.crt"))
	if err != nil {
		return err
	}
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(kubeconfig, host, ca, token); err != nil {
		return err
	}

	kcm, err := startChild(ctx, dir, filepath.Join(binDir, "kube-controller-manager"),
		"--kubeconfig="+kubeconfig,
		"--controllers=namespace-controller,resourcequota-controller,garbage-collector-controller,"+
			"serviceaccount-controller,serviceaccount-token-controller,clusterrole-aggregation-controller,job-controller",
		// Each controller as its own service account, as kubeadm and kind run
		// it: pods of Jobs are created by system:serviceaccount:kube-system:job-controller.
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+files.saKey,
		"--root-ca-file="+filepath.Join(certDir, "apiserver.crt"),
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-namespace-syncs=5",
		"--concurrent-resource-quota-syncs=5",
	)
	if err != nil {
		return err
	}
	defer kcm.stop()

	// The built-in admin/edit/view roles are empty until the aggregation
	// controller fills them; tests that bind them need them filled.
	if err := waitFor(deadline, kcm, func() bool { return clusterRoleAggregated(host, token, "admin") }); err != nil {
		return fmt.Errorf("kube-controller-manager did not aggregate ClusterRole admin (log: %s): %w", kcm.logPath, err)
	}

	if demoNodes {
		if err := createDemoNodes(host, token); err != nil {
			return fmt.Errorf("creating demo nodes: %w", err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(kubeconfig+"\n"), 0o600); err != nil {
		return err
	}
	fmt.Printf("control plane ready\n  export KUBECONFIG=%s\n  audit log: %s\nstop with Ctrl-C or SIGTERM (pid %d)\n",
		kubeconfig, filepath.Join(dir, "audit.log"), os.Getpid())

	// SIGUSR1 restarts kube-apiserver on the same etcd data, port and
	// certificates (tests of an API server restart mid-apply); each restart
	// bumps the count in the file "restarts" once the server is ready again.
	restart := make(chan os.Signal, 1)
	signal.Notify(restart, syscall.SIGUSR1)
	for restarts := 1; ; restarts++ {
		select {
		case <-ctx.Done():
			return nil
		case <-apiserver.done:
			return fmt.Errorf("kube-apiserver exited (log: %s)", apiserver.logPath)
		case <-kcm.done:
			return fmt.Errorf("kube-controller-manager exited (log: %s)", kcm.logPath)
		case <-restart:
			apiserver.stop()
			if apiserver, err = startChild(ctx, dir, filepath.Join(binDir, "kube-apiserver"), apiArgs...); err != nil {
				return err
			}
			ready, cancel := context.WithTimeout(ctx, readyTimeout)
			err := waitFor(ready, apiserver, func() bool { return get(host+"/readyz", token) == nil })
			cancel()
			if err != nil {
				return fmt.Errorf("kube-apiserver did not come back (log: %s): %w", apiserver.logPath, err)
			}
			if err := os.WriteFile(filepath.Join(dir, "restarts"), []byte(strconv.Itoa(restarts)), 0o600); err != nil {
				return err
			}
		}
	}
}

func startEtcd(dataDir, clientURL, peerURL string) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Dir = dataDir
	cfg.LogLevel = "fatal" // its shutdown "errors" are noise
	cu, err := url.Parse(clientURL)
	if err != nil {
		return nil, err
	}
	pu, err := url.Parse(peerURL)
	if err != nil {
		return nil, err
	}
	cfg.ListenClientUrls = []url.URL{*cu}
	cfg.AdvertiseClientUrls = []url.URL{*cu}
	cfg.ListenPeerUrls = []url.URL{*pu}
	cfg.AdvertisePeerUrls = []url.URL{*pu}
	cfg.InitialCluster = cfg.Name + "=" + peerURL
	// A test cluster needs no durability across power loss; skipping fsync
	// keeps namespace-heavy tests fast on slow disks.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("not ready after 60s")
	}
}

type secretFiles struct{ tokens, saKey, auditPolicy string }

func writeSecrets(dir, token string) (secretFiles, error) {
	f := secretFiles{
		tokens:      filepath.Join(dir, "tokens.csv"),
		saKey:       filepath.Join(dir, "sa.key"),
		auditPolicy: filepath.Join(dir, "audit-policy.yaml"),
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return f, err
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	if err := os.WriteFile(f.saKey, keyPEM, 0o600); err != nil {
		return f, err
	}
	if err := os.WriteFile(f.tokens, []byte(token+",gpuplane-admin,gpuplane-admin,system:masters\n"), 0o600); err != nil {
		return f, err
	}
	// Metadata-level audit of every request lets benchmarks count API calls by verb.
	policy := "apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n"
	return f, os.WriteFile(f.auditPolicy, []byte(policy), 0o600)
}

func writeKubeconfig(path, host string, ca []byte, token string) error {
	cfg := map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"current-context": "gpuplane-local",
		"clusters": []any{map[string]any{"name": "gpuplane-local", "cluster": map[string]any{
			"server": host, "certificate-authority-data": base64.StdEncoding.EncodeToString(ca),
		}}},
		"users": []any{map[string]any{"name": "gpuplane-admin", "user": map[string]any{"token": token}}},
		"contexts": []any{map[string]any{"name": "gpuplane-local", "context": map[string]any{
			"cluster": "gpuplane-local", "user": "gpuplane-admin",
		}}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

type child struct {
	cmd     *exec.Cmd
	done    chan struct{}
	logPath string
}

func startChild(ctx context.Context, dir, bin string, args ...string) (*child, error) {
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%s not found: build it with `make controlplane` (%w)", filepath.Base(bin), err)
	}
	logPath := filepath.Join(dir, filepath.Base(bin)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// If this process dies without cleaning up, the kernel ends the children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	c := &child{cmd: cmd, done: make(chan struct{}), logPath: logPath}
	go func() { _ = cmd.Wait(); logFile.Close(); close(c.done) }()
	return c, nil
}

func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

func waitFor(ctx context.Context, c *child, ok func() bool) error {
	for {
		if ok() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-c.done:
			return errors.New("process exited")
		case <-time.After(250 * time.Millisecond):
		}
	}
}

var insecureClient = &http.Client{
	Timeout: 5 * time.Second,
	// Loopback only, against the certificate the apiserver just generated.
	Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec
}

func get(u, token string) error {
	_, err := getBody(u, token)
	return err
}

func getBody(u, token string) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := insecureClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", resp.Status, b)
	}
	return b, err
}

func clusterRoleAggregated(host, token, name string) bool {
	b, err := getBody(host+"/apis/rbac.authorization.k8s.io/v1/clusterroles/"+name, token)
	if err != nil {
		return false
	}
	var role struct {
		Rules []json.RawMessage `json:"rules"`
	}
	return json.Unmarshal(b, &role) == nil && len(role.Rules) > 0
}

// createDemoNodes adds Node objects with GPU capacity in their status. No
// kubelet runs them; quota admission and capacity reporting do not need one.
func createDemoNodes(host, token string) error {
	nodes := []struct {
		name, family, resource string
		gpus                   int
	}{
		{"gpu-h100-a", "h100", "nvidia.com/gpu-h100", 8},
		{"gpu-h100-b", "h100", "nvidia.com/gpu-h100", 8},
		{"gpu-a100-a", "a100", "nvidia.com/mig-1g.10gb", 7},
	}
	for _, n := range nodes {
		node := map[string]any{"apiVersion": "v1", "kind": "Node", "metadata": map[string]any{
			"name": n.name, "labels": map[string]string{"gpu.example.com/family": n.family, "pool": n.family},
		}}
		if err := send(http.MethodPost, host+"/api/v1/nodes", token, "application/json", node); err != nil {
			return err
		}
		capacity := map[string]string{n.resource: strconv.Itoa(n.gpus), "cpu": "64", "memory": "512Gi", "pods": "110"}
		status := map[string]any{"status": map[string]any{"capacity": capacity, "allocatable": capacity}}
		if err := send(http.MethodPatch, host+"/api/v1/nodes/"+n.name+"/status", token, "application/merge-patch+json", status); err != nil {
			return err
		}
	}
	return nil
}

func send(method, u, token, contentType string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", contentType)
	resp, err := insecureClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, u, resp.Status, msg)
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
