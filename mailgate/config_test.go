package mailgate

import (
	"strings"
	"testing"

	"github.com/kyojin/kyojin/diag/diagtest"
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
// diagnostics listed in the matching .bad.txt (English, sorted,
// file:line:col).
func TestBadConfigs(t *testing.T) {
	diagtest.BadFiles(t, "testdata/*.bad.yaml", func(f string) string { return strings.TrimSuffix(f, ".yaml") + ".txt" }, false, LoadConfig)
}
