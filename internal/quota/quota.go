package quota

import (
	"slices"
	"sort"
)

// DefaultKey is the quota key that covers every family a quota does not list.
const DefaultKey = "Default"

// Quota is what a user writes for one scope: per family, Limits (GPUs in
// use at once) and Requests (GPUs of the largest single workload).
type Quota struct {
	Limits   map[string]int64
	Requests map[string]int64
}

// Family is one entry of the dataplane's catalog.
type Family struct {
	ResourceName string            // extended resource, e.g. nvidia.com/gpu-h100
	DeviceClass  string            // or a DRA DeviceClass
	NodeSelector map[string]string // labels of the family's nodes
	// Queued: the family's quota is enforced by Kueue (the dataplane's
	// quota_backend is "kueue" and the family is an extended resource),
	// not by a ResourceQuota, so it may share its resource name.
	Queued bool
}

// Catalog maps family names to families.
type Catalog map[string]Family

// Names returns the catalog's family names, sorted.
func (c Catalog) Names() []string {
	names := make([]string, 0, len(c))
	for n := range c {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// QuotaKey is the ResourceQuota key that counts the family's GPUs.
func (f Family) QuotaKey() string {
	if f.DeviceClass != "" {
		return f.DeviceClass + ".deviceclass.resource.k8s.io/devices"
	}
	return "requests." + f.ResourceName
}

// Source says where an effective value comes from.
type Source string

// Sources of effective values, in the order they are looked up.
const (
	SourceProject        Source = "project"
	SourceProjectDefault Source = "project-default"
	SourceTenant         Source = "tenant"
	SourceTenantDefault  Source = "tenant-default"
	SourceInherited      Source = "inherited"
	SourceUnlimited      Source = "unlimited"
)

// Value is an effective limit or request: a number of GPUs, or unlimited.
type Value struct {
	N         int64
	Unlimited bool
	Source    Source
}

// Finite reports whether v caps anything.
func (v Value) Finite() bool { return !v.Unlimited }

// LessOrEqual reports v <= w, with unlimited the largest value.
func (v Value) LessOrEqual(w Value) bool {
	switch {
	case w.Unlimited:
		return true
	case v.Unlimited:
		return false
	}
	return v.N <= w.N
}

// Effective is the effective quota of one family in one scope.
type Effective struct {
	Limit   Value
	Request Value
}

// Scope is a family-keyed effective quota.
type Scope map[string]Effective

var unlimited = Value{Unlimited: true, Source: SourceUnlimited}

// TenantEffective computes a tenant's effective quota for each family: its
// own value, else its Default, else unlimited.
func TenantEffective(q Quota, families []string) Scope {
	out := make(Scope, len(families))
	for _, f := range families {
		out[f] = capRequest(Effective{
			Limit:   lookup(q.Limits, f, SourceTenant, SourceTenantDefault, unlimited),
			Request: lookup(q.Requests, f, SourceTenant, SourceTenantDefault, unlimited),
		})
	}
	return out
}

// ProjectEffective computes a project's effective quota for each family:
// its own value, else its Default, else the tenant's effective value.
func ProjectEffective(tenant Scope, q Quota, families []string) Scope {
	out := make(Scope, len(families))
	for _, f := range families {
		parent := tenant[f]
		out[f] = capRequest(Effective{
			Limit:   lookup(q.Limits, f, SourceProject, SourceProjectDefault, inherit(parent.Limit)),
			Request: lookup(q.Requests, f, SourceProject, SourceProjectDefault, inherit(parent.Request)),
		})
	}
	return out
}

// capRequest: a request cap the scope does not set itself (unlimited, or
// inherited) and that exceeds the scope's limit is the limit, with the
// limit's source. No workload above the limit can run anyway, and a scope
// need not restate requests to satisfy requests <= limits. A request the
// scope sets itself is left alone, so rule 2 reports it.
func capRequest(e Effective) Effective {
	set := e.Request.Source != SourceInherited && e.Request.Source != SourceUnlimited
	if !set && e.Limit.Finite() && !e.Request.LessOrEqual(e.Limit) {
		e.Request = e.Limit
	}
	return e
}

func inherit(v Value) Value {
	if v.Unlimited {
		return unlimited
	}
	return Value{N: v.N, Source: SourceInherited}
}

func lookup(m map[string]int64, family string, own, def Source, parent Value) Value {
	if n, ok := m[family]; ok {
		return Value{N: n, Source: own}
	}
	if n, ok := m[DefaultKey]; ok {
		return Value{N: n, Source: def}
	}
	return parent
}

// Hard is the ResourceQuota of a scope: quota key to GPU count, for every
// family with a finite effective limit.
func Hard(s Scope, c Catalog) map[string]int64 {
	out := map[string]int64{}
	for name, e := range s {
		if f, ok := c[name]; ok && !f.Queued && e.Limit.Finite() {
			out[f.QuotaKey()] = e.Limit.N
		}
	}
	return out
}

// PodMax is the per-pod cap of a scope: resource name to the largest
// workload (the GPUs of one pod), for extended-resource families with a
// finite request cap. The provider writes it to the Project object's
// spec.maxPerPod, which the gpuplane-gpu-per-pod ValidatingAdmissionPolicy
// reads; it is not a LimitRange. DRA families are not covered by it yet.
func PodMax(s Scope, c Catalog) map[string]int64 {
	out := map[string]int64{}
	for name, e := range s {
		if f, ok := c[name]; ok && f.ResourceName != "" && !f.Queued && e.Request.Finite() {
			out[f.ResourceName] = e.Request.N
		}
	}
	return out
}

// ClaimMax is the per-claim cap of a scope's DRA families: device class to
// the request cap, for families with a finite one. The gpuplane claims
// policy reads it.
func ClaimMax(s Scope, c Catalog) map[string]int64 {
	out := map[string]int64{}
	for name, e := range s {
		if f, ok := c[name]; ok && f.DeviceClass != "" && e.Request.Finite() {
			out[f.DeviceClass] = e.Request.N
		}
	}
	return out
}

// DeviceClasses are the catalog's DRA device classes, sorted.
func (c Catalog) DeviceClasses() []string {
	var out []string
	for _, name := range c.Names() {
		if dc := c[name].DeviceClass; dc != "" && !slices.Contains(out, dc) {
			out = append(out, dc)
		}
	}
	slices.Sort(out)
	return out
}

// FamilyPodMax is the per-pod cap of a scope's Kueue-enforced families,
// by family: Kueue writes the family's node labels into the pods it
// admits, which tells families that share a resource name apart.
func FamilyPodMax(s Scope, c Catalog) map[string]int64 {
	out := map[string]int64{}
	for name, e := range s {
		if f, ok := c[name]; ok && f.Queued && e.Request.Finite() {
			out[name] = e.Request.N
		}
	}
	return out
}

// Queued reports whether Kueue enforces any of the catalog's families.
func (c Catalog) Queued() bool {
	for _, f := range c {
		if f.Queued {
			return true
		}
	}
	return false
}

// Lockdown is the ResourceQuota of a tenant namespace: zero of every
// catalog GPU, so GPU work runs in projects, under their quotas.
func Lockdown(c Catalog) map[string]int64 {
	out := map[string]int64{}
	for _, f := range c {
		out[f.QuotaKey()] = 0
	}
	return out
}
