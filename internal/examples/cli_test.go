// Package examples_test runs the examples/ directory with the real CLIs,
// Terraform and OpenTofu, against real local control planes: every example
// validates, and the quickstart, the environments and the team repository
// apply, plan empty and destroy.
package examples_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpuplane/terraform-provider-gpuplane/internal/testcluster"
)

// cli is a Terraform-compatible command line: terraform or tofu.
type cli struct{ name, path string }

// atLeast reports whether the CLI's version is major.minor or later.
func (c cli) atLeast(t *testing.T, major, minor int) bool {
	t.Helper()
	cmd := exec.Command(c.path, "version", "-json")
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+os.DevNull, "CHECKPOINT_DISABLE=1")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s version: %v", c.name, err)
	}
	var v struct {
		Version string `json:"terraform_version"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s version -json: %v: %s", c.name, err, out)
	}
	var gotMajor, gotMinor int
	if _, err := fmt.Sscanf(v.Version, "%d.%d", &gotMajor, &gotMinor); err != nil {
		t.Fatalf("%s version %q: %v", c.name, v.Version, err)
	}
	return gotMajor > major || (gotMajor == major && gotMinor >= minor)
}

// pluginDir holds the provider binary that every CLI run uses (built once).
var pluginDir string

func TestMain(m *testing.M) {
	if os.Getenv("TF_ACC") == "" {
		os.Exit(m.Run())
	}
	dir, err := buildProvider()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildProvider() (string, error) {
	bin, err := testcluster.BinDir()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "gpuplane-examples-")
	if err != nil {
		return "", err
	}
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "terraform-provider-gpuplane"), ".")
	build.Dir = filepath.Dir(bin)
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the provider: %v\n%s", err, out)
	}
	return dir, nil
}

// clis are the CLIs the examples run with: Terraform (TF_ACC_TERRAFORM_PATH,
// else terraform on PATH) and OpenTofu (GPUPLANE_TOFU, else bin/tofu, which
// `make tofu` builds).
func clis(t *testing.T) []cli {
	t.Helper()
	if os.Getenv("TF_ACC") == "" {
		t.Skip("runs the CLIs against real clusters: set TF_ACC=1 (make testacc)")
	}
	tf := os.Getenv("TF_ACC_TERRAFORM_PATH")
	if tf == "" {
		var err error
		if tf, err = exec.LookPath("terraform"); err != nil {
			t.Fatal("terraform is not on PATH; set TF_ACC_TERRAFORM_PATH")
		}
	}
	tofu := os.Getenv("GPUPLANE_TOFU")
	if tofu == "" {
		bin, err := testcluster.BinDir()
		if err != nil {
			t.Fatal(err)
		}
		tofu = filepath.Join(bin, "tofu")
	}
	if _, err := os.Stat(tofu); err != nil {
		if os.Getenv("GPUPLANE_TEST_KUBECONFIG") != "" { // your clusters, your CLIs
			t.Logf("OpenTofu is missing (%v): the examples run with Terraform only", err)
			return []cli{{"terraform", tf}}
		}
		t.Fatalf("OpenTofu is missing (%v): run `make tofu`, or set GPUPLANE_TOFU", err)
	}
	return []cli{{"terraform", tf}, {"tofu", tofu}}
}

// workspace is a copy of examples/ that one CLI works in, with a CLI
// configuration that takes gpuplane from pluginDir (dev_overrides): no
// registry is needed.
type workspace struct {
	t   *testing.T
	cli cli
	dir string // the copy of examples/
	env []string
}

func newWorkspace(t *testing.T, c cli) *workspace {
	t.Helper()
	bin, err := testcluster.BinDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.CopyFS(filepath.Join(dir, "examples"), os.DirFS(filepath.Join(filepath.Dir(bin), "examples"))); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "cli.tfrc")
	config := fmt.Sprintf("provider_installation {\n  dev_overrides { \"gpuplane/gpuplane\" = %q }\n  direct {}\n}\n", pluginDir)
	if err := os.WriteFile(rc, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "TF_CLI_CONFIG_FILE="+rc, "CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1")
	return &workspace{t: t, cli: c, dir: filepath.Join(dir, "examples"), env: env}
}

// run runs the CLI in examples/<example> and returns its output and exit code.
func (w *workspace) run(example string, args ...string) (string, int) {
	w.t.Helper()
	cmd := exec.Command(w.cli.path, append(args, "-no-color")...)
	cmd.Dir = filepath.Join(w.dir, example)
	cmd.Env = w.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	default:
		w.t.Fatalf("%s %s in %s: %v", w.cli.name, strings.Join(args, " "), example, err)
		return "", -1
	}
}

// must runs the CLI and fails the test unless it succeeds.
func (w *workspace) must(example string, args ...string) string {
	w.t.Helper()
	out, code := w.run(example, args...)
	if code != 0 {
		w.t.Fatalf("%s %s in %s: exit %d\n%s", w.cli.name, strings.Join(args, " "), example, code, out)
	}
	return out
}

// apply installs an example's modules and applies it. (With dev_overrides
// init is not needed, and would look gpuplane up in the registry; get
// installs only the modules.)
func (w *workspace) apply(example string, vars ...string) {
	w.t.Helper()
	w.must(example, "get")
	w.must(example, append([]string{"apply", "-auto-approve", "-input=false"}, vars...)...)
}

// planEmpty fails unless a plan of the example shows no change.
func (w *workspace) planEmpty(example string, vars ...string) {
	w.t.Helper()
	out, code := w.run(example, append([]string{"plan", "-detailed-exitcode", "-input=false"}, vars...)...)
	if code != 0 {
		w.t.Fatalf("%s plan of %s is not empty (exit %d, 2 = changes):\n%s", w.cli.name, example, code, out)
	}
}

// destroy destroys what an example applied.
func (w *workspace) destroy(example string, vars ...string) {
	w.t.Helper()
	w.must(example, append([]string{"destroy", "-auto-approve", "-input=false"}, vars...)...)
}

// exampleDirs are the directories under examples/ that hold a .tf file.
func exampleDirs(t *testing.T, root string) []string {
	t.Helper()
	var dirs []string
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".terraform" {
			return filepath.SkipDir
		}
		if dir := filepath.Dir(path); !d.IsDir() && strings.HasSuffix(path, ".tf") && !seen[dir] {
			seen[dir] = true
			rel, _ := filepath.Rel(root, dir)
			dirs = append(dirs, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}
