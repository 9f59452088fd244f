package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad configs")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, diags := LoadConfig(f)
			if c != nil {
				t.Fatal("bad config accepted")
			}
			var lines []string
			diags.Sort()
			for _, d := range diags.Items {
				lines = append(lines, d.Format("en"))
			}
			got := strings.Join(lines, "\n") + "\n"
			if *updateGolden {
				os.WriteFile(f+".want", []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(f + ".want")
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got, want)
			}
		})
	}
	if _, diags := LoadConfig("testdata/missing.yaml"); !diags.HasErrors() {
		t.Error("missing file accepted")
	}
}
