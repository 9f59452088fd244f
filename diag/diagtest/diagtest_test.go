package diagtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/strictyaml"
)

type conf struct {
	Name string `yaml:"name,required"`
}

func load(file string) (*conf, diag.List) {
	var c conf
	var d diag.List
	if !strictyaml.DecodeFile(file, &c, &d) {
		return nil, d
	}
	return &c, d
}

// The helper passes on matching golden files and rewrites them with update.
func TestBadFiles(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.bad.yaml"), []byte("nmae: x\n"), 0o644)
	golden := func(f string) string { return strings.TrimSuffix(f, ".yaml") + ".txt" }
	BadFiles(t, filepath.Join(dir, "*.bad.yaml"), golden, true, load)
	b, err := os.ReadFile(filepath.Join(dir, "a.bad.txt"))
	if err != nil || !strings.Contains(string(b), "a.bad.yaml:1:1") || !strings.Contains(string(b), "nmae") {
		t.Fatalf("golden %q %v", b, err)
	}
	BadFiles(t, filepath.Join(dir, "*.bad.yaml"), golden, false, load)
}
