package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/model/modelgen"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv("KYOJIN_LANG", "") // messages in the default language, whatever the caller's environment
	var out, errb bytes.Buffer
	code = Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestHelpForEveryCommand(t *testing.T) {
	for name, c := range registry {
		code, out, _ := run(t, "help", name)
		if code != 0 || !strings.Contains(out, "kyojin "+name) || !strings.Contains(out, c.Short) {
			t.Errorf("help %s: code %d, output %q", name, code, out)
		}
	}
	if code, _, _ := run(t, "nosuch"); code != 2 {
		t.Errorf("unknown command exit %d, want 2", code)
	}
	if code, out, _ := run(t, "version"); code != 0 || !strings.HasPrefix(out, "kyojin ") {
		t.Errorf("version: %d %q", code, out)
	}
}

const base = "../check/testdata/base"

func TestValidate(t *testing.T) {
	code, out, _ := run(t, "validate", base)
	if code != 0 || !strings.Contains(out, "問題なし") {
		t.Fatalf("validate base: %d %q", code, out)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "m.yaml")
	os.WriteFile(bad, []byte("apiVersion: kyojin/v1\nkind: Model\nzones:\n  - {id: a, type: lgwan, colour: red}\n"), 0o644)
	code, _, errOut := run(t, "validate", bad)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	for _, want := range []string{`m.yaml:4:26: エラー: zones[0].colour: 未知のフィールド "colour" です`, "organization がどのファイルにもありません"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("missing %q in\n%s", want, errOut)
		}
	}
	code, _, errOut = run(t, "--lang=en", "validate", bad)
	if code != 2 || !strings.Contains(errOut, `unknown field "colour"`) {
		t.Errorf("english: %d %s", code, errOut)
	}
}

func TestCheckFormatsAndFailOn(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{"txt", "json", "md", "html", "xlsx"} {
		out := filepath.Join(dir, "r."+ext)
		// Flags after the path must work too (README's main command).
		code, _, errOut := run(t, "check", base, "-o", out)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", ext, code, errOut)
		}
		st, err := os.Stat(out)
		if err != nil || st.Size() == 0 {
			t.Fatalf("%s: no output: %v", ext, err)
		}
	}
	// A case with a critical finding fails with --fail-on high, passes with none.
	m := t.TempDir()
	for _, f := range []string{"net.yaml", "org.yaml"} {
		b, _ := os.ReadFile(filepath.Join(base, f))
		os.WriteFile(filepath.Join(m, f), b, 0o644)
	}
	b, _ := os.ReadFile("../check/testdata/cases/lg-002-internet.bad.yaml")
	os.WriteFile(filepath.Join(m, "extra.yaml"), b, 0o644)
	code, out, _ := run(t, "check", "--fail-on", "high", m)
	if code != 1 || !strings.Contains(out, "LG-002") {
		t.Errorf("fail-on high: exit %d\n%s", code, out)
	}
	if code, _, _ := run(t, "check", m); code != 0 {
		t.Errorf("without --fail-on: exit %d", code)
	}
	if code, _, _ := run(t, "check", "--fail-on", "severe", m); code != 2 {
		t.Errorf("bad --fail-on: exit %d", code)
	}
	if code, _, _ := run(t, "check", m, "-o", filepath.Join(dir, "r.pdf")); code != 2 {
		t.Errorf("unknown extension: exit %d", code)
	}
}

func TestCheckPrefectureSet(t *testing.T) {
	dir := t.TempDir()
	if err := modelgen.Generate(dir, modelgen.Options{Seed: 5, Organizations: 4, Hosts: 160, Flows: 400, Issues: 1}); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := run(t, "check", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 5 || !strings.HasPrefix(lines[0], "ディレクトリ") {
		t.Fatalf("want a header and 4 rows, got:\n%s", out)
	}
	// One body has a planted critical or high finding.
	if code, _, _ := run(t, "check", "--fail-on", "high", dir); code != 1 {
		t.Errorf("--fail-on high over the set: exit %d, want 1", code)
	}
	code, out, _ = run(t, "check", "--format", "json", dir)
	if code != 0 || !strings.Contains(out, `"organization"`) || !strings.Contains(out, `"findings"`) {
		t.Errorf("json: %d\n%.300s", code, out)
	}
	if code, _, _ := run(t, "check", "-o", filepath.Join(t.TempDir(), "r.html"), dir); code != 2 {
		t.Errorf("html for a set: exit %d, want 2", code)
	}
}
