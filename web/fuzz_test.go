package web

import (
	"os"
	"path/filepath"
	"testing"
)

// Configuration files are operator input; whatever they hold, loading them
// reports diagnostics and never panics.
func FuzzLoadConfig(f *testing.F) {
	for _, name := range []string{"ok.yaml", "config.bad.yaml", "semantic.bad.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("session: {ttl: -1h}\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "c.yaml")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, diags := LoadConfig(p)
		if c == nil && !diags.HasErrors() {
			t.Fatal("config rejected without an error")
		}
		if c != nil && diags.HasErrors() {
			t.Fatal("config accepted despite errors")
		}
	})
}
