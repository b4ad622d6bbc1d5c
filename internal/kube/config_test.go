package kube

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

const testKubeconfig = `apiVersion: v1
kind: Config
current-context: one
clusters:
- name: c1
  cluster: {server: "https://one.example:6443", insecure-skip-tls-verify: true}
- name: c2
  cluster: {server: "https://two.example:6443", insecure-skip-tls-verify: true}
users:
- name: u1
  user: {token: token-one}
- name: u2
  user: {token: token-two}
contexts:
- name: one
  context: {cluster: c1, user: u1}
- name: two
  context: {cluster: c2, user: u2}
`

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRESTConfig(t *testing.T) {
	kc := writeKubeconfig(t)
	tests := map[string]struct {
		cfg                Config
		host, token        string
		insecure, hasExec  bool
		certData, keyData  string
		qps                float32
		burst              int
		timeout            time.Duration
		serverName, caData string
	}{
		"kubeconfig current context": {cfg: Config{ConfigPaths: []string{kc}}, host: "https://one.example:6443", token: "token-one", insecure: true, qps: DefaultQPS, burst: DefaultBurst},
		"kubeconfig named context":   {cfg: Config{ConfigPaths: []string{kc}, ConfigContext: "two"}, host: "https://two.example:6443", token: "token-two", insecure: true, qps: DefaultQPS, burst: DefaultBurst},
		"context with other user":    {cfg: Config{ConfigPaths: []string{kc}, ConfigContext: "two", ConfigContextAuthInfo: "u1"}, host: "https://two.example:6443", token: "token-one", insecure: true, qps: DefaultQPS, burst: DefaultBurst},
		"context with other cluster": {cfg: Config{ConfigPaths: []string{kc}, ConfigContextCluster: "c2"}, host: "https://two.example:6443", token: "token-one", insecure: true, qps: DefaultQPS, burst: DefaultBurst},
		"host overrides kubeconfig":  {cfg: Config{ConfigPaths: []string{kc}, Host: "https://three.example"}, host: "https://three.example", token: "token-one", insecure: true, qps: DefaultQPS, burst: DefaultBurst},
		"list of paths, missing ok":  {cfg: Config{ConfigPaths: []string{filepath.Join(t.TempDir(), "none"), kc}}, host: "https://one.example:6443", token: "token-one", insecure: true, qps: DefaultQPS, burst: DefaultBurst},
		"host and token": {
			cfg:  Config{Host: "https://h.example", Token: "t", ClusterCACertificate: "CA", TLSServerName: "api", QPS: 7, Burst: 9, RequestTimeout: 3 * time.Second},
			host: "https://h.example", token: "t", caData: "CA", serverName: "api", qps: 7, burst: 9, timeout: 3 * time.Second,
		},
		"client certificate": {
			cfg:  Config{Host: "https://h.example", ClientCertificate: "CERT", ClientKey: "KEY", Insecure: true},
			host: "https://h.example", certData: "CERT", keyData: "KEY", insecure: true, qps: DefaultQPS, burst: DefaultBurst,
		},
		"exec": {
			cfg:  Config{Host: "https://h.example", Exec: &ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: "creds", Args: []string{"a"}, Env: map[string]string{"K": "V"}}},
			host: "https://h.example", hasExec: true, qps: DefaultQPS, burst: DefaultBurst,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rc, err := tc.cfg.RESTConfig()
			if err != nil {
				t.Fatal(err)
			}
			if rc.Host != tc.host || rc.BearerToken != tc.token || rc.Insecure != tc.insecure ||
				string(rc.CertData) != tc.certData || string(rc.KeyData) != tc.keyData ||
				rc.QPS != tc.qps || rc.Burst != tc.burst || rc.Timeout != tc.timeout ||
				rc.ServerName != tc.serverName || string(rc.CAData) != tc.caData || (rc.ExecProvider != nil) != tc.hasExec {
				t.Errorf("got host=%q token=%q insecure=%v cert=%q key=%q qps=%v burst=%d timeout=%v sni=%q ca=%q exec=%v",
					rc.Host, rc.BearerToken, rc.Insecure, rc.CertData, rc.KeyData, rc.QPS, rc.Burst, rc.Timeout, rc.ServerName, rc.CAData, rc.ExecProvider != nil)
			}
			if tc.hasExec && (rc.ExecProvider.Command != "creds" || rc.ExecProvider.Env[0].Name != "K") {
				t.Errorf("exec provider = %+v", rc.ExecProvider)
			}
		})
	}
}

func TestRESTConfigNoImplicitSources(t *testing.T) {
	// Neither ~/.kube/config, nor KUBECONFIG, nor the in-cluster service
	// account is a fallback.
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".kube"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".kube", "config"), []byte(testKubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", writeKubeconfig(t))
	t.Setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	if _, err := (Config{}).RESTConfig(); !errors.Is(err, ErrNoCluster) {
		t.Fatalf("RESTConfig() of an empty Config = %v, want ErrNoCluster", err)
	}
}

func TestRESTConfigErrors(t *testing.T) {
	if _, err := (Config{ConfigPaths: []string{filepath.Join(t.TempDir(), "missing")}}).RESTConfig(); err == nil {
		t.Error("a missing explicit kubeconfig must fail")
	}
	if _, err := (Config{ConfigPaths: []string{writeKubeconfig(t)}, ConfigContext: "nope"}).RESTConfig(); err == nil {
		t.Error("an unknown context must fail")
	}
	if _, err := (Config{InCluster: true}).RESTConfig(); err == nil {
		t.Error("in_cluster outside a pod must fail")
	}
}

func TestLazyUnknownNeverBuilds(t *testing.T) {
	l := UnknownLazy()
	if l.Known() {
		t.Fatal("unknown config reported as known")
	}
	if _, err := l.Get(); !errors.Is(err, ErrConfigUnknown) {
		t.Fatalf("Get() = %v, want ErrConfigUnknown", err)
	}
}
