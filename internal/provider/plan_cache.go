package provider

import "sync"

// planCache holds what tenants planned in this provider process, so a
// project planned in the same run is checked against the tenant's planned
// quota rather than the live one. Terraform plans a tenant before the
// projects that reference it.
type planCache struct {
	mu      sync.Mutex
	tenants map[string]any
}

func newPlanCache() *planCache { return &planCache{tenants: map[string]any{}} }
