package sanitize_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/sanitize"
)

var update = flag.Bool("update", false, "rewrite testdata/*.bad.txt from the current output")

func TestDefaultPolicy(t *testing.T) {
	p := sanitize.DefaultPolicy()
	if p.Default != sanitize.ActionBlock || p.Rule("exe-like-unknown").Action != sanitize.ActionBlock {
		t.Error("default is not block")
	}
	if !p.Clamd.Enabled || !p.Clamd.Required {
		t.Error("clamd is not required (fail closed) by default")
	}
	for _, i := range []sanitize.NameIssue{sanitize.IssueExtensionMismatch, sanitize.IssueMIMEMismatch, sanitize.IssueDoubleExtension,
		sanitize.IssueBidiControl, sanitize.IssueNoExtension, sanitize.IssuePolyglot} {
		if p.NameRule(i) != sanitize.ActionBlock {
			t.Errorf("name rule %s is not block", i)
		}
	}
	if p.Rule(sanitize.TypeEncryptedOffice).Action != sanitize.ActionHold {
		t.Error("encrypted Office is not held")
	}
	if p.Types[sanitize.TypePDF].Options["fallback"] != "raster" {
		t.Error("pdf options not decoded")
	}
}

// TestBadPolicies checks that every problem in a file is reported with its
// position and hint; testdata/NAME.bad.txt holds the expected diagnostics.
func TestBadPolicies(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, _ := os.ReadFile(f)
			_, err := sanitize.ParsePolicy(filepath.Base(f), b)
			var le *diag.ListError
			if !errors.As(err, &le) {
				t.Fatalf("error %v is not a diagnostic list", err)
			}
			var got bytes.Buffer
			le.List.Write(&got, "en")
			want := strings.TrimSuffix(f, ".yaml") + ".txt"
			if *update {
				os.WriteFile(want, got.Bytes(), 0o644)
			}
			exp, _ := os.ReadFile(want)
			if got.String() != string(exp) {
				t.Errorf("diagnostics:\n%s\nwant:\n%s", got.String(), exp)
			}
		})
	}
}

func TestPolicyOptionsScalars(t *testing.T) {
	y := strings.Replace(string(sanitize.DefaultPolicyYAML()), `keep_uri_actions: "false"`, "keep_uri_actions: true", 1)
	p, err := sanitize.ParsePolicy("p.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	if p.Types[sanitize.TypePDF].Options["keep_uri_actions"] != "true" {
		t.Errorf("options = %v", p.Types[sanitize.TypePDF].Options)
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add(sanitize.DefaultPolicyYAML())
	for _, n := range []string{"unknown-field", "values", "type"} {
		b, _ := os.ReadFile("testdata/" + n + ".bad.yaml")
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := sanitize.ParsePolicy("fuzz.yaml", b)
		if err == nil && (p.Limits.Timeout <= 0 || p.Limits.MaxInputBytes <= 0) {
			t.Fatal("accepted a policy without limits")
		}
	})
}
