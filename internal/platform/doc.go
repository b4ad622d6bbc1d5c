// Package platform is gpuplane's cluster layer: it turns intent (the
// dataplane install, a compute, a tenant, a project, a membership) into the
// Kubernetes objects that carry it, and reads them back, over the shared
// client of internal/kube. It knows nothing of Terraform: the resources in
// internal/provider translate between Terraform values and the types here,
// and internal/quota decides what quota is allowed.
//
// Every object it writes carries gpuplane's labels (labels.go), is written
// by server-side apply with one field manager, and is read back through the
// client's per-operation LIST cache.
package platform
