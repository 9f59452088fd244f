package check

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/model/modelgen"
)

// TestGeneratedPrefecture checks a generated prefecture: every planted
// violation is found on the object the generator names, and the unplanted
// organizations come out clean.
func TestGeneratedPrefecture(t *testing.T) {
	dir := t.TempDir()
	opts := modelgen.Options{Seed: 7, Organizations: len(modelgen.IssueKinds) + 4, Hosts: 40 * (len(modelgen.IssueKinds) + 4), Flows: 100 * (len(modelgen.IssueKinds) + 4), Issues: len(modelgen.IssueKinds)}
	if err := modelgen.Generate(dir, opts); err != nil {
		t.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "planted-issues.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	planted := map[string][2]string{} // org dir -> kind, object
	for _, line := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) == 3 && !strings.HasPrefix(line, "#") {
			planted[f[0]] = [2]string{f[1], f[2]}
		}
	}
	if len(planted) != len(modelgen.IssueKinds) {
		t.Fatalf("manifest lists %d plants, want %d", len(planted), len(modelgen.IssueKinds))
	}
	models, diags := model.LoadSet(dir)
	if diags.HasErrors() {
		t.Fatalf("generated tree has errors: %+v", diags.Items[:min(5, len(diags.Items))])
	}
	entries, _ := os.ReadDir(dir)
	var orgDirs []string
	for _, e := range entries {
		if e.IsDir() {
			orgDirs = append(orgDirs, e.Name())
		}
	}
	if len(orgDirs) != len(models) {
		t.Fatalf("%d org dirs, %d models", len(orgDirs), len(models))
	}
	for i, m := range models {
		res := Run(m)
		p, isPlanted := planted[orgDirs[i]]
		if !isPlanted {
			if len(res.Findings) > 0 {
				t.Errorf("%s: unplanted organization has findings:\n%s", orgDirs[i], findingLines(res))
			}
			continue
		}
		found := false
		for _, f := range res.Findings {
			for _, o := range f.Objects {
				if o == p[1] {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("%s: planted %s on %s not found; findings:\n%s", orgDirs[i], p[0], p[1], findingLines(res))
		}
	}
}
