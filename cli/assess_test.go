package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	kakuu   = "../examples/kakuu-city"
	kakuuR7 = "../examples/kakuu-city-assessment/r7.yaml"
	kakuuR8 = "../examples/kakuu-city-assessment/r8.yaml"
)

func TestAssessFormats(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{"txt", "json", "html", "xlsx"} {
		out := filepath.Join(dir, "r."+ext)
		code, _, errOut := run(t, "assess", "--model", kakuu, kakuuR8, "--previous", kakuuR7, "--now", "2026-11-22", "-o", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", ext, code, errOut)
		}
		if st, err := os.Stat(out); err != nil || st.Size() == 0 {
			t.Errorf("%s: no output", ext)
		}
	}
	code, out, _ := run(t, "assess", "--model", kakuu, kakuuR8, "--previous", kakuuR7, "--now", "2026-11-22")
	for _, want := range []string{"令和8年度", "【期限超過 145日】【前年度から継続】CA-R7-02", "EX-R8-01", "AF-R8-01"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("text report lacks %q (exit %d)", want, code)
		}
	}
	// The previous year must be earlier.
	if code, _, _ := run(t, "assess", "--model", kakuu, kakuuR7, "--previous", kakuuR8); code != 2 {
		t.Errorf("previous later than current: exit %d, want 2", code)
	}
	// A file for another body is refused.
	if code, _, errOut := run(t, "assess", "--model", "../examples/small-town", kakuuR8); code != 2 || !strings.Contains(errOut, "一致しません") {
		t.Errorf("other body: exit %d %s", code, errOut)
	}
}

func TestAssessWorkbooksCLI(t *testing.T) {
	dir := t.TempDir()
	wb := filepath.Join(dir, "wb")
	code, _, errOut := run(t, "assess", "export-workbooks", "--model", "../examples/small-town", "--out", wb, "--year", "2026")
	if code != 0 {
		t.Fatalf("export: %d %s", code, errOut)
	}
	into := filepath.Join(dir, "r8.yaml")
	code, _, errOut = run(t, "assess", "import-workbooks", wb, "--model", "../examples/small-town", "--into", into)
	if code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	data, err := os.ReadFile(into)
	if err != nil || !strings.Contains(string(data), "fiscal_year: 2026") {
		t.Fatalf("imported file: %v %s", err, data)
	}
	// A broken workbook: exit 2, the target file is left as it was.
	os.WriteFile(filepath.Join(wb, "broken.xlsx"), []byte("not a zip"), 0o644)
	code, _, errOut = run(t, "assess", "import-workbooks", wb, "--model", "../examples/small-town", "--into", into)
	after, _ := os.ReadFile(into)
	if code != 2 || !strings.Contains(errOut, "broken.xlsx") || string(after) != string(data) {
		t.Errorf("broken import: exit %d, file changed %v\n%s", code, string(after) != string(data), errOut)
	}
}

func TestPolicyCLI(t *testing.T) {
	dir := t.TempDir()
	code, _, errOut := run(t, "policy", "--model", kakuu, "--options", "../examples/kakuu-city-assessment/policy.yaml", "--out", dir, "--format", "docx,html")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, name := range []string{"kihon-houshin.docx", "kihon-houshin.html", "taisaku-kijun.docx", "taisaku-kijun.html"} {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Size() < 1000 {
			t.Errorf("%s missing or empty", name)
		}
	}
	if code, _, _ := run(t, "policy", "--model", kakuu, "--out", dir, "--format", "odt"); code != 2 {
		t.Errorf("unknown format: exit %d", code)
	}
}

func TestOSCALExports(t *testing.T) {
	dir := t.TempDir()
	catOut, arOut := filepath.Join(dir, "catalog.json"), filepath.Join(dir, "ar.json")
	if code, _, errOut := run(t, "catalog", "export-oscal", "-o", catOut); code != 0 {
		t.Fatalf("catalog export-oscal: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "assess", "export-oscal", "--model", kakuu, kakuuR8, "--previous", kakuuR7, "--now", "2026-11-22", "-o", arOut); code != 0 {
		t.Fatalf("assess export-oscal: %d %s", code, errOut)
	}
	c, _ := os.ReadFile(catOut)
	a, _ := os.ReadFile(arOut)
	if !strings.Contains(string(c), `"oscal-version": "1.1.2"`) || !strings.Contains(string(a), `"assessment-results"`) || !strings.Contains(string(a), `"target-id": "gl-6.5-2"`) {
		t.Error("exports lack the expected OSCAL fields")
	}
}
