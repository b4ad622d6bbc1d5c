package provider

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/knownvalue"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	"github.com/hashicorp/terraform-plugin-testing/statecheck"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"github.com/hashicorp/terraform-plugin-testing/tfjsonpath"
	authv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/platform"
)

// membershipPlatform: tenants research (projects vision, nlp) and other (project team).
const membershipPlatform = `
resource "gpuplane_dataplane" "main" {
  name         = "main"
  gpu_families = { "NVIDIA-H100" = { resource_name = "nvidia.com/gpu-h100" } }
}
resource "gpuplane_tenant" "research" {
  dataplane = gpuplane_dataplane.main.name
  name      = "research"
}
resource "gpuplane_tenant" "other" {
  dataplane = gpuplane_dataplane.main.name
  name      = "other"
}
resource "gpuplane_project" "vision" {
  tenant = gpuplane_tenant.research.name
  name   = "vision"
}
resource "gpuplane_project" "nlp" {
  tenant = gpuplane_tenant.research.name
  name   = "nlp"
}
resource "gpuplane_project" "team" {
  tenant = gpuplane_tenant.other.name
  name   = "team"
}
`

func member(resourceName, tenant, kind, name, role, extra string) string {
	return fmt.Sprintf(`
resource "gpuplane_tenant_membership" %[1]q {
  tenant  = gpuplane_tenant.%[2]s.name
  subject = { kind = %[3]q, name = %[4]q%[6]s }
  role    = %[5]q
}
`, resourceName, tenant, kind, name, role, extra)
}

// memberships: alice develops in the listed research projects, bob views all
// of research, carol develops in both tenants, dave administers research, and
// a service account develops in other. None depends on a project except
// through alice's list, so most are created concurrently with the projects.
func memberships(aliceProjects string) string {
	alice := strings.Replace(member("alice", "research", "User", "alice@example.com", "developer", ""),
		"  role    = \"developer\"\n", "  role    = \"developer\"\n  projects = "+aliceProjects+"\n", 1)
	return alice +
		member("bob", "research", "User", "bob@example.com", "viewer", "") +
		member("carol_research", "research", "User", "carol@example.com", "developer", "") +
		member("carol_other", "other", "User", "carol@example.com", "developer", "") +
		member("dave", "research", "Group", "research-leads", "admin", "") +
		member("ci", "other", "ServiceAccount", "ci", "developer", `, namespace = "ci-system"`)
}

type access struct {
	user   string
	groups []string
	ns     string
	verb   string
	res    string
	want   bool
}

var apiGroupOf = map[string]string{"rolebindings": "rbac.authorization.k8s.io"}

func checkAccess(t *testing.T, cases ...access) resource.TestCheckFunc {
	return func(*terraform.State) error {
		c := testClient(t)
		var wrong []string
		for _, a := range cases {
			sar := &authv1.SubjectAccessReview{Spec: authv1.SubjectAccessReviewSpec{
				User: a.user, Groups: append([]string{"system:authenticated"}, a.groups...),
				ResourceAttributes: &authv1.ResourceAttributes{Namespace: a.ns, Verb: a.verb, Resource: a.res, Group: apiGroupOf[a.res]},
			}}
			got, err := c.Typed.AuthorizationV1().SubjectAccessReviews().Create(context.Background(), sar, metav1.CreateOptions{})
			if err != nil {
				return err
			}
			if got.Status.Allowed != a.want {
				wrong = append(wrong, fmt.Sprintf("%s %v: %s %s in %s = %v, want %v", a.user, a.groups, a.verb, a.res, a.ns, got.Status.Allowed, a.want))
			}
		}
		if len(wrong) > 0 {
			return fmt.Errorf("access is wrong:\n%s", strings.Join(wrong, "\n"))
		}
		return nil
	}
}

func TestAccTenantMembership(t *testing.T) {
	testAccPreCheck(t)
	both := `[gpuplane_project.vision.name, gpuplane_project.nlp.name]`
	const ci = "system:serviceaccount:ci-system:ci"
	ciGroups := []string{"system:serviceaccounts", "system:serviceaccounts:ci-system"}
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: membershipPlatform + memberships(both),
				ConfigStateChecks: []statecheck.StateCheck{
					statecheck.ExpectKnownValue("gpuplane_tenant_membership.bob", tfjsonpath.New("id"),
						knownvalue.StringRegexp(regexpMust(`^research/user-bob-example-com-[0-9a-f]{8}$`))),
					statecheck.ExpectKnownValue("gpuplane_tenant_membership.bob", tfjsonpath.New("objects_in_sync"), knownvalue.Bool(true)),
				},
				ConfigPlanChecks: resource.ConfigPlanChecks{PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()}},
				Check: checkAccess(t,
					access{"alice@example.com", nil, "research-vision", "create", "pods", true},
					access{"alice@example.com", nil, "research-nlp", "create", "pods", true},
					access{"alice@example.com", nil, "other-team", "create", "pods", false},
					access{"alice@example.com", nil, "research", "get", "pods", true},
					access{"bob@example.com", nil, "research-vision", "get", "pods", true},
					access{"bob@example.com", nil, "research-nlp", "get", "pods", true},
					access{"bob@example.com", nil, "research-vision", "create", "pods", false},
					// A user in two tenants acts in both, and in no third namespace.
					access{"carol@example.com", nil, "research-nlp", "create", "pods", true},
					access{"carol@example.com", nil, "other-team", "create", "pods", true},
					access{"carol@example.com", nil, "default", "create", "pods", false},
					// Tenant admins administer every project of their tenant, not other tenants.
					access{"dave", []string{"research-leads"}, "research-vision", "create", "rolebindings", true},
					access{"dave", []string{"research-leads"}, "research-nlp", "delete", "pods", true},
					access{"dave", []string{"research-leads"}, "other-team", "get", "pods", false},
					access{ci, ciGroups, "other-team", "create", "pods", true},
					access{ci, ciGroups, "research-vision", "get", "pods", false},
				),
			},
			{ResourceName: "gpuplane_tenant_membership.ci", ImportState: true, ImportStateVerify: true,
				ImportStateIdFunc: func(s *terraform.State) (string, error) {
					return s.RootModule().Resources["gpuplane_tenant_membership.ci"].Primary.ID, nil
				}},
			{
				// A project created after the memberships gets their bindings;
				// removing a project from alice's list removes exactly that binding.
				Config: membershipPlatform + memberships(`[gpuplane_project.vision.name]`) + `
resource "gpuplane_project" "late" {
  tenant = gpuplane_tenant.research.name
  name   = "late"
}`,
				Check: checkAccess(t,
					access{"bob@example.com", nil, "research-late", "get", "pods", true},
					access{"carol@example.com", nil, "research-late", "create", "pods", true},
					access{"alice@example.com", nil, "research-late", "create", "pods", false},
					access{"alice@example.com", nil, "research-nlp", "create", "pods", false},
					access{"alice@example.com", nil, "research-vision", "create", "pods", true},
				),
			},
			membershipDriftStep(t),
			{
				// A project never moves to another tenant: it is replaced, and
				// the new one gets the new tenant's memberships, not the old's.
				Config: strings.Replace(membershipPlatform, "tenant = gpuplane_tenant.other.name\n  name   = \"team\"",
					"tenant = gpuplane_tenant.research.name\n  name   = \"team\"", 1) + memberships(`[gpuplane_project.vision.name]`),
				ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
					plancheck.ExpectResourceAction("gpuplane_project.team", plancheck.ResourceActionDestroyBeforeCreate),
				}},
				Check: checkAccess(t,
					access{"bob@example.com", nil, "research-team", "get", "pods", true},
					access{ci, ciGroups, "research-team", "create", "pods", false},
				),
			},
		},
	})
}

func TestAccTenantMembership_invalid(t *testing.T) {
	testAccPreCheck(t)
	base := membershipPlatform
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: base},
			{
				Config: base + strings.Replace(member("x", "research", "User", "x@example.com", "viewer", ""),
					"role    = \"viewer\"", "role    = \"viewer\"\n  projects = [\"team\"]", 1),
				PlanOnly:    true,
				ExpectError: wrapped(`projects[0] = "team" belongs to tenant "other", not to "research"`),
			},
			{
				Config: base + strings.Replace(member("x", "research", "User", "x@example.com", "viewer", ""),
					"role    = \"viewer\"", "role    = \"viewer\"\n  projects = [\"nope\"]", 1),
				PlanOnly:    true,
				ExpectError: wrapped(`projects[0] = "nope" is not a project of tenant "research"`),
			},
			{
				Config:      base + member("x", "research", "Group", "ml", "viewer", `, namespace = "research"`),
				PlanOnly:    true,
				ExpectError: wrapped(`subject.namespace = "research", but Group subjects are cluster-wide and carry no namespace`),
			},
			{
				Config:      base + member("x", "research", "ServiceAccount", "ci", "viewer", ""),
				PlanOnly:    true,
				ExpectError: wrapped(`A ServiceAccount subject needs subject.namespace`),
			},
			{
				Config:      base + member("x", "research", "User", "x@example.com", "owner", ""),
				PlanOnly:    true,
				ExpectError: wrapped(`role`, `value must be one of`),
			},
			{
				Config:      base + member("x", "research", "User", " ", "viewer", ""),
				PlanOnly:    true,
				ExpectError: wrapped(`subject.name`, `must not be blank`),
			},
			{
				Config:      base + member("x", "research", "User", "x@example.com", "viewer", "") + member("y", "research", "User", "x@example.com", "admin", ""),
				PlanOnly:    true,
				ExpectError: wrapped(`User "x@example.com" already has membership`, `in tenant "research"`),
			},
		},
	})
}

// membershipDriftStep: a binding deleted by hand is detected and restored.
func membershipDriftStep(t *testing.T) resource.TestStep {
	return resource.TestStep{
		PreConfig: func() {
			c := testClient(t)
			rbs, err := c.Typed.RbacV1().RoleBindings("research-vision").List(context.Background(), metav1.ListOptions{LabelSelector: platform.LabelMembership})
			if err != nil || len(rbs.Items) == 0 {
				t.Fatalf("no membership bindings in research-vision: %v", err)
			}
			for _, rb := range rbs.Items {
				if strings.Contains(rb.Name, "alice") {
					if err := c.Typed.RbacV1().RoleBindings("research-vision").Delete(context.Background(), rb.Name, metav1.DeleteOptions{}); err != nil {
						t.Fatal(err)
					}
				}
			}
		},
		Config: membershipPlatform + memberships(`[gpuplane_project.vision.name]`) + `
resource "gpuplane_project" "late" {
  tenant = gpuplane_tenant.research.name
  name   = "late"
}`,
		ConfigPlanChecks: resource.ConfigPlanChecks{PreApply: []plancheck.PlanCheck{
			plancheck.ExpectResourceAction("gpuplane_tenant_membership.alice", plancheck.ResourceActionUpdate),
		}},
		Check: checkAccess(t, access{"alice@example.com", nil, "research-vision", "create", "pods", true}),
	}
}
