package provider

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// TestAccProvider_apiServerRestartMidApply: kube-apiserver restarts (same
// etcd data) while an apply of many projects and memberships runs; the
// provider's retries carry the apply through, a second plan is empty, and
// the cluster holds exactly one of each object: none duplicated, none
// orphaned.
func TestAccProvider_apiServerRestartMidApply(t *testing.T) {
	testAccPreCheck(t)
	if !testCluster.Local {
		t.Skip("restarting kube-apiserver needs the local control plane")
	}
	const projects = 16
	config := platformConfig(`  gpu_quota = { limits = { "NVIDIA-H100" = 64 } }`) + `
resource "gpuplane_project" "p" {
  count     = ` + fmt.Sprint(projects) + `
  tenant    = gpuplane_tenant.research.name
  name      = "p${count.index}"
  gpu_quota = { limits = { "NVIDIA-H100" = 4 } }
}
resource "gpuplane_tenant_membership" "viewers" {
  tenant  = gpuplane_tenant.research.name
  subject = { kind = "Group", name = "research-viewers" }
  role    = "viewer"
}
resource "gpuplane_tenant_membership" "alice" {
  tenant     = gpuplane_tenant.research.name
  subject    = { kind = "User", name = "alice@example.com" }
  role       = "developer"
  depends_on = [gpuplane_project.p]
}
`
	var restarted atomic.Bool
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				PreConfig: func() {
					go func() {
						time.Sleep(4 * time.Second) // into the apply: the dataplane is up, projects are being written
						ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
						defer cancel()
						if err := testCluster.RestartAPIServer(ctx); err != nil {
							t.Errorf("restarting kube-apiserver: %v", err)
							return
						}
						restarted.Store(true)
					}()
				},
				Config: config,
				Check: func(*terraform.State) error {
					if !restarted.Load() {
						return fmt.Errorf("kube-apiserver was not restarted during the apply")
					}
					return checkExactlyTheProjects(t, projects)
				},
			},
			{Config: config, PlanOnly: true},
		},
	})
}

// checkExactlyTheProjects: every labelled object belongs to the tenant or
// one of its n projects, and each project has its namespace, Project object,
// quota and bindings once.
func checkExactlyTheProjects(t *testing.T, n int) error {
	objects, err := labelledObjects(context.Background(), testClient(t))
	if err != nil {
		return err
	}
	count := map[string]int{}
	for _, o := range objects {
		kind, rest, _ := strings.Cut(o, " ")
		ns, _, _ := strings.Cut(rest, "/")
		count[kind+" "+ns]++
	}
	for i := range n {
		ns := fmt.Sprintf("research-p%d", i)
		// 4 group bindings, and one for each of the 2 memberships.
		for kind, want := range map[string]int{"Project": 1, "ResourceQuota": 1, "RoleBinding": 6} {
			if got := count[kind+" "+ns]; got != want {
				return fmt.Errorf("%d %s in %s, want %d", got, kind, ns, want)
			}
		}
	}
	projects, err := platform.ListProjects(context.Background(), testClient(t), "research")
	if err != nil || len(projects) != n {
		return fmt.Errorf("%d Project objects of tenant research, want %d (%v)", len(projects), n, err)
	}
	return nil
}
