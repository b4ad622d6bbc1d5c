package examples_test

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Every example validates with both CLIs. The documentation's snippets
// (examples/resources, data-sources, functions) refer to resources they do
// not declare, as documentation does: each is validated next to the
// quickstart, less the blocks the snippet declares itself.
func TestExamplesValidate(t *testing.T) {
	for _, c := range clis(t) {
		t.Run(c.name, func(t *testing.T) {
			w := newWorkspace(t, c)
			dirs := exampleDirs(t, w.dir)
			if len(dirs) < 15 {
				t.Fatalf("found %d example directories, want all of them (at least 15): %v", len(dirs), dirs)
			}
			scaffold, err := os.ReadFile(filepath.Join(w.dir, "quickstart", "main.tf"))
			if err != nil {
				t.Fatal(err)
			}
			for _, dir := range dirs {
				var byIdentity []byte
				if isSnippet(dir) {
					addScaffold(t, filepath.Join(w.dir, dir), scaffold)
					byIdentity = takeFile(t, filepath.Join(w.dir, dir, "import-by-identity.tf"))
				}
				w.must(dir, "get")
				w.must(dir, "validate")
				// An import block by identity needs 1.12; it replaces the one by ID
				// (one import block per resource).
				if byIdentity != nil && w.cli.atLeast(t, 1, 12) {
					takeFile(t, filepath.Join(w.dir, dir, "import-by-string-id.tf"))
					if err := os.WriteFile(filepath.Join(w.dir, dir, "import-by-identity.tf"), byIdentity, 0o600); err != nil {
						t.Fatal(err)
					}
					w.must(dir, "validate")
				}
			}
		})
	}
}

// takeFile removes a file and returns what it held (nil: no such file).
func takeFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = os.Remove(path)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func isSnippet(dir string) bool {
	top, _, _ := strings.Cut(filepath.ToSlash(dir), "/")
	return top == "resources" || top == "data-sources" || top == "functions"
}

// addScaffold writes the quickstart into dir, without the blocks (resource,
// data, output, variable) that the snippet in dir declares too.
func addScaffold(t *testing.T, dir string, scaffold []byte) {
	t.Helper()
	declared := map[string]bool{}
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	for _, f := range files {
		for _, b := range parse(t, f, nil).Body().Blocks() {
			declared[blockKey(b)] = true
		}
	}
	out := parse(t, "quickstart/main.tf", scaffold)
	for _, b := range out.Body().Blocks() {
		if declared[blockKey(b)] {
			out.Body().RemoveBlock(b)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "zz_scaffold.tf"), out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func parse(t *testing.T, name string, src []byte) *hclwrite.File {
	t.Helper()
	if src == nil {
		var err error
		if src, err = os.ReadFile(name); err != nil {
			t.Fatal(err)
		}
	}
	f, diags := hclwrite.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("%s: %s", name, diags.Error())
	}
	return f
}

func blockKey(b *hclwrite.Block) string {
	return b.Type() + " " + strings.Join(b.Labels(), " ")
}

// The quota inheritance guide's table is what its example computes.
func TestExamplesQuotaGuide(t *testing.T) {
	type eff struct {
		Limit         *int64 `json:"limit"`
		LimitSource   string `json:"limit_source"`
		Request       *int64 `json:"request"`
		RequestSource string `json:"request_source"`
	}
	n := func(v int64) *int64 { return &v }
	want := map[string]map[string]eff{
		"research": {
			"NVIDIA-H100":    {n(12), "tenant", n(4), "tenant"},
			"NVIDIA-A100-1g": {n(4), "tenant-default", n(4), "tenant-default"},
		},
		"vision": {
			"NVIDIA-H100":    {n(8), "project", n(4), "inherited"},
			"NVIDIA-A100-1g": {n(2), "project-default", n(2), "project-default"},
		},
		"nlp": {
			"NVIDIA-H100":    {n(2), "project-default", n(1), "project"},
			"NVIDIA-A100-1g": {n(2), "project-default", n(2), "project-default"},
		},
		"scratch": {
			"NVIDIA-H100":    {n(12), "inherited", n(4), "inherited"},
			"NVIDIA-A100-1g": {n(4), "inherited", n(4), "inherited"},
		},
	}
	for _, c := range clis(t) {
		t.Run(c.name, func(t *testing.T) {
			w := newWorkspace(t, c)
			w.apply("guides/quota-inheritance")
			var research map[string]eff
			var projects map[string]map[string]eff
			decode(t, w.must("guides/quota-inheritance", "output", "-json", "research"), &research)
			decode(t, w.must("guides/quota-inheritance", "output", "-json", "projects"), &projects)
			projects["research"] = research
			if !reflect.DeepEqual(projects, want) {
				t.Errorf("the example computes\n%s\nbut the guide's table says\n%s", show(projects), show(want))
			}
		})
	}
}

func decode(t *testing.T, out string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
}

func show(v any) string {
	b, _ := json.MarshalIndent(v, "", "  ")
	return string(b)
}
