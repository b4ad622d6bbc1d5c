package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/terraform-plugin-testing/helper/resource"
	"github.com/hashicorp/terraform-plugin-testing/terraform"
	"k8s.io/client-go/tools/clientcmd"
)

// TestAccProvider_secretsNeverLogged: with TF_LOG=trace, the provider's
// token, and the env values of its exec plugin, appear neither in the log
// (Terraform's and the provider's) nor in the state.
func TestAccProvider_secretsNeverLogged(t *testing.T) {
	testAccPreCheck(t)
	kc, err := clientcmd.LoadFromFile(testCluster.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cluster := kc.Clusters[kc.Contexts[kc.CurrentContext].Cluster]
	// A token of its own, whatever the test cluster's admin authenticates with.
	token := serviceAccountBoundTo(t, shippedRole(t))
	const envSecret = "s3cr3t-exec-env-value"
	dir := t.TempDir()
	plugin := filepath.Join(dir, "credential-plugin")
	script := fmt.Sprintf("#!/bin/sh\ntest \"$GPUPLANE_TEST_SECRET\" = %q || exit 1\n"+
		`echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}'`+"\n", envSecret, token)
	if err := os.WriteFile(plugin, []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	logFile := filepath.Join(dir, "terraform.log")
	if keep := os.Getenv("GPUPLANE_TEST_KEEP_LOG"); keep != "" {
		logFile = keep
	}
	t.Setenv("TF_ACC_LOG_PATH", logFile)
	t.Setenv("TF_LOG", "TRACE")
	t.Setenv("TF_LOG_PROVIDER", "TRACE")
	t.Setenv("KUBE_CONFIG_PATH", "") // only the provider block configures the cluster
	providerBlock := func(auth string) string {
		return fmt.Sprintf(`
provider "gpuplane" {
  host                   = %q
  cluster_ca_certificate = %q
%s
}
`, cluster.Server, string(cluster.CertificateAuthorityData), auth)
	}
	// Secrets reach the configuration as users pass them: from the
	// environment (KUBE_TOKEN) and a sensitive variable, never as literals
	// (the test framework logs the configuration's text).
	t.Setenv("TF_VAR_exec_secret", envSecret)
	variable := "\nvariable \"exec_secret\" {\n  type      = string\n  sensitive = true\n}\n"
	withToken := providerBlock("")
	withExec := variable + providerBlock(fmt.Sprintf(`  exec {
    api_version = "client.authentication.k8s.io/v1"
    command     = %q
    env         = { GPUPLANE_TEST_SECRET = var.exec_secret }
  }`, plugin))
	noSecretsIn := func(s *terraform.State) error {
		for addr, r := range s.RootModule().Resources {
			for k, v := range r.Primary.Attributes {
				if strings.Contains(v, token) || strings.Contains(v, envSecret) {
					return fmt.Errorf("state of %s holds a secret in %s", addr, k)
				}
			}
		}
		return nil
	}
	t.Setenv("KUBE_TOKEN", token)
	resource.Test(t, resource.TestCase{
		ProtoV6ProviderFactories: testAccProtoV6ProviderFactories,
		CheckDestroy:             checkNoGpuplaneObjects,
		Steps: []resource.TestStep{
			{Config: withToken + platformConfig(""), Check: noSecretsIn},
			{
				PreConfig: func() { os.Unsetenv("KUBE_TOKEN") }, // the exec plugin authenticates now
				Config:    withExec + platformConfig(`  display_name = "Research"`), Check: noSecretsIn,
			},
		},
	})
	log, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "kubernetes API request") {
		t.Fatalf("the log holds no request of the provider's: it does not show what this test must check")
	}
	for what, secret := range map[string]string{"token": token, "exec env value": envSecret} {
		if strings.Contains(string(log), secret) {
			t.Errorf("the TF_LOG=trace log holds the %s", what)
		}
	}
}
