package model_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kyojin/kyojin/model"
)

func TestLoadSetOrderAndFailures(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad, err := os.ReadFile(filepath.Join("testdata", "dangling-zone.bad.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	write := func(rel string, data []byte) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Names chosen so that creation order differs from lexical order.
	write("c-village/model.yaml", good)
	write("a-town/model.yml", good)
	write("b-city/model.yaml", bad)
	write("d-notes/README.txt", []byte("not a model"))
	write("e-nested/2025/model.yaml", good)
	write(".hidden/model.yaml", bad)
	write("top-level.yaml", bad) // files directly in the set directory are not organizations

	models, diags := model.LoadSet(root)
	if len(models) != 4 {
		t.Fatalf("%d models, want 4 (a, b, c, e)", len(models))
	}
	for i, want := range []bool{true, false, true, true} {
		if (models[i] != nil) != want {
			t.Errorf("models[%d] loaded = %v, want %v", i, models[i] != nil, want)
		}
	}
	if models[0] != nil && filepath.Base(models[0].Root) != "a-town" {
		t.Errorf("models[0] is %s, want a-town", models[0].Root)
	}
	if models[3] != nil && filepath.Base(models[3].Root) != "e-nested" {
		t.Errorf("models[3] is %s, want e-nested", models[3].Root)
	}
	if n, _ := diags.Count(); n != 1 {
		t.Fatalf("%d errors, want exactly the one of b-city:\n%s", n, formatDiags(diags))
	}
	if d := diags.Items[0]; d.Code != "dangling-reference" || filepath.Base(filepath.Dir(d.File)) != "b-city" {
		t.Errorf("unexpected diagnostic %+v", d)
	}
}

func TestLoadSetEmpty(t *testing.T) {
	models, diags := model.LoadSet(t.TempDir())
	if models != nil || !diags.HasErrors() || diags.Items[0].Code != "empty-set" {
		t.Fatalf("empty set: models %v, diags %+v", models, diags.Items)
	}
	models, diags = model.LoadSet(filepath.Join(t.TempDir(), "missing"))
	if models != nil || !diags.HasErrors() || diags.Items[0].Code != "read" {
		t.Fatalf("missing dir: models %v, diags %+v", models, diags.Items)
	}
}
