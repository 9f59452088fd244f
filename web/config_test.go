package web

import (
	"testing"
	"time"

	"github.com/kyojin/kyojin/diag/diagtest"
)

func TestLoadConfigOK(t *testing.T) {
	c, diags := LoadConfig("testdata/ok.yaml")
	if c == nil {
		t.Fatalf("ok.yaml rejected: %v", diags.Err())
	}
	if c.Listen != ":8443" || c.Session.Idle.Duration != 30*time.Minute || c.Lockout.LockFor.Duration != 15*time.Minute || c.WebAuthn.RPID != "kyojin.example.lg.jp" ||
		c.Assessment != "/etc/kyojin/assessment/r8.yaml" || c.AssessmentPrevious != "/etc/kyojin/assessment/r7.yaml" ||
		c.Activity.SanitizeAudit != "/var/log/kyojin/sanitize.jsonl" || c.Activity.MailgateAudit != "/var/log/kyojin/mailgate.jsonl" {
		t.Errorf("decoded %+v", c)
	}
}

// Each testdata/*.bad.yaml lists, in its .want file, every diagnostic
// expected; all of them must come out of one run.
func TestLoadConfigBad(t *testing.T) {
	diagtest.BadFiles(t, "testdata/*.bad.yaml", func(f string) string { return f + ".want" }, *updateGolden, LoadConfig)
	if _, diags := LoadConfig("testdata/missing.yaml"); !diags.HasErrors() {
		t.Error("missing file accepted")
	}
}
