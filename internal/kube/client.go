package kube

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Client is the one client a provider instance uses for every request.
type Client struct {
	Typed        kubernetes.Interface
	Dynamic      dynamic.Interface
	FieldManager string

	cache *listCache
}

// NewClient builds a client from a resolved configuration.
func NewClient(rc *rest.Config, fieldManager string) (*Client, error) {
	rc = rest.CopyConfig(rc)
	cache := &listCache{entries: map[string]*cachedList{}, kinds: map[string]*atomic.Int64{}, listing: map[string]*sync.Mutex{},
		narrowed: map[string]*narrowed{}}
	rc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return writeCounter{rt, cache} })
	rc.Wrap(newLoggingTransport)
	typed, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, err
	}
	if fieldManager == "" {
		fieldManager = DefaultFieldManager
	}
	return &Client{Typed: typed, Dynamic: dyn, FieldManager: fieldManager, cache: cache}, nil
}

// ErrConfigUnknown is returned when the provider configuration depends on
// values that are not known until apply (a cluster made in the same run).
var ErrConfigUnknown = errors.New("the provider configuration is not known yet (it depends on values known only after apply)")

// Lazy builds the client on first use, once, so that a provider configured
// but never used (or used only for unknown plans) sends no request.
type Lazy struct {
	cfg     Config
	unknown bool

	once   sync.Once
	client *Client
	err    error
}

// NewLazy returns a client holder for a fully known configuration.
func NewLazy(cfg Config) *Lazy { return &Lazy{cfg: cfg} }

// UnknownLazy returns a holder for a configuration that is not known yet: it
// never builds a client, and Get always fails with ErrConfigUnknown.
func UnknownLazy() *Lazy { return &Lazy{unknown: true} }

// Known reports whether the configuration is known, i.e. whether calls may be made.
func (l *Lazy) Known() bool { return l != nil && !l.unknown }

// Get returns the client, building it on the first call.
func (l *Lazy) Get() (*Client, error) {
	if l == nil || l.unknown {
		return nil, ErrConfigUnknown
	}
	l.once.Do(func() {
		rc, err := l.cfg.RESTConfig()
		if err != nil {
			l.err = err
			return
		}
		l.client, l.err = NewClient(rc, l.cfg.FieldManager)
	})
	return l.client, l.err
}
