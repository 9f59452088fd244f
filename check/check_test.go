package check

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/model"
)

var update = flag.Bool("update", false, "rewrite the expected findings of testdata/cases")

func loadCase(t *testing.T, extra string) *model.Model {
	t.Helper()
	read := func(p string) model.File {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return model.File{Name: filepath.ToSlash(p), Data: data}
	}
	files := []model.File{read("testdata/base/net.yaml")}
	if extra != "" {
		f := read(extra)
		if !bytes.Contains(f.Data, []byte("\norganization:")) {
			files = append(files, read("testdata/base/org.yaml"))
		}
		files = append(files, f)
	} else {
		files = append(files, read("testdata/base/org.yaml"))
	}
	m, diags := model.LoadFiles(files)
	if m == nil || len(diags.Items) > 0 {
		var b bytes.Buffer
		diags.Write(&b, "ja")
		t.Fatalf("load: %s", b.String())
	}
	return m
}

// findingLines renders findings as stable text for comparison.
func findingLines(res *Result) string {
	var b strings.Builder
	for _, f := range res.Findings {
		fmt.Fprintf(&b, "%s %s %s:%d %s [%s]\n", f.Rule, f.Severity, filepath.Base(f.File), f.Line, f.Message.JA, strings.Join(f.Objects, " "))
	}
	return b.String()
}

func TestBaseIsClean(t *testing.T) {
	res := Run(loadCase(t, ""))
	if len(res.Findings) != 0 {
		t.Fatalf("base model should be clean, got:\n%s", findingLines(res))
	}
	if res.Summary.Terminals != 60 || res.Summary.Flows != 8 {
		t.Errorf("summary = %+v", res.Summary)
	}
	for _, c := range res.Connections {
		if c.Verdict != OK {
			t.Errorf("connection %+v should be OK", c)
		}
	}
	if len(res.ServerPairs) != 1 || len(res.TerminalRows) != 3 {
		t.Errorf("server pairs %d, terminal rows %d; want 1 and 3", len(res.ServerPairs), len(res.TerminalRows))
	}
}

// TestCases runs every testdata/cases file on top of the base model. A
// *.bad.yaml must produce exactly the findings in its .want file, including
// the rules its name starts with; a *.ok.yaml must produce none.
func TestCases(t *testing.T) {
	files, _ := filepath.Glob("testdata/cases/*.yaml")
	if len(files) < 15 {
		t.Fatalf("only %d cases", len(files))
	}
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			res := Run(loadCase(t, file))
			got := findingLines(res)
			if strings.HasSuffix(name, ".ok.yaml") {
				if got != "" {
					t.Fatalf("want no findings, got:\n%s", got)
				}
				return
			}
			// The file name names the rules it exercises: "mn-008-011-..." covers MN-008..MN-011.
			parts := strings.SplitN(name, "-", 4)
			prefix := strings.ToUpper(parts[0]) + "-" + parts[1]
			if !strings.Contains(got, prefix+" ") {
				t.Errorf("expected a %s finding, got:\n%s", prefix, got)
			}
			want := file + ".want"
			if *update {
				if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			exp, err := os.ReadFile(want)
			if err != nil {
				t.Fatalf("%v (run go test ./check -update)", err)
			}
			if got != string(exp) {
				t.Errorf("findings differ from %s\n--- got\n%s--- want\n%s", want, got, exp)
			}
		})
	}
}

func TestEveryRuleExercised(t *testing.T) {
	files, _ := filepath.Glob("testdata/cases/*.bad.yaml.want")
	var all strings.Builder
	for _, f := range files {
		b, _ := os.ReadFile(f)
		all.Write(b)
	}
	for _, r := range Rules {
		if !strings.Contains(all.String(), r.ID+" ") {
			t.Errorf("rule %s is not exercised by any testdata case", r.ID)
		}
	}
}

func TestRulesWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, r := range Rules {
		if seen[r.ID] {
			t.Errorf("duplicate rule %s", r.ID)
		}
		seen[r.ID] = true
		if r.Title.JA == "" || r.Title.EN == "" || r.Remediation.JA == "" || r.Remediation.EN == "" || len(r.Clauses) == 0 {
			t.Errorf("rule %s lacks title, remediation or clauses", r.ID)
		}
	}
}

func TestParseSeverity(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Severity
		err  bool
	}{{"critical", Critical, false}, {"HIGH", High, false}, {"中", Medium, false}, {"info", Info, false}, {"urgent", 0, true}} {
		got, err := ParseSeverity(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseSeverity(%q) = %v, %v", tc.in, got, err)
		}
	}
}

func TestRulesDocInSync(t *testing.T) {
	const path = "../docs/rules.md"
	want := RulesMarkdown()
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != want {
		t.Fatalf("docs/rules.md is out of date: run go test ./check -update")
	}
}

func TestExamplesCheckClean(t *testing.T) {
	for _, dir := range []string{"../examples/kakuu-city", "../examples/small-town"} {
		m, diags := model.Load(dir)
		if m == nil || len(diags.Items) > 0 {
			t.Fatalf("%s does not load cleanly: %+v", dir, diags.Items)
		}
		if res := Run(m); len(res.Findings) > 0 {
			t.Errorf("%s should check clean, got:\n%s", dir, findingLines(res))
		}
	}
}
