package platform

import (
	"testing"

	resourcev1 "k8s.io/api/resource/v1"
	kueue "sigs.k8s.io/kueue/apis/kueue/v1beta2"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

var sharedCatalog = quota.Catalog{
	"NVIDIA-H100": {ResourceName: "nvidia.com/gpu", NodeSelector: map[string]string{"family": "h100"}, Queued: true},
	"NVIDIA-A100": {ResourceName: "nvidia.com/gpu", NodeSelector: map[string]string{"family": "a100"}, Queued: true},
	"MIG_1g":      {ResourceName: "nvidia.com/mig-1g.10gb", Queued: true},
	"H100-DRA":    {DeviceClass: "h100.example.com"},
}

// gpuQuota returns a queue's (flavor, resource) quota: nominal, borrowing and lending limits ("-" for none).
func gpuQuota(t *testing.T, groups []kueue.ResourceGroup, flavor string) (nominal, borrowing, lending string) {
	t.Helper()
	for _, g := range groups {
		for _, f := range g.Flavors {
			if string(f.Name) == flavor {
				q := f.Resources[0]
				b, l := "-", "-"
				if q.BorrowingLimit != nil {
					b = q.BorrowingLimit.String()
				}
				if q.LendingLimit != nil {
					l = q.LendingLimit.String()
				}
				return q.NominalQuota.String(), b, l
			}
		}
	}
	t.Fatalf("no flavor %s in %+v", flavor, groups)
	return
}

func TestClusterQueueSpec(t *testing.T) {
	tenant := quota.TenantEffective(quota.Quota{Limits: map[string]int64{"NVIDIA-H100": 12, "Default": 4}}, sharedCatalog.Names())
	eff := quota.ProjectEffective(tenant, quota.Quota{Limits: map[string]int64{"NVIDIA-H100": 8, "Default": 2}}, sharedCatalog.Names())
	for name, tc := range map[string]struct {
		overcommit bool
		flavor     string
		want       [3]string
	}{
		"holds its limit":                 {false, "gpuplane-nvidia-h100", [3]string{"8", "0", "0"}},
		"holds its Default":               {false, "gpuplane-nvidia-a100", [3]string{"2", "0", "0"}},
		"borrows up to its limit":         {true, "gpuplane-nvidia-h100", [3]string{"0", "8", "-"}},
		"underscore flavor, Default":      {false, "gpuplane-mig-1g", [3]string{"2", "0", "0"}},
		"default flavor, never borrowing": {true, DefaultFlavor, [3]string{"1M", "0", "0"}},
	} {
		t.Run(name, func(t *testing.T) {
			spec := ClusterQueueSpec("research", "research-vision", tc.overcommit, sharedCatalog, eff)
			if spec.CohortName != "gpuplane-research" || spec.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != "research-vision" {
				t.Errorf("cohort %q, namespace selector %v", spec.CohortName, spec.NamespaceSelector)
			}
			n, b, l := gpuQuota(t, spec.ResourceGroups, tc.flavor)
			if got := [3]string{n, b, l}; got != tc.want {
				t.Errorf("nominal, borrowing, lending = %v, want %v", got, tc.want)
			}
		})
	}
	// One resource group per resource name, the default flavor's first; no DRA family.
	spec := ClusterQueueSpec("research", "research-vision", false, sharedCatalog, eff)
	var covered []string
	for _, g := range spec.ResourceGroups {
		covered = append(covered, string(g.CoveredResources[0]))
	}
	if want := []string{"cpu", "nvidia.com/gpu", "nvidia.com/mig-1g.10gb"}; len(covered) != 3 || covered[0] != want[0] || covered[1] != want[1] || covered[2] != want[2] {
		t.Errorf("resource groups cover %v, want %v", covered, want)
	}
	if f := spec.ResourceGroups[1].Flavors; string(f[0].Name) != "gpuplane-nvidia-a100" || string(f[1].Name) != "gpuplane-nvidia-h100" {
		t.Errorf("flavors of nvidia.com/gpu in %v, want catalog order", f)
	}
	// Unlimited: a tenant without a limit gives a number Kueue can hold.
	open := quota.TenantEffective(quota.Quota{}, sharedCatalog.Names())
	cohort := CohortSpec(sharedCatalog, open)
	if n, _, _ := gpuQuota(t, cohort.ResourceGroups, "gpuplane-nvidia-h100"); n != "1M" {
		t.Errorf("unlimited cohort quota = %s, want 1M", n)
	}
}

func TestFirstFlavorFor(t *testing.T) {
	for sel, want := range map[string]string{"": "NVIDIA-A100", "h100": "NVIDIA-H100", "a100": "NVIDIA-A100", "v100": ""} {
		selector := map[string]string{}
		if sel != "" {
			selector["family"] = sel
		}
		if got := firstFlavorFor(sharedCatalog, "nvidia.com/gpu", selector); got != want {
			t.Errorf("firstFlavorFor(family=%q) = %q, want %q", sel, got, want)
		}
	}
}

func TestQueueParamsOf(t *testing.T) {
	tenant := quota.TenantEffective(quota.Quota{Limits: map[string]int64{"Default": 8}, Requests: map[string]int64{"NVIDIA-H100": 4}}, sharedCatalog.Names())
	q := QueueParamsOf(sharedCatalog, tenant, "")
	if q.Admitters[0] != "system:serviceaccount:kueue-system:kueue-controller-manager" {
		t.Errorf("admitters %v", q.Admitters)
	}
	if len(q.Resources) != 2 || q.Resources[0] != "nvidia.com/gpu" {
		t.Errorf("resources %v, want nvidia.com/gpu and the MIG one", q.Resources)
	}
	caps := map[string]int64{}
	for _, c := range q.FamilyMaxPerPod {
		caps[c.Family] = c.Max
	}
	if caps["NVIDIA-H100"] != 4 || caps["NVIDIA-A100"] != 8 || len(caps) != 3 {
		t.Errorf("per-family caps %v, want H100 4, A100 8 (capped at its limit), MIG_1g 8", caps)
	}
	if QueueParamsOf(quota.Catalog{"x": {ResourceName: "r"}}, tenant, "") != nil {
		t.Error("params for a catalog without Kueue families")
	}
}

func TestClaimDevices(t *testing.T) {
	exact := func(class string, n int64) resourcev1.DeviceRequest {
		return resourcev1.DeviceRequest{Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: class, AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: n}}
	}
	spec := resourcev1.ResourceClaimSpec{Devices: resourcev1.DeviceClaim{Requests: []resourcev1.DeviceRequest{
		exact("a", 2), exact("a", 1),
		{Exactly: &resourcev1.ExactDeviceRequest{DeviceClassName: "b", AllocationMode: resourcev1.DeviceAllocationModeAll}},
		{FirstAvailable: []resourcev1.DeviceSubRequest{
			{DeviceClassName: "a", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 4},
			{DeviceClassName: "a", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 1},
			{DeviceClassName: "c", AllocationMode: resourcev1.DeviceAllocationModeExactCount, Count: 2},
		}},
	}}}
	got := ClaimDevices(spec)
	if got["a"] != 7 || got["b"] != resourcev1.AllocationResultsMaxSize || got["c"] != 2 {
		t.Errorf("ClaimDevices = %v, want a 7 (2 + 1 + the worst alternative 4), b %d (All), c 2", got, resourcev1.AllocationResultsMaxSize)
	}
}
