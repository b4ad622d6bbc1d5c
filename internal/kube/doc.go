// Package kube is gpuplane's one shared Kubernetes client. Every resource of
// the provider reaches the cluster through it, so that configuration,
// conflicts, retries and caching behave the same everywhere.
//
// Configuration is explicit: Config.RESTConfig reads only the kubeconfig
// paths, host or in-cluster flag it is given. With none set it fails with
// ErrNoCluster instead of falling back to ~/.kube/config, localhost or the
// pod's service account, because a provider that silently picks up another
// cluster would plan against the wrong one.
//
// Lazy builds the Client once, on first use, so that a provider that is
// configured but never used (or whose configuration is unknown until apply)
// sends no request.
//
// Writes are server-side applies with one field manager and never Force:
// fields owned by another manager are a conflict to report (ApplyError says
// so), not to take over behind another tool's back.
//
// Retry repeats the errors worth repeating: 409 resourceVersion conflicts,
// 429 (waiting as long as Retry-After says), 5xx, timeouts and dropped or
// reset connections, with a doubling backoff bounded by the caller's context,
// which is the resource's timeout.
//
// CachedList and CachedGet read through a per-client cache of LISTs, so that
// refreshing N objects costs a few LISTs per kind instead of N GETs. A write
// the client sends drops the cached lists of the resource it writes (status
// subresources and dry-runs drop none), so a read after the client's own
// write is never stale. CachedGet reads its first few namespaces (or objects
// of a cluster-scoped kind) with LISTs of just those, and only then the
// whole kind: a configuration of one project on a cluster of thousands does
// not read the thousands. CachedDecoded decodes a cached list once per Go
// type. A resource the API server does not serve (its CRD is not installed)
// lists as empty.
//
// Every request is logged at debug level (method, URL, status, duration);
// headers and bodies never are, so neither are tokens.
package kube
