package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// runCLI is run with the results in the order the catalog tests read them.
func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	code, stdout, stderr = run(t, args...)
	return stdout, stderr, code
}

func TestCatalogGolden(t *testing.T) {
	tests := []struct {
		golden string
		args   []string
	}{
		{"catalog-show-6.1-14-3.golden", []string{"catalog", "show", "6.1(14)③"}},
		{"catalog-show-fullwidth.golden", []string{"catalog", "show", "６．１（１４）③"}},
		{"catalog-show-beta-en.golden", []string{"--lang=en", "catalog", "show", "3(2)@R2.12"}},
		{"catalog-show-clause-children.golden", []string{"catalog", "show", "8.1(1)"}},
		{"catalog-show-rw-11.golden", []string{"catalog", "show", "RW-11"}},
		{"catalog-show-json.golden", []string{"catalog", "show", "--json", "8.3①(ア)"}},
		{"catalog-list-ransomware.golden", []string{"catalog", "list", "--catalog", "ransomware"}},
		{"catalog-list-alpha-explain.golden", []string{"catalog", "list", "--catalog", "guideline", "--section", "3", "--model", "alpha", "--explain"}},
		{"catalog-list-recommended-en.golden", []string{"--lang=en", "catalog", "list", "--obligation", "recommended"}},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			out, errOut, code := runCLI(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if out != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", path, out)
			}
		})
	}
	// The full-width form finds the same entry as the ASCII form.
	a, _, _ := runCLI(t, "catalog", "show", "6.1(14)③")
	b, _, _ := runCLI(t, "catalog", "show", "６．１（１４）③")
	if a != b {
		t.Error("full-width ID shows a different entry")
	}
}

func TestCatalogJSON(t *testing.T) {
	out, _, code := runCLI(t, "catalog", "list", "--json", "--catalog", "vendor")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) < 10 {
		t.Fatalf("%d vendor entries", len(entries))
	}
	for _, e := range entries {
		for _, k := range []string{"id", "title", "summary", "obligation", "role", "verification"} {
			if _, ok := e[k]; !ok {
				t.Errorf("entry %v lacks %q", e["id"], k)
			}
		}
	}
}

func TestCatalogErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"catalog"}, 2, "サブコマンド"},
		{[]string{"catalog", "frob"}, 2, "不明なサブコマンド"},
		{[]string{"catalog", "show"}, 2, "項目 ID を一つ指定"},
		{[]string{"catalog", "show", "6.1(99)"}, 2, "カタログにありません"},
		{[]string{"catalog", "list", "--model", "gamma"}, 2, "不明なモデル"},
		{[]string{"catalog", "list", "--obligation", "maybe"}, 2, "mandatory または recommended"},
		{[]string{"catalog", "list", "--catalog", "iso"}, 2, "不明なカタログ"},
		{[]string{"catalog", "list", "--feature", "teleport"}, 2, "不明な機能"},
		{[]string{"catalog", "list", "--edition", "R9"}, 2, "不明な版"},
		{[]string{"catalog", "list", "extra"}, 2, "余分な引数"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, errOut, code := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errOut, tt.msg) {
				t.Errorf("exit %d, stderr %q; want exit %d containing %q", code, errOut, tt.code, tt.msg)
			}
		})
	}
}

func TestCatalogListApplicability(t *testing.T) {
	alpha, _, _ := runCLI(t, "catalog", "list", "--model", "alpha", "--feature", "none")
	if strings.Contains(alpha, "3(2)@R2.12") || strings.Contains(alpha, "8.3①(ア)") {
		t.Error("alpha body without social media is shown β or social-media entries")
	}
	if !strings.Contains(alpha, "1(1)①") {
		t.Error("common entry 1(1)① missing for alpha body")
	}
	beta, _, _ := runCLI(t, "catalog", "list", "--model", "beta-prime")
	if !strings.Contains(beta, "3(2)@R2.12") {
		t.Error("beta-prime body is not shown the β/β' measures")
	}
}
