// Package diagtest checks loaders against testdata/*.bad.* files: every
// bad file must be rejected with exactly the diagnostics its golden file
// lists, all from one run (the house rule for inputs that can fail).
package diagtest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/kyojin/kyojin/diag"
)

// BadFiles loads every file matching glob with load; each must be refused
// (nil result, an error among the diagnostics) and its diagnostics, in
// English and sorted (diag.List.Write), must equal the file golden(name).
// With update the golden files are rewritten instead.
func BadFiles[T any](t *testing.T, glob string, golden func(file string) string, update bool, load func(file string) (*T, diag.List)) {
	t.Helper()
	files, err := filepath.Glob(glob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files match %s: %v", glob, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			v, diags := load(f)
			if v != nil || !diags.HasErrors() {
				t.Fatal("bad file accepted")
			}
			var got bytes.Buffer
			diags.Write(&got, "en")
			if update {
				if err := os.WriteFile(golden(f), got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden(f))
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != string(want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got.String(), want)
			}
		})
	}
}
