package provider

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// TestAccProvider_faultsConverge: with a proxy in front of the API server
// that answers part of the requests of every verb with 409, 429, 500, 503,
// a reset connection, a lost response (the write happened, the answer did
// not arrive) or a delay, create, import, update, refresh and destroy of
// every resource still converge: the state and the cluster end right.
func TestAccProvider_faultsConverge(t *testing.T) {
	testAccPreCheck(t)
	proxy, err := testcluster.NewFaultProxy(testCluster)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	kc, err := clientcmd.LoadFromFile(testCluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBE_CONFIG_PATH", "")
	t.Setenv("KUBE_TOKEN", kc.AuthInfos[kc.Contexts[kc.CurrentContext].AuthInfo].Token)
	faulty := `
provider "gpuplane" {
  host     = "` + proxy.URL + `"
  insecure = true # the test proxy's own certificate
}
`
	config := func(limit int) string { return faulty + everyResource(limit) }
	faults := func() {
		proxy.SetRules(
			testcluster.FaultRule{Method: "PATCH", Every: 3, Fault: testcluster.Conflict},
			testcluster.FaultRule{Method: "PATCH", Path: "/namespaces/", Every: 5, Fault: testcluster.LostResponse},
			testcluster.FaultRule{Method: "GET", Path: "/apis/tenancy.gpuplane.dev/", Every: 7, Fault: testcluster.TooManyRequests},
			testcluster.FaultRule{Method: "GET", Path: "/api/v1/", Every: 5, Fault: testcluster.Internal},
			testcluster.FaultRule{Method: "GET", Path: "/apis/rbac", Every: 3, Fault: testcluster.Reset},
			testcluster.FaultRule{Method: "POST", Every: 3, Fault: testcluster.Unavailable},
			testcluster.FaultRule{Method: "PUT", Every: 3, Fault: testcluster.LostResponse},
			testcluster.FaultRule{Method: "DELETE", Every: 3, Fault: testcluster.LostResponse},
			testcluster.FaultRule{Method: "GET", Path: "/version", Every: 3, Fault: testcluster.Unavailable},
			testcluster.FaultRule{Every: 7, Fault: testcluster.Slow},
		)
	}
	faults()
	empty := resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy: func(s *terraform.State) error {
			if proxy.Injected.Load() < 50 {
				return fmt.Errorf("only %d faults were injected: the test shows little", proxy.Injected.Load())
			}
			return checkNoGpuplaneObjects(s)
		},
		Steps: []resource.TestStep{
			{Config: config(8), ConfigPlanChecks: empty, Check: checkH100Quota(t, "research-vision", 8)},
			importStep("gpuplane_dataplane.main", "main"),
			importStep("gpuplane_compute.pool", "pool"),
			importStep("gpuplane_tenant.research", "research"),
			importStep("gpuplane_project.vision", "research/vision"),
			{ResourceName: "gpuplane_tenant_membership.alice", ImportState: true, ImportStateVerify: true, ImportStateVerifyIgnore: []string{"timeouts"},
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources["gpuplane_tenant_membership.alice"].Primary.ID, nil
				}},
			{Config: config(6), ConfigPlanChecks: empty, Check: checkH100Quota(t, "research-vision", 6)},
			{Config: config(6), PlanOnly: true},
			// The test's destroy runs through the faults too.
		},
	})
	t.Logf("faults injected: %d (%s)", proxy.Injected.Load(), strings.Join([]string{"409", "429", "500", "503", "reset", "lost response", "slow"}, ", "))
}

// importStep imports a resource by id and compares it with the state.
func importStep(address, id string) resource.TestStep {
	return resource.TestStep{ResourceName: address, ImportState: true, ImportStateId: id, ImportStateVerify: true,
		ImportStateVerifyIgnore: []string{"timeouts"}}
}
