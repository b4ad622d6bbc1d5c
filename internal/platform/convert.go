package platform

import (
	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// Conversions between the CRDs' specs and the quota model.

// CatalogOf is a dataplane's catalog in the quota model.
func CatalogOf(spec crds.DataplaneSpec) quota.Catalog {
	c := quota.Catalog{}
	for name, f := range spec.GPUFamilies {
		c[name] = quota.Family{ResourceName: f.ResourceName, DeviceClass: f.DeviceClass, NodeSelector: f.NodeSelector,
			Queued: spec.QuotaBackend == BackendKueue && f.ResourceName != ""}
	}
	return c
}

// QuotaOf is a CRD quota in the quota model (never nil maps).
func QuotaOf(q crds.GPUQuota) quota.Quota {
	out := quota.Quota{Limits: q.Limits, Requests: q.Requests}
	if out.Limits == nil {
		out.Limits = map[string]int64{}
	}
	if out.Requests == nil {
		out.Requests = map[string]int64{}
	}
	return out
}

// GPUQuotaOf is a quota as the CRDs store it.
func GPUQuotaOf(q quota.Quota) crds.GPUQuota {
	return crds.GPUQuota{Limits: q.Limits, Requests: q.Requests}
}
