package mailgate

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExampleConfig(t *testing.T) {
	cfg, diags := LoadConfig("testdata/example.yaml")
	if cfg == nil {
		t.Fatalf("example config: %v", diags.Err())
	}
	if cfg.Downstream.TLS != "starttls" || cfg.Limits.CommandTimeout.D().Minutes() != 5 || cfg.MailsanPolicy().Contact != "情報政策課（内線 1234）" {
		t.Fatalf("decoded %+v", cfg)
	}
}

// TestBadConfigs: every testdata/*.bad.yaml yields exactly the
// diagnostics listed in the matching .bad.txt (English, file:line:col).
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			cfg, diags := LoadConfig(f)
			if cfg != nil {
				t.Fatal("accepted")
			}
			var got []string
			for _, d := range diags.Items {
				got = append(got, d.Format("en"))
			}
			want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".txt")
			if err != nil {
				t.Fatal(err)
			}
			if g := strings.Join(got, "\n") + "\n"; g != string(want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", g, want)
			}
		})
	}
}
