package testcluster

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	authnv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Kueue's controller manager next to the local control plane, for the
// tests of the Kueue backend. `make kueue` builds it from the Go module
// proxy into bin/kueue-manager and copies its CRDs and webhook
// configurations into bin/kueue-config. It runs as the service account
// kueue-system/kueue-controller-manager (what gpuplane's policies trust to
// start queued Jobs), serves its webhooks on loopback with a certificate
// made here, and the webhook configurations call it by URL.

// KueueNamespace and KueueServiceAccount are where Kueue runs, as installed
// by its release manifests.
const (
	KueueNamespace      = "kueue-system"
	KueueServiceAccount = "kueue-controller-manager"
	// kueueMetricsCerts is fixed in Kueue's main: without internal cert
	// management it reads its metrics certificate there.
	kueueMetricsCerts = "/etc/kueue/metrics/certs"
)

// ErrNoKueue: the cluster is not the local control plane and does not
// serve Kueue's API; install Kueue there to run the Kueue tests.
var ErrNoKueue = errors.New("kueue.x-k8s.io/v1beta2 is not served: install Kueue v0.17 (kubectl apply --server-side -f " +
	"https://github.com/kubernetes-sigs/kueue/releases/download/v0.17.0/manifests.yaml) to run the Kueue tests")

// StartKueue makes Kueue's controller run against the cluster: on the
// local control plane it installs Kueue's CRDs, starts bin/kueue-manager
// and its webhooks, once; on another cluster Kueue must be installed.
func (c *Cluster) StartKueue(ctx context.Context) error {
	rc, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return err
	}
	if !c.Local {
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return err
		}
		if _, err := cs.Discovery().ServerResourcesForGroupVersion("kueue.x-k8s.io/v1beta2"); err != nil {
			return fmt.Errorf("%w (%v)", ErrNoKueue, err)
		}
		return nil
	}
	if c.kueue != nil {
		return nil
	}
	bin, err := BinDir()
	if err != nil {
		return err
	}
	manager, config := filepath.Join(bin, "kueue-manager"), filepath.Join(bin, "kueue-config")
	if _, err := os.Stat(manager); err != nil {
		return fmt.Errorf("%s is missing: run `make kueue` (make testacc does)", manager)
	}
	dir := filepath.Join(c.dir, "kueue")
	cfgPath, ports, caPEM, err := prepareKueue(ctx, rc, dir, config)
	if err != nil {
		return err
	}
	k, err := launchKueue(ctx, manager, cfgPath, filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "kueue.log"), ports[0])
	if err != nil {
		return err
	}
	if err := installKueueWebhooks(ctx, rc, config, ports[1], caPEM); err != nil {
		k.stop()
		return fmt.Errorf("installing Kueue's webhook configurations: %w", err)
	}
	// The webhooks answer once the API server reaches them over TLS.
	if err := waitUntil(ctx, k.done, func() bool {
		conn, err := tls.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1])), &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // a loopback probe
		if err != nil {
			return false
		}
		conn.Close()
		return true
	}); err != nil {
		k.stop()
		return fmt.Errorf("kueue's webhooks: %w", err)
	}
	c.kueue = k // only a Kueue that is fully up counts as started
	return nil
}

// prepareKueue installs Kueue's CRDs, its service account and kubeconfig
// (dir/kubeconfig), its serving certificate, and writes its configuration;
// it returns the configuration's path, the health and webhook ports, and
// the CA of the certificate.
func prepareKueue(ctx context.Context, rc *rest.Config, dir, config string) (cfgPath string, ports []int, caPEM []byte, err error) {
	if err := os.MkdirAll(filepath.Join(dir, "certs"), 0o700); err != nil {
		return "", nil, nil, err
	}
	if err := installKueueCRDs(ctx, rc, config); err != nil {
		return "", nil, nil, fmt.Errorf("installing Kueue's CRDs: %w", err)
	}
	if err := kueueKubeconfig(ctx, rc, dir); err != nil {
		return "", nil, nil, err
	}
	if caPEM, err = writeServingCert(filepath.Join(dir, "certs")); err != nil {
		return "", nil, nil, err
	}
	if err := metricsCertificate(filepath.Join(dir, "certs")); err != nil {
		return "", nil, nil, err
	}
	if ports, err = freePorts(2); err != nil {
		return "", nil, nil, err
	}
	cfg := fmt.Sprintf(kueueConfig, KueueNamespace, ports[0], ports[1], filepath.Join(dir, "certs"))
	cfgPath = filepath.Join(dir, "config.yaml")
	return cfgPath, ports, caPEM, os.WriteFile(cfgPath, []byte(cfg), 0o600)
}

// metricsCertificate puts a certificate where Kueue's main reads its
// metrics certificate (the metrics server is off, bindAddress 0, but main
// reads it all the same): a pair already there that loads is kept (another
// run may be using it); else the pair from certDir is written, each file
// renamed into place so that no reader sees half of one.
func metricsCertificate(certDir string) error {
	crt, key := filepath.Join(kueueMetricsCerts, "tls.crt"), filepath.Join(kueueMetricsCerts, "tls.key")
	if _, err := tls.LoadX509KeyPair(crt, key); err == nil {
		return nil
	}
	if err := os.MkdirAll(kueueMetricsCerts, 0o755); err != nil {
		return fmt.Errorf("kueue needs %s (fixed in its main): %w", kueueMetricsCerts, err)
	}
	for _, f := range []string{"tls.key", "tls.crt"} {
		b, err := os.ReadFile(filepath.Join(certDir, f))
		if err != nil {
			return err
		}
		tmp := filepath.Join(kueueMetricsCerts, "."+f+".tmp")
		if err := os.WriteFile(tmp, b, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(kueueMetricsCerts, f)); err != nil {
			return err
		}
	}
	return nil
}

// kueueConfig is Kueue's configuration: namespace, health and webhook
// ports, certificate directory.
const kueueConfig = `apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: %s
health:
  healthProbeBindAddress: 127.0.0.1:%d
metrics:
  bindAddress: "0"
webhook:
  host: 127.0.0.1
  port: %d
  certDir: %s
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: false
integrations:
  frameworks: ["batch/job"]
featureGates:
  VisibilityOnDemand: false
`

// launchKueue starts the manager and waits until it is ready.
func launchKueue(ctx context.Context, manager, cfgPath, kubeconfig, logPath string, healthPort int) (*kueueProcess, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(manager, "--config="+cfgPath, "--zap-log-level=2")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	k := &kueueProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); logFile.Close(); close(k.done) }()
	readyz := fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort)
	if err := waitUntil(ctx, k.done, func() bool {
		resp, err := http.Get(readyz) //nolint:noctx // a loopback probe
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		k.stop()
		log, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("kueue did not become ready: %w\n%s", err, tail(log, 4000))
	}
	return k, nil
}

type kueueProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (k *kueueProcess) stop() {
	_ = k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.done:
	case <-time.After(15 * time.Second):
		_ = k.cmd.Process.Kill()
		<-k.done
	}
}

func waitUntil(ctx context.Context, done chan struct{}, ok func() bool) error {
	deadline := time.NewTimer(3 * time.Minute)
	defer deadline.Stop()
	for !ok() {
		select {
		case <-done:
			return errors.New("the process exited")
		case <-deadline.C:
			return errors.New("not ready after 3 minutes")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// readObjects reads the YAML documents of the files matching pattern.
func readObjects(pattern string) ([]*unstructured.Unstructured, error) {
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no files match %s (run `make kueue`): %v", pattern, err)
	}
	var out []*unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
		for {
			obj := &unstructured.Unstructured{}
			if err := dec.Decode(&obj.Object); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				return nil, fmt.Errorf("%s: %w", f, err)
			}
			if len(obj.Object) > 0 {
				out = append(out, obj)
			}
		}
	}
	return out, nil
}

func installKueueCRDs(ctx context.Context, rc *rest.Config, dir string) error {
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	objs, err := readObjects(filepath.Join(dir, "kueue.x-k8s.io_*.yaml"))
	if err != nil {
		return err
	}
	for _, o := range objs {
		if _, err := dyn.Resource(crdGVR).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "gpuplane-tests", Force: true}); err != nil {
			return err
		}
	}
	for _, o := range objs {
		if err := waitUntil(ctx, nil, func() bool {
			live, err := dyn.Resource(crdGVR).Get(ctx, o.GetName(), metav1.GetOptions{})
			if err != nil {
				return false
			}
			conds, _, _ := unstructured.NestedSlice(live.Object, "status", "conditions")
			for _, c := range conds {
				if m, ok := c.(map[string]any); ok && m["type"] == "Established" && m["status"] == "True" {
					return true
				}
			}
			return false
		}); err != nil {
			return fmt.Errorf("CRD %s: %w", o.GetName(), err)
		}
	}
	return nil
}

// installKueueWebhooks writes Kueue's webhook configurations for the Job
// integration and Kueue's own kinds, calling the manager on loopback by URL.
func installKueueWebhooks(ctx context.Context, rc *rest.Config, dir string, port int, caPEM []byte) error {
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return err
	}
	objs, err := readObjects(filepath.Join(dir, "manifests.yaml"))
	if err != nil {
		return err
	}
	for _, o := range objs {
		hooks, _, _ := unstructured.NestedSlice(o.Object, "webhooks")
		var keep []any
		for _, h := range hooks {
			hook, ok := h.(map[string]any)
			if !ok {
				continue
			}
			p, _, _ := unstructured.NestedString(hook, "clientConfig", "service", "path")
			if !strings.Contains(p, "kueue-x-k8s-io") && !strings.Contains(p, "-batch-v1-job") {
				continue
			}
			hook["clientConfig"] = map[string]any{
				"url":      fmt.Sprintf("https://127.0.0.1:%d%s", port, p),
				"caBundle": base64.StdEncoding.EncodeToString(caPEM),
			}
			keep = append(keep, hook)
		}
		o.Object["webhooks"] = keep
		o.SetName("kueue-" + o.GetName())
		gvr := schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1",
			Resource: strings.ToLower(o.GetKind()) + "s"}
		if _, err := dyn.Resource(gvr).Apply(ctx, o.GetName(), o, metav1.ApplyOptions{FieldManager: "gpuplane-tests", Force: true}); err != nil {
			return err
		}
	}
	return nil
}

// kueueKubeconfig makes Kueue's service account, binds it to cluster-admin,
// and writes a kubeconfig with a token of it to dir/kubeconfig.
func kueueKubeconfig(ctx context.Context, rc *rest.Config, dir string) error {
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return err
	}
	_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: KueueNamespace}}, metav1.CreateOptions{})
	if err := ignoreExists(err); err != nil {
		return err
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: KueueServiceAccount, Namespace: KueueNamespace}}
	_, err = cs.CoreV1().ServiceAccounts(KueueNamespace).Create(ctx, sa, metav1.CreateOptions{})
	if err := ignoreExists(err); err != nil {
		return err
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "gpuplane-test-kueue"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: KueueServiceAccount, Namespace: KueueNamespace}},
	}
	_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{})
	if err := ignoreExists(err); err != nil {
		return err
	}
	seconds := int64(24 * 3600)
	tr, err := cs.CoreV1().ServiceAccounts(KueueNamespace).CreateToken(ctx, KueueServiceAccount,
		&authnv1.TokenRequest{Spec: authnv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for Kueue's service account: %w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData, InsecureSkipTLSVerify: rc.Insecure}
	if rc.CAFile != "" {
		cfg.Clusters["local"].CertificateAuthority = rc.CAFile
	}
	cfg.AuthInfos["kueue"] = &clientcmdapi.AuthInfo{Token: tr.Status.Token}
	cfg.Contexts["kueue"] = &clientcmdapi.Context{Cluster: "local", AuthInfo: "kueue"}
	cfg.CurrentContext = "kueue"
	return clientcmd.WriteToFile(*cfg, filepath.Join(dir, "kubeconfig"))
}

func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// writeServingCert writes a CA-signed serving certificate for 127.0.0.1
// (tls.crt, tls.key) into dir and returns the CA's PEM.
func writeServingCert(dir string) ([]byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gpuplane-test-kueue-ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(48 * time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames: []string{"localhost"}, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

// freePorts returns n free loopback ports.
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
		addr, ok := l.Addr().(*net.TCPAddr)
		if !ok {
			return nil, fmt.Errorf("unexpected listener address %v", l.Addr())
		}
		ports = append(ports, addr.Port)
	}
	return ports, nil
}
