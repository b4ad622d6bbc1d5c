package examples_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// cluster is a cluster for the examples: the kubeconfig in env (a kind
// cluster a user made), else a local control plane started for the test
// (unless the tests run against the user's clusters: then it is skipped).
func cluster(t *testing.T, env string, flags ...string) string {
	t.Helper()
	if kc := os.Getenv(env); kc != "" {
		return kc
	}
	if os.Getenv("GPUPLANE_TEST_KUBECONFIG") != "" {
		t.Skipf("the tests run against your clusters, and this one needs %s too", env)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := testcluster.StartLocal(ctx, flags...)
	if err != nil {
		t.Fatalf("starting a local control plane (or set %s): %v", env, err)
	}
	t.Cleanup(c.Stop)
	return c.Kubeconfig
}

// The quickstart (what `make demo` applies) applies, plans empty and
// destroys, with each CLI.
func TestExamplesQuickstart(t *testing.T) {
	all := clis(t)
	kubeconfig := "-var=kubeconfig=" + cluster(t, "GPUPLANE_TEST_KUBECONFIG", "-demo-nodes")
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			w := newWorkspace(t, c)
			w.apply("quickstart", kubeconfig)
			w.planEmpty("quickstart", kubeconfig)
			w.destroy("quickstart", kubeconfig)
		})
	}
}

// One module, two environments on two clusters: staging and production
// apply; a team's repository adds a project to a staging tenant and the
// platform's plan stays empty; a change of staging leaves production's plan
// empty; everything destroys. With each CLI, on the same two clusters.
func TestExamplesEnvironments(t *testing.T) {
	all := clis(t)
	staging := "-var=kubeconfig=" + cluster(t, "GPUPLANE_TEST_KUBECONFIG")
	production := "-var=kubeconfig=" + cluster(t, "GPUPLANE_TEST_KUBECONFIG_PRODUCTION")
	if staging == production {
		t.Fatal("staging and production need two clusters: GPUPLANE_TEST_KUBECONFIG_PRODUCTION names the same kubeconfig")
	}
	for _, c := range all {
		t.Run(c.name, func(t *testing.T) {
			w := newWorkspace(t, c)
			w.apply("environments/staging", staging)
			w.apply("environments/production", production)
			if out := w.must("environments/staging", "output", "-json", "project_namespaces"); !strings.Contains(out, `"stg-research-vision"`) {
				t.Errorf("staging's namespaces follow stg-<team>-<project>: %s", out)
			}
			if out := w.must("environments/production", "output", "-json", "project_namespaces"); !strings.Contains(out, `"research-vision"`) {
				t.Errorf("production's namespaces are <team>-<project>: %s", out)
			}

			w.apply("team-repository", staging)
			w.planEmpty("environments/staging", staging)
			w.planEmpty("team-repository", staging)

			// Raise staging's research quota: staging changes, production does not.
			raised := "-var=research_h100_limit=6"
			out, code := w.run("environments/staging", "plan", "-detailed-exitcode", "-input=false", staging, raised)
			if code != 2 || !strings.Contains(out, `module.platform.gpuplane_tenant.this["research"] will be updated in-place`) {
				t.Fatalf("a plan of staging's raised quota must update its research tenant (exit %d):\n%s", code, out)
			}
			w.must("environments/staging", "apply", "-auto-approve", "-input=false", staging, raised)
			w.planEmpty("environments/production", production)
			// The team's project is untouched; its data source sees the raise.
			out, _ = w.run("team-repository", "plan", "-input=false", staging)
			if !strings.Contains(out, "tenant_h100_limit = 4 -> 6") || strings.Contains(out, "gpuplane_project.speech will") ||
				strings.Contains(out, "gpuplane_project.speech must") {
				t.Errorf("the team's plan after the platform's raise: want only its output 4 -> 6, got:\n%s", out)
			}

			// The platform cannot take the tenant from under the team's project
			// (deletion_policy restrict): the team goes first.
			w.destroy("team-repository", staging)
			w.destroy("environments/staging", staging, raised)
			w.destroy("environments/production", production)
		})
	}
}
