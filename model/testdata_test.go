package model_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
)

var update = flag.Bool("update", false, "rewrite the expected diagnostics of testdata/*.bad.yaml")

func formatDiags(d diag.List) string {
	var b strings.Builder
	d.Write(&b, "ja")
	return b.String()
}

// The minimal model is the base every *.bad.yaml variant breaks in one way.
func TestMinimalLoadsClean(t *testing.T) {
	m, d := model.Load(filepath.Join("testdata", "minimal.yaml"))
	if m == nil || len(d.Items) > 0 {
		t.Fatalf("minimal model: %d diagnostics:\n%s", len(d.Items), formatDiags(d))
	}
}

// Each testdata/X.bad.yaml holds one defect (many-errors holds several);
// X.bad.yaml.err holds the exact diagnostics, in Japanese, one per line.
// Refresh with: go test ./model -run TestBadModels -update
func TestBadModels(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.bad.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.bad.yaml (%v)", err)
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".bad.yaml"), func(t *testing.T) {
			m, d := model.Load(f)
			if len(d.Items) == 0 {
				t.Fatal("no diagnostics for a broken model")
			}
			if d.HasErrors() != (m == nil) {
				t.Errorf("model nil = %v but errors = %v", m == nil, d.HasErrors())
			}
			got := formatDiags(d)
			golden := f + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("diagnostics differ from %s\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

// Every problem in a file is reported in one run: decoding errors do not
// stop validation, and validation does not stop at the first error.
func TestAllErrorsReportedInOneRun(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "many-errors.bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	m, d := model.LoadFiles([]model.File{{Name: "many.yaml", Data: data}})
	if m != nil {
		t.Error("model returned despite errors")
	}
	codes := map[string]int{}
	for _, it := range d.Items {
		codes[it.Code]++
	}
	// unknown field, wrong type, check digit, legacy "3", dangling person,
	// dangling via, overlapping subnets: seven defects, seven diagnostics.
	for code, n := range map[string]int{"unknown-field": 1, "value": 1, "type": 1, "legacy-confidentiality": 1, "dangling-reference": 2, "subnet-overlap": 1} {
		if codes[code] != n {
			t.Errorf("code %s reported %d times, want %d (all: %v)", code, codes[code], n, codes)
		}
	}
	if e, w := d.Count(); e != 6 || w != 1 {
		t.Errorf("%d errors and %d warnings, want 6 and 1:\n%s", e, w, formatDiags(d))
	}
	for _, it := range d.Items {
		if it.File != "many.yaml" || it.Line == 0 || it.Col == 0 {
			t.Errorf("diagnostic without position: %+v", it)
		}
	}
}

// FuzzLoad: the loader never panics, and a nil model always comes with an
// error diagnostic.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(""))
	f.Add([]byte("apiVersion: kyojin/v1\nkind: Model\nflows: [{from: a, to: b}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, d := model.LoadFiles([]model.File{{Name: "fuzz.yaml", Data: data}})
		if m == nil && !d.HasErrors() {
			t.Fatalf("nil model without an error diagnostic for %q", data)
		}
		if m != nil && d.HasErrors() {
			t.Fatalf("model returned with errors for %q", data)
		}
		for _, it := range d.Items {
			if it.Msg.JA == "" || it.Msg.EN == "" {
				t.Fatalf("diagnostic without bilingual message: %+v", it)
			}
		}
	})
}
