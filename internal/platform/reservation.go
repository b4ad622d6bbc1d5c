package platform

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/kube"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// The apply-time check of a tenant's total (rule 4) is linearizable per
// tenant: two applies from different states that add projects to one
// tenant at once never both pass when together they overflow it. Each
// project write first reserves its quota in the Tenant object's status
// (status.projectQuotas), with the Tenant's resourceVersion as the
// precondition: of two concurrent writers one updates first, and the other
// gets a conflict, reads the ledger again (now with the first's entry) and
// checks again.

// reservationTTL bounds how long an entry of a project that never appeared
// counts (its writer died between reserving and writing).
const reservationTTL = 10 * time.Minute

// reservation is one entry of a Tenant's status.projectQuotas.
type reservation struct {
	GPUQuota crds.GPUQuota `json:"gpuQuota"`
	Reserved metav1.Time   `json:"reserved"`
	// Deleting: the project's deletion began; once its Project object is
	// gone the entry no longer counts. (Entries written by earlier versions;
	// a delete now drops its entry once the namespace is terminating.)
	Deleting bool `json:"deleting,omitempty"`
}

// ReserveProjectQuota checks, and records in the tenant's ledger, the quota
// of project. check receives the tenant as its object is now; the quotas of
// the tenant's other projects: each live one's, or its reservation where it
// has one (a write in flight), and the reservations of projects not written
// yet; and the project's own current quota (nil when it has none). An error
// from check is returned as it is; nothing is recorded then.
func ReserveProjectQuota(ctx context.Context, c *kube.Client, tenant, project string, q quota.Quota,
	check func(t Tenant, siblings map[string]quota.Quota, prior *quota.Quota) error) error {
	for {
		obj, ledger, err := readLedger(ctx, c, tenant)
		if err != nil {
			return err
		}
		if obj == nil {
			return fmt.Errorf("tenant %q does not exist", tenant)
		}
		spec, err := specOf[crds.TenantSpec](obj)
		if err != nil {
			return err
		}
		siblings, prior, err := ledgerSiblings(ctx, c, tenant, project, ledger)
		if err != nil {
			return err
		}
		if err := check(TenantOf(tenant, *spec), siblings, prior); err != nil {
			return err
		}
		ledger[project] = reservation{GPUQuota: GPUQuotaOf(q), Reserved: metav1.Now()}
		err = writeLedger(ctx, c, obj, ledger)
		if !apierrors.IsConflict(err) {
			return err
		}
		// Another writer (or the tenant itself) changed the Tenant since it was read: check again.
	}
}

// ReleaseProjectQuota drops a project's entry from its tenant's ledger once
// the project is gone. A tenant that is gone has no ledger to release from.
func ReleaseProjectQuota(ctx context.Context, c *kube.Client, tenant, project string) error {
	return updateLedger(ctx, c, tenant, func(ledger map[string]reservation) bool {
		if _, ok := ledger[project]; !ok {
			return false
		}
		delete(ledger, project)
		return true
	})
}

// updateLedger applies change to the tenant's ledger under the Tenant's
// resourceVersion, again on a conflict; change reports whether it changed
// anything.
func updateLedger(ctx context.Context, c *kube.Client, tenant string, change func(map[string]reservation) bool) error {
	for {
		obj, ledger, err := readLedger(ctx, c, tenant)
		if err != nil || obj == nil || !change(ledger) {
			return err
		}
		err = writeLedger(ctx, c, obj, ledger)
		if !apierrors.IsConflict(err) {
			return err
		}
	}
}

func readLedger(ctx context.Context, c *kube.Client, tenant string) (*unstructured.Unstructured, map[string]reservation, error) {
	obj, err := c.Get(ctx, crds.Tenants, "", tenant)
	if err != nil || obj == nil {
		return nil, nil, err
	}
	ledger := map[string]reservation{}
	if raw, found, _ := unstructured.NestedMap(obj.Object, "status", "projectQuotas"); found {
		for name, v := range raw {
			m, ok := v.(map[string]any)
			var r reservation
			if !ok || runtime.DefaultUnstructuredConverter.FromUnstructured(m, &r) != nil {
				continue // an entry gpuplane cannot read does not count
			}
			ledger[name] = r
		}
	}
	return obj, ledger, nil
}

// ledgerSiblings is what the other projects of the tenant count with, and
// the project's own current quota (nil when it has none), read uncached;
// entries of projects that never appeared expire.
func ledgerSiblings(ctx context.Context, c *kube.Client, tenant, project string, ledger map[string]reservation) (map[string]quota.Quota, *quota.Quota, error) {
	items, err := c.List(ctx, crds.Projects, "", LabelTenant+"="+tenant)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]quota.Quota{}
	var prior *quota.Quota
	for i := range items {
		spec, err := specOf[crds.ProjectSpec](&items[i])
		if err != nil {
			return nil, nil, err
		}
		q := QuotaOf(spec.GPUQuota)
		if spec.Project == project {
			prior = &q
		} else {
			out[spec.Project] = q
		}
	}
	for name, r := range ledger {
		_, live := out[name]
		switch {
		case name == project:
		case live:
			out[name] = QuotaOf(r.GPUQuota)
		case !r.Deleting && time.Since(r.Reserved.Time) < reservationTTL:
			out[name] = QuotaOf(r.GPUQuota) // a write in flight
		default:
			delete(ledger, name) // deleted, or expired: pruned with the next write
		}
	}
	return out, prior, nil
}

// writeLedger writes the ledger into the Tenant's status, with the
// resourceVersion obj was read at as the precondition.
func writeLedger(ctx context.Context, c *kube.Client, obj *unstructured.Unstructured, ledger map[string]reservation) error {
	raw := map[string]any{}
	for name, r := range ledger {
		m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&r)
		if err != nil {
			return err
		}
		raw[name] = m
	}
	if err := unstructured.SetNestedMap(obj.Object, raw, "status", "projectQuotas"); err != nil {
		return err
	}
	err := kube.Retry(ctx, func(ctx context.Context) error {
		_, err := c.Dynamic.Resource(crds.Tenants).UpdateStatus(ctx, obj, metav1.UpdateOptions{FieldManager: c.FieldManager})
		if apierrors.IsConflict(err) {
			return errConflict{err} // not for Retry: the caller reads and checks again
		}
		return err
	})
	if ce, ok := err.(errConflict); ok {
		return ce.error
	}
	if err != nil {
		return fmt.Errorf("recording project quotas in tenant %s: %w", obj.GetName(), kube.Explain(err))
	}
	return nil
}

// errConflict hides a conflict from Retry, which would resend the same stale object.
type errConflict struct{ error }
