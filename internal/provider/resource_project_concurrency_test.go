package provider

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
	"github.com/gpuplane/terraform-provider-gpuplane/internal/quota"
)

// TestAccProject_concurrentWritersNeverOverflowTheTenant: two applies from
// different states (here two clients, as two provider processes) each add a
// project to a strict tenant at once, many times; 5 + 5 overflow a limit of
// 8, so in every round exactly one of them passes the apply-time check.
func TestAccProject_concurrentWritersNeverOverflowTheTenant(t *testing.T) {
	testAccPreCheck(t)
	ctx := context.Background()
	admin := testClient(t)
	if err := platform.Install(ctx, admin); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := platform.Uninstall(context.Background(), admin); err != nil {
			t.Error(err)
		}
	})
	cat := quota.Catalog{"NVIDIA-H100": {ResourceName: "nvidia.com/gpu-h100"}}
	tenant := platform.Tenant{Name: "race", Dataplane: "main", Quota: quota.Quota{Limits: map[string]int64{"NVIDIA-H100": 8}}}
	if _, err := platform.WriteTenant(ctx, admin, tenant); err != nil {
		t.Fatal(err)
	}
	five := quota.Quota{Limits: map[string]int64{"NVIDIA-H100": 5}}
	check := func(name string) func(platform.Tenant, map[string]quota.Quota, *quota.Quota) error {
		return func(live platform.Tenant, siblings map[string]quota.Quota, prior *quota.Quota) error {
			_, problems := quota.CheckProject(live.Rules(), cat, quota.Project{Name: name, Quota: five, Prior: prior}, siblings)
			if errs := quota.Errors(problems); len(errs) > 0 {
				return errors.New(errs[0].Detail)
			}
			return nil
		}
	}
	for round := range 20 {
		var wg sync.WaitGroup
		results := make([]error, 2)
		for i, name := range []string{fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c, err := newTestClient() // a client of its own, like another provider process
				if err == nil {
					err = platform.ReserveProjectQuota(ctx, c, "race", name, five, check(name))
				}
				results[i] = err
			}()
		}
		wg.Wait()
		passed := 0
		for _, err := range results {
			if err == nil {
				passed++
			}
		}
		if passed != 1 {
			t.Fatalf("round %d: %d of two writers passed (%v); want exactly one", round, passed, results)
		}
		for _, name := range []string{fmt.Sprintf("a%d", round), fmt.Sprintf("b%d", round)} {
			if err := platform.ReleaseProjectQuota(ctx, admin, "race", name); err != nil {
				t.Fatal(err)
			}
		}
	}
}
