package modelgen_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/model/modelgen"
)

func loadAll(t *testing.T, dir string, opts modelgen.Options) []*model.Model {
	t.Helper()
	models, diags := model.LoadSet(dir)
	if len(diags.Items) > 0 {
		var b strings.Builder
		diags.Write(&b, "ja")
		t.Fatalf("%d diagnostics, want none:\n%.4000s", len(diags.Items), b.String())
	}
	if len(models) != opts.Organizations {
		t.Fatalf("%d organizations, want %d", len(models), opts.Organizations)
	}
	hosts, flows := 0, 0
	codes := map[model.LGCode]bool{}
	for i, m := range models {
		if m == nil {
			t.Fatalf("organization %d did not load", i)
		}
		hosts += len(m.Hosts)
		flows += len(m.Flows)
		if codes[m.Org.Code] {
			t.Errorf("duplicate code %s", m.Org.Code)
		}
		codes[m.Org.Code] = true
		if len(m.Files) < 8 {
			t.Errorf("%s: %d files, want the model split over several", m.Root, len(m.Files))
		}
	}
	if hosts != opts.Hosts || flows != opts.Flows {
		t.Errorf("%d hosts and %d flows, want exactly %d and %d", hosts, flows, opts.Hosts, opts.Flows)
	}
	return models
}

func TestGeneratedPrefectureLoadsClean(t *testing.T) {
	opts := modelgen.Options{Seed: 7, Organizations: 24, Hosts: 2400, Flows: 9600}
	dir := t.TempDir()
	if err := modelgen.Generate(dir, opts); err != nil {
		t.Fatal(err)
	}
	models := loadAll(t, dir, opts)
	kinds := map[model.OrgKind]int{}
	nets := map[model.NetworkModel]int{}
	for _, m := range models {
		kinds[m.Org.Kind]++
		nets[m.Org.NetworkModel]++
	}
	if kinds["prefecture"] != 1 || kinds["city"] == 0 || kinds["town"] == 0 || kinds["village"] == 0 || kinds["association"] == 0 {
		t.Errorf("kinds %v: want one prefecture and some of every other kind", kinds)
	}
	if len(nets) < 3 {
		t.Errorf("network models %v: want a mix", nets)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "planted-issues.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(manifest)), "\n")[1:]
	if len(lines) != modelgen.DefaultIssues {
		t.Fatalf("%d planted issues, want %d:\n%s", len(lines), modelgen.DefaultIssues, manifest)
	}
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if len(f) != 3 || f[1] != modelgen.IssueKinds[i] {
			t.Errorf("manifest line %q: want issue %s", l, modelgen.IssueKinds[i])
		}
	}
}

// The full scale of issue 2 §5: 200 organizations, 50,000 hosts, 200,000 flows.
func TestGeneratedPrefectureFullScale(t *testing.T) {
	if testing.Short() {
		t.Skip("full-scale prefecture skipped in -short mode")
	}
	opts := modelgen.Options{Seed: 1, Organizations: modelgen.DefaultOrganizations, Hosts: modelgen.DefaultHosts, Flows: modelgen.DefaultFlows}
	dir := t.TempDir()
	if err := modelgen.Generate(dir, modelgen.Options{}); err != nil { // zero options are the defaults
		t.Fatal(err)
	}
	loadAll(t, dir, opts)
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGenerateDeterministic(t *testing.T) {
	opts := modelgen.Options{Seed: 42, Organizations: 12, Hosts: 1200, Flows: 4800}
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, d := range []string{a, b} {
		if err := modelgen.Generate(d, opts); err != nil {
			t.Fatal(err)
		}
	}
	opts.Seed = 43
	if err := modelgen.Generate(c, opts); err != nil {
		t.Fatal(err)
	}
	ta, tb, tc := readTree(t, a), readTree(t, b), readTree(t, c)
	if len(ta) != len(tb) || len(ta) < 12*8 {
		t.Fatalf("%d and %d files", len(ta), len(tb))
	}
	differ := 0
	for name, data := range ta {
		if !bytes.Equal(data, tb[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
		if !bytes.Equal(data, tc[name]) {
			differ++
		}
	}
	if differ == 0 {
		t.Error("a different seed produced the same tree")
	}
}

func TestGenerateRejectsImpossibleSizes(t *testing.T) {
	for _, o := range []modelgen.Options{
		{Organizations: 10, Hosts: 100},
		{Organizations: 10, Hosts: 1000, Flows: 100},
		{Organizations: 4, Hosts: 1000, Flows: 4000, Issues: 5},
		{Organizations: 1000},
	} {
		if err := modelgen.Generate(t.TempDir(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
