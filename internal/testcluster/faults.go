package testcluster

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/tools/clientcmd"
)

// Fault is what the fault proxy does to a request instead of, or after,
// forwarding it.
type Fault int

// The faults a FaultProxy injects.
const (
	Conflict        Fault = iota // 409 Conflict (a stale resourceVersion), not forwarded
	TooManyRequests              // 429 with Retry-After: 1, not forwarded
	Internal                     // 500, not forwarded
	Unavailable                  // 503, not forwarded
	Reset                        // the connection is closed without a response, not forwarded
	LostResponse                 // forwarded, then 500 instead of the server's response
	Slow                         // forwarded after a delay
)

func (f Fault) String() string {
	return [...]string{"409", "429", "500", "503", "reset", "lost-response", "slow"}[f]
}

// FaultRule injects Fault into every Every-th request whose method is
// Method ("" for any) and whose path contains Path.
type FaultRule struct {
	Method, Path string
	Every        int
	Fault        Fault
}

// FaultProxy is a TLS reverse proxy in front of a cluster's API server
// that injects faults by rule; tests point the provider at URL.
type FaultProxy struct {
	URL      string
	server   *httptest.Server
	mu       sync.Mutex
	rules    []FaultRule
	counts   map[int]int
	Injected atomic.Int64
}

// NewFaultProxy starts a proxy to the cluster's API server. Call Close.
func NewFaultProxy(c *Cluster) (*FaultProxy, error) {
	cfg, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cl := cfg.Clusters[cfg.Contexts[cfg.CurrentContext].Cluster]
	target, err := url.Parse(cl.Server)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(cl.CertificateAuthorityData)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	rp.FlushInterval = -1 // stream watches
	p := &FaultProxy{counts: map[int]int{}}
	p.server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.serve(rp, w, r)
	}))
	p.URL = p.server.URL
	return p, nil
}

// SetRules replaces the proxy's rules (none: every request is forwarded).
func (p *FaultProxy) SetRules(rules ...FaultRule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules, p.counts = rules, map[int]int{}
}

// Close stops the proxy.
func (p *FaultProxy) Close() { p.server.Close() }

func (p *FaultProxy) fault(r *http.Request) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, rule := range p.rules {
		if (rule.Method == "" || rule.Method == r.Method) && strings.Contains(r.URL.Path, rule.Path) {
			p.counts[i]++
			if p.counts[i]%rule.Every == 0 {
				return rule.Fault, true
			}
		}
	}
	return 0, false
}

func (p *FaultProxy) serve(rp *httputil.ReverseProxy, w http.ResponseWriter, r *http.Request) {
	f, ok := p.fault(r)
	if !ok {
		rp.ServeHTTP(w, r)
		return
	}
	p.Injected.Add(1)
	status := func(code int, reason string) {
		w.Header().Set("Content-Type", "application/json")
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":%q,"code":%d,"message":"injected by the fault proxy"}`, reason, code)
	}
	switch f {
	case Conflict:
		status(http.StatusConflict, "Conflict")
	case TooManyRequests:
		status(http.StatusTooManyRequests, "TooManyRequests")
	case Internal:
		status(http.StatusInternalServerError, "InternalError")
	case Unavailable:
		status(http.StatusServiceUnavailable, "ServiceUnavailable")
	case Reset:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		status(http.StatusServiceUnavailable, "ServiceUnavailable")
	case LostResponse:
		rec := httptest.NewRecorder()
		rp.ServeHTTP(rec, r)
		status(http.StatusInternalServerError, "InternalError")
	case Slow:
		time.Sleep(300 * time.Millisecond)
		rp.ServeHTTP(w, r)
	}
}
