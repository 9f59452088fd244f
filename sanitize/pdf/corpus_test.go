package pdf_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/pdf"
)

// sharedData finds the third-party sample folder next to the repository
// (../shared/data from the repo root; ../../shared/data from a worktree).
func sharedData(t testing.TB, sub string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for ; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		if dir == filepath.Dir(dir) {
			t.Skip("repository root not found")
		}
	}
	for _, up := range []string{"..", "../.."} {
		p := filepath.Join(dir, up, "shared", "data", sub)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
	}
	t.Skipf("third-party samples ../shared/data/%s not present; skipping", sub)
	return ""
}

// TestPDFJSCorpus runs the structural sanitizer over pdf.js's test PDFs:
// every file is either blocked/held or comes out with nothing active in it
// by both the inspector and the qpdf check; tracemonkey.pdf (the negative
// control) stays usable.
func TestPDFJSCorpus(t *testing.T) {
	dir := sharedData(t, "cdr/pdfjs")
	files, _ := filepath.Glob(filepath.Join(dir, "*.pdf"))
	if len(files) == 0 {
		t.Skip("no PDFs in " + dir)
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, res, err := run(t, in, nil, sanitize.Limits{Timeout: time.Minute})
			if err != nil {
				t.Logf("blocked: %v (held=%v)", err, errors.Is(err, pdf.ErrEncrypted))
				if name == "tracemonkey.pdf" {
					t.Fatal("the negative control must not be blocked")
				}
				return
			}
			t.Logf("actions: %v", res.Actions)
			if fs := inspect(t, out, false); len(fs) > 0 {
				t.Errorf("inspector finds %v in the output", fs)
			}
			if q := qpdfFindings(t, out, false); len(q) > 0 {
				t.Errorf("qpdf check finds %v in the output", q)
			}
			if orig, got := pageCount(t, in), pageCount(t, out); got != orig {
				t.Errorf("pages %d -> %d", orig, got)
			}
			if name == "tracemonkey.pdf" {
				checkTracemonkey(t, out)
			}
		})
	}
}

func checkTracemonkey(t *testing.T, out []byte) {
	if n := pageCount(t, out); n != -1 && n != 14 {
		t.Errorf("tracemonkey pages = %d, want 14", n)
	}
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Log("pdftotext not installed: text check skipped")
		return
	}
	f := filepath.Join(t.TempDir(), "t.pdf")
	if err := os.WriteFile(f, out, 0o600); err != nil {
		t.Fatal(err)
	}
	txt, err := exec.Command(pdftotext, f, "-").Output()
	if err != nil || !strings.Contains(string(txt), "Trace-based Just-in-Time Type Specialization") {
		t.Errorf("tracemonkey text lost: %v %q", err, bytes.TrimSpace(txt[:min(len(txt), 80)]))
	}
}
