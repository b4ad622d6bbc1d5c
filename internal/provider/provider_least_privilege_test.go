package provider

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/plancheck"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"
)

// TestAccProvider_leastPrivilege: a configuration of every resource and
// data source applies, plans empty and destroys as a service account bound
// only to the ClusterRole the provider ships (examples/permissions); with
// one rule less, the error names the missing verb and resource.
func TestAccProvider_leastPrivilege(t *testing.T) {
	testAccPreCheck(t)
	role := shippedRole(t)
	token := serviceAccountBoundTo(t, role)
	full := role.DeepCopy()
	withoutMembershipList := role.DeepCopy()
	for i, r := range withoutMembershipList.Rules {
		if len(r.APIGroups) == 1 && r.APIGroups[0] == "tenancy.gpuplane.dev" && len(r.Resources) > 1 {
			withoutMembershipList.Rules[i].Resources = []string{"dataplanes", "computes", "tenants", "projects"}
			withoutMembershipList.Rules = append(withoutMembershipList.Rules, rbacv1.PolicyRule{APIGroups: r.APIGroups,
				Resources: []string{"tenantmemberships"}, Verbs: []string{"get", "watch", "create", "patch", "delete"}})
		}
	}
	config := identityProvider(t, token) + everyResource(8) + dataplaneLookup + tenantLookup + projectLookup
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{
				Config: config,
				ConfigPlanChecks: resource.ConfigPlanChecks{
					PostApplyPostRefresh: []plancheck.PlanCheck{plancheck.ExpectEmptyPlan()},
				},
			},
			{
				PreConfig:   func() { updateRole(t, withoutMembershipList) },
				Config:      config,
				PlanOnly:    true,
				ExpectError: wrapped("lacks a permission", `cannot list resource "tenantmemberships"`),
			},
			{
				PreConfig: func() { updateRole(t, full) },
				Config:    config,
				PlanOnly:  true, // and empty: the identity can read everything again
			},
		},
	})
}

// shippedRole is the ClusterRole of examples/permissions.
func shippedRole(t *testing.T) rbacv1.ClusterRole {
	t.Helper()
	b, err := os.ReadFile("../../examples/permissions/clusterrole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(b, &role); err != nil {
		t.Fatal(err)
	}
	return role
}

// serviceAccountBoundTo creates a service account bound to role alone and
// returns a token of it; all is deleted when the test ends.
func serviceAccountBoundTo(t *testing.T, role rbacv1.ClusterRole) string {
	t.Helper()
	ctx := context.Background()
	c := testClient(t).Typed
	createNamespace(t, "gpuplane-system")
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "terraform", Namespace: "gpuplane-system"}}
	if _, err := c.CoreV1().ServiceAccounts("gpuplane-system").Create(ctx, sa, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	role.ObjectMeta = metav1.ObjectMeta{Name: role.Name}
	if _, err := c.RbacV1().ClusterRoles().Create(ctx, &role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "terraform", Namespace: "gpuplane-system"}}}
	if _, err := c.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.RbacV1().ClusterRoleBindings().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
		_ = c.RbacV1().ClusterRoles().Delete(context.Background(), role.Name, metav1.DeleteOptions{})
	})
	hour := int64(3600)
	tr, err := c.CoreV1().ServiceAccounts("gpuplane-system").CreateToken(ctx, "terraform",
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tr.Status.Token
}

// updateRole replaces the rules of the provider's ClusterRole.
func updateRole(t *testing.T, role *rbacv1.ClusterRole) {
	t.Helper()
	c := testClient(t).Typed
	live, err := c.RbacV1().ClusterRoles().Get(context.Background(), role.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	live.Rules = role.Rules
	if _, err := c.RbacV1().ClusterRoles().Update(context.Background(), live, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// identityProvider configures the provider with the test cluster's address
// and CA and a bearer token (no kubeconfig).
func identityProvider(t *testing.T, token string) string {
	t.Helper()
	t.Setenv("KUBE_CONFIG_PATH", "")
	kc, err := clientcmd.LoadFromFile(testCluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster]
	return fmt.Sprintf(`
provider "gpuplane" {
  host                   = %q
  cluster_ca_certificate = %q
  token                  = %q
}
`, cluster.Server, string(cluster.CertificateAuthorityData), token)
}
