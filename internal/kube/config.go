package kube

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// DefaultFieldManager is the server-side apply field manager of every write.
const DefaultFieldManager = "terraform-provider-gpuplane"

// Defaults for the client's rate limiter: none (a negative QPS turns
// client-go's off). The API server protects itself (API Priority and
// Fairness, GA since Kubernetes 1.29) and answers an overload with 429 and
// Retry-After, which every request honours (Retry). A client-side limit
// only made a large apply wait on itself: at 50 QPS, requests left the
// provider 20 ms apart whatever Terraform's parallelism. DefaultBurst
// applies when qps is set and burst is not.
const (
	DefaultQPS   = -1
	DefaultBurst = 100
)

// ExecConfig runs a command that prints credentials, as kubectl does.
type ExecConfig struct {
	APIVersion string
	Command    string
	Args       []string
	Env        map[string]string
}

// Config says how to reach the cluster. Every source is explicit: with none
// set, building a client fails; there is no fallback to ~/.kube/config,
// localhost or the in-cluster service account.
type Config struct {
	ConfigPaths           []string
	ConfigContext         string
	ConfigContextAuthInfo string
	ConfigContextCluster  string

	Host                 string
	Token                string
	ClientCertificate    string
	ClientKey            string
	ClusterCACertificate string
	Insecure             bool
	TLSServerName        string
	ProxyURL             string
	Exec                 *ExecConfig

	InCluster bool

	QPS            float32
	Burst          int
	RequestTimeout time.Duration
	FieldManager   string
	UserAgent      string
}

// ErrNoCluster means no source of cluster configuration was given.
var ErrNoCluster = errors.New("no cluster configured: set config_path (or KUBE_CONFIG_PATH), host (or KUBE_HOST), or in_cluster = true")

// RESTConfig resolves the configuration into a client-go rest.Config.
func (c Config) RESTConfig() (*rest.Config, error) {
	var rc *rest.Config
	switch {
	case c.InCluster:
		ic, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in_cluster = true, but this process does not run in a pod: %w", err)
		}
		rc = ic
	case len(c.ConfigPaths) == 0 && c.Host == "":
		return nil, ErrNoCluster
	default:
		cc, err := c.clientConfig()
		if err != nil {
			return nil, err
		}
		rc, err = cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("loading cluster configuration: %w", err)
		}
	}
	rc.QPS = c.QPS
	if rc.QPS == 0 {
		rc.QPS = DefaultQPS
	}
	rc.Burst = c.Burst
	if rc.Burst == 0 {
		rc.Burst = DefaultBurst
	}
	if c.RequestTimeout > 0 {
		rc.Timeout = c.RequestTimeout
	}
	if c.UserAgent != "" {
		rc.UserAgent = c.UserAgent
	}
	if c.ProxyURL != "" {
		u, err := url.Parse(c.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("proxy_url %q is not a URL: %w", c.ProxyURL, err)
		}
		rc.Proxy = http.ProxyURL(u)
	}
	return rc, nil
}

// clientConfig merges the kubeconfig files with the explicit overrides.
// Loading rules list only the given paths, so nothing is read implicitly.
func (c Config) clientConfig() (clientcmd.ClientConfig, error) {
	rules := &clientcmd.ClientConfigLoadingRules{Precedence: c.ConfigPaths}
	if len(c.ConfigPaths) == 1 {
		// An explicit single path must exist; a list may name missing files, as KUBECONFIG does.
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.ConfigPaths[0]}
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("reading kubeconfig %v: %w", c.ConfigPaths, err)
	}

	o := &clientcmd.ConfigOverrides{}
	o.CurrentContext = c.ConfigContext
	o.Context.AuthInfo = c.ConfigContextAuthInfo
	o.Context.Cluster = c.ConfigContextCluster
	o.ClusterInfo.Server = c.Host
	o.ClusterInfo.TLSServerName = c.TLSServerName
	if c.Insecure {
		o.ClusterInfo.InsecureSkipTLSVerify = true
	}
	if c.ClusterCACertificate != "" {
		o.ClusterInfo.CertificateAuthorityData = []byte(c.ClusterCACertificate)
	}
	if c.ProxyURL != "" {
		o.ClusterInfo.ProxyURL = c.ProxyURL
	}
	o.AuthInfo.Token = c.Token
	if c.ClientCertificate != "" {
		o.AuthInfo.ClientCertificateData = []byte(c.ClientCertificate)
	}
	if c.ClientKey != "" {
		o.AuthInfo.ClientKeyData = []byte(c.ClientKey)
	}
	if c.Exec != nil {
		e := &clientcmdapi.ExecConfig{
			APIVersion:      c.Exec.APIVersion,
			Command:         c.Exec.Command,
			Args:            c.Exec.Args,
			InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
		}
		for k, v := range c.Exec.Env {
			e.Env = append(e.Env, clientcmdapi.ExecEnvVar{Name: k, Value: v})
		}
		o.AuthInfo.Exec = e
	}
	if c.Host != "" && len(c.ConfigPaths) == 0 {
		// host alone: no kubeconfig context to merge into.
		return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(), o), nil
	}
	return clientcmd.NewNonInteractiveClientConfig(*raw, c.ConfigContext, o, rules), nil
}
