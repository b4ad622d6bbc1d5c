package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/crds"
)

// TestAccQuota_planTimeRules: each rule of DESIGN.md §3.2 fails the plan,
// with the tenant and project planned in the same run (the plan cache),
// names the attribute, the values and the fix, and writes nothing.
func TestAccQuota_planTimeRules(t *testing.T) {
	testAccPreCheck(t)
	tenant := func(q string) string {
		return platformConfig("  gpu_quota = "+q+"\n  computes = [gpuplane_compute.h100.name]") + `
resource "gpuplane_compute" "h100" {
  dataplane     = gpuplane_dataplane.main.name
  name          = "h100-pool"
  node_selector = { "pool" = "h100" }
}
`
	}
	okTenant := tenant(`{ limits = { "NVIDIA-H100" = 8, "Default" = 4 }, requests = { "NVIDIA-H100" = 4 } }`)
	for name, tc := range map[string]struct {
		config string
		want   []string
	}{
		"project limit above tenant": {okTenant + projectConfig("vision", `gpu_quota = { limits = { "NVIDIA-H100" = 16 } }`),
			[]string{`project "vision", family NVIDIA-H100: gpu_quota.limits["NVIDIA-H100"] = 16 (from project) exceeds tenant "research"'s limit of 8`, "at most 8"}},
		"project request above tenant": {okTenant + projectConfig("vision", `gpu_quota = { limits = { "NVIDIA-H100" = 6, "Default" = 1 }, requests = { "NVIDIA-H100" = 5 } }`),
			[]string{`gpu_quota.requests["NVIDIA-H100"] = 5 (from project) exceeds tenant "research"'s request cap of 4`}},
		"requests above limits in a project": {okTenant + projectConfig("vision", `gpu_quota = { limits = { "Default" = 2 }, requests = { "Default" = 3 } }`),
			[]string{`project "vision" of tenant "research", family NVIDIA-A100`, `gpu_quota.requests["Default"] = 3 (from project-default)`, `gpu_quota.limits["Default"] = 2 (from project-default)`}},
		"requests above limits in a tenant": {tenant(`{ limits = { "NVIDIA-H100" = 2 }, requests = { "NVIDIA-H100" = 3 } }`),
			[]string{`tenant "research", family NVIDIA-H100`, `gpu_quota.requests["NVIDIA-H100"] = 3 (from tenant)`, `gpu_quota.limits["NVIDIA-H100"] = 2`}},
		"raw quota key": {tenant(`{ limits = { "requests.nvidia.com/gpu" = 1 } }`),
			[]string{`gpu_quota.limits["requests.nvidia.com/gpu"]`, "not a GPU family", "NVIDIA-A100, NVIDIA-H100", "gpuplane writes requests.<resource> itself"}},
		"fraction of a GPU": {tenant(`{ limits = { "NVIDIA-H100" = 0.5 } }`),
			[]string{`gpu_quota.limits["NVIDIA-H100"] = 0.5`, "whole GPUs", "MIG profile"}},
		"negative": {tenant(`{ limits = { "Default" = -1 } }`), []string{`gpu_quota.limits["Default"] = -1`}},
		"projects add up above the tenant": {okTenant +
			projectConfig("vision", `gpu_quota = { limits = { "NVIDIA-H100" = 6, "Default" = 2 } }`) +
			projectConfig("nlp", `gpu_quota = { limits = { "NVIDIA-H100" = 6, "Default" = 2 } }`),
			[]string{`family NVIDIA-H100: the projects' limits add up to 12`, "nlp = 6 (project), vision = 6 (project)", "limit of 8", "overcommit = true"}},
		"an inheriting project counts with the whole limit": {okTenant +
			projectConfig("vision", `gpu_quota = { limits = { "NVIDIA-H100" = 1, "Default" = 1 } }`) + projectConfig("nlp", ``),
			[]string{"nlp = 8 (inherited)", "Project(s) nlp set no limit for NVIDIA-H100", "explicit limit"}},
		"compute not attached to the tenant": {okTenant + projectConfig("vision", `compute = "a100-pool"`),
			[]string{`compute = "a100-pool"`, `tenant "research"'s computes are [h100-pool]`}},
		"namespace too long": {okTenant + projectConfig(strings.Repeat("p", 60), ``),
			[]string{"Project namespace name too long", "(69 characters)", "set namespace explicitly"}},
		"families sharing a resource": {strings.Replace(okTenant, "nvidia.com/mig-1g.10gb", "nvidia.com/gpu-h100", 1),
			[]string{"families NVIDIA-A100, NVIDIA-H100 all use the resource nvidia.com/gpu-h100", "MIG profiles", "DRA device classes"}},
		"tenant referenced by a plain string that does not exist": {platformConfig("") + `
resource "gpuplane_project" "orphan" {
  tenant = "nobody"
  name   = "orphan"
}`, []string{`Tenant "nobody" does not exist`, "tenant = gpuplane_tenant.nobody.name"}},
	} {
		t.Run(name, func(t *testing.T) {
			resource.Test(t, resource.TestCase{
				ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
				Steps: []resource.TestStep{{
					Config:      tc.config,
					PlanOnly:    true,
					ExpectError: wrapped(tc.want...),
				}},
			})
			// Nothing was written: the plan failed before any apply.
			if exists(t, crds.Dataplanes, "", "main") || exists(t, namespaceGVR, "", "research") {
				t.Fatal("a failed plan wrote to the cluster")
			}
		})
	}
}

var namespaceGVR = corev1.SchemeGroupVersion.WithResource("namespaces")

// TestAccTenant_deletionPolicy: restrict refuses to destroy a tenant that
// still has projects (here one made by another configuration, which
// Terraform cannot order before the tenant); cascade destroys them with it,
// leaving nothing labelled.
func TestAccTenant_deletionPolicy(t *testing.T) {
	testAccPreCheck(t)
	tenant := func(policy string) string { return platformConfig(fmt.Sprintf("  deletion_policy = %q", policy)) }
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: tenant("restrict")},
			{
				PreConfig:   func() { createForeignProject(t, "research", "stray") },
				Config:      tenant("restrict"),
				Destroy:     true,
				ExpectError: wrapped(`Tenant "research" still has projects stray`, `deletion_policy = "cascade"`),
			},
			{
				Config: tenant("restrict"),
				Check: func(*terraform.State) error {
					if !exists(t, namespaceGVR, "", "research") || !exists(t, crds.Projects, "research-stray", "stray") {
						return fmt.Errorf("a refused destroy deleted something")
					}
					return nil
				},
			},
			// The last destroy cascades to the stray project.
			{Config: tenant("cascade")},
		},
	})
}

// createForeignProject makes a project of tenant the way another gpuplane
// configuration would: labelled namespace and Project object.
func createForeignProject(t *testing.T, tenant, name string) {
	t.Helper()
	c := testClient(t)
	ctx := context.Background()
	ns := tenant + "-" + name
	labels := projectLabels(tenant, name, nil, nil)
	if err := applyNamespace(ctx, c, ns, labels); err != nil {
		t.Fatal(err)
	}
	obj, err := crds.New("Project", ns, name, labels, &crds.ProjectSpec{Tenant: tenant, Project: name})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Apply(ctx, crds.Projects, obj); err != nil {
		t.Fatal(err)
	}
}

// TestAccProject_deleteTimeoutReportsWhatIsLeft: a namespace held by a
// finalizer is never forced; the timeout error says what is left.
func TestAccProject_deleteTimeoutReportsWhatIsLeft(t *testing.T) {
	testAccPreCheck(t)
	const finalizer = "example.com/hold"
	base := platformConfig("")
	withProject := base + projectConfig("vision", `  timeouts = { delete = "8s" }`)
	held := func(remove bool) {
		c := testClient(t)
		ctx := context.Background()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "held", Finalizers: []string{finalizer}}}
		if !remove {
			if _, err := c.Typed.CoreV1().ConfigMaps("research-vision").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			return
		}
		live, err := c.Typed.CoreV1().ConfigMaps("research-vision").Get(ctx, "held", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		live.Finalizers = nil
		if _, err := c.Typed.CoreV1().ConfigMaps("research-vision").Update(ctx, live, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: withProject},
			{
				PreConfig: func() { held(false) },
				Config:    base,
				ExpectError: wrapped(`namespace "research-vision" is still terminating`, "does not strip finalizers",
					"What is left", finalizer),
			},
			{
				// The finalizer is gone; destroying again (the namespace is
				// already terminating) completes.
				PreConfig: func() { held(true) },
				Config:    base,
				Check: func(*terraform.State) error {
					// The namespace controller finishes once the finalizer is gone.
					for deadline := time.Now().Add(90 * time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
						if !exists(t, namespaceGVR, "", "research-vision") {
							return nil
						}
					}
					return fmt.Errorf("namespace research-vision remains")
				},
			},
		},
	})
}
