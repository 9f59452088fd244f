package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/clamd/clamdtest"
	"github.com/kyojin/kyojin/sanitize"
)

// testPolicy writes the default policy with clamd off and the quarantine in dir.
func testPolicy(t *testing.T, dir string) string {
	y := string(sanitize.DefaultPolicyYAML())
	y = strings.Replace(y, "enabled: true\n  address", "enabled: false\n  address", 1)
	y = strings.Replace(y, "/var/lib/kyojin/quarantine", filepath.Join(dir, "q"), 1)
	y = strings.Replace(y, "KYOJIN_QUARANTINE_KEY", "KYOJIN_TEST_QKEY", 1)
	p := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KYOJIN_TEST_QKEY", strings.Repeat("ab", 32))
	return p
}

func TestSanitizeCommand(t *testing.T) {
	dir := t.TempDir()
	pol := testPolicy(t, dir)
	in := filepath.Join(dir, "list.csv")
	os.WriteFile(in, []byte("a,b\n=1+1,2\n"), 0o644)
	bad := filepath.Join(dir, "invoice.pdf.exe")
	os.WriteFile(bad, []byte("x"), 0o644)
	outDir := filepath.Join(dir, "out")

	code, stdout, stderr := run(t, "sanitize", in, "-o", outDir, "--policy", pol)
	if code != 0 || !strings.Contains(stdout, "無害化済み (SANITIZED)") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(outDir, "list.csv")); string(b) != "a,b\n'=1+1,2\n" {
		t.Errorf("output %q", b)
	}
	code, stdout, _ = run(t, "sanitize", "--json", "-o", outDir, "--policy", pol, in, bad)
	if code != 1 {
		t.Errorf("exit %d with a blocked file, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("json lines: %q", stdout)
	}
	var rec sanitize.Record
	if err := json.Unmarshal([]byte(lines[1]), &rec); err != nil || rec.Verdict != sanitize.VerdictBlocked || rec.Quarantine == "" ||
		!strings.Contains(rec.Reason, "double_extension") {
		t.Errorf("record %+v %v", rec, err)
	}
	if _, err := os.Stat(filepath.Join(outDir, "list-2.csv")); err != nil {
		t.Errorf("second delivery did not get a fresh name: %v", err)
	}

	// The quarantine holds both originals; release needs a reason.
	code, stdout, _ = run(t, "quarantine", "list", "--policy", pol)
	if code != 0 || strings.Count(stdout, "\n") != 3 {
		t.Fatalf("list: exit %d\n%s", code, stdout)
	}
	ref := rec.Quarantine
	dest := filepath.Join(dir, "released.exe")
	if code, _, stderr := run(t, "quarantine", "release", ref, "-o", dest, "--policy", pol); code != 2 || !strings.Contains(stderr, "--reason") {
		t.Errorf("release without reason: exit %d %s", code, stderr)
	}
	data := filepath.Join(dir, "console-data")
	if code, _, stderr := run(t, "quarantine", "release", ref, "-o", dest, "--reason", "CSIRT 調査", "--policy", pol, "--data", data); code != 0 {
		t.Fatalf("release: exit %d %s", code, stderr)
	}
	// The release is in the console's hash-chained audit log, and the chain verifies.
	code, auditOut, _ := run(t, "audit", "export", "--format", "json", "--data", data)
	if code != 0 || !strings.Contains(auditOut, "quarantine.release") || !strings.Contains(auditOut, "CSIRT 調査") || !strings.Contains(auditOut, ref) {
		t.Errorf("audit export: exit %d\n%s", code, auditOut)
	}
	if code, _, stderr := run(t, "audit", "verify", "--data", data); code != 0 {
		t.Errorf("audit verify: exit %d %s", code, stderr)
	}
	if b, _ := os.ReadFile(dest); string(b) != "x" {
		t.Errorf("released %q", b)
	}
	if log, _ := os.ReadFile(filepath.Join(dir, "q", "release.log")); !strings.Contains(string(log), "CSIRT 調査") {
		t.Errorf("release log %q", log)
	}
	if code, stdout, _ := run(t, "quarantine", "purge", "--all", "--policy", pol); code != 0 || !strings.Contains(stdout, "3") {
		t.Errorf("purge: %d %s", code, stdout)
	}
}

func TestSanitizeUsage(t *testing.T) {
	if code, _, _ := run(t, "sanitize", "a.txt"); code != 2 {
		t.Errorf("missing -o: exit %d", code)
	}
	dir := t.TempDir()
	badPol := filepath.Join(dir, "bad.yaml")
	os.WriteFile(badPol, []byte("name: x\nversion: 1\ndefault: allow\nbogus: 1\n"), 0o644)
	code, _, stderr := run(t, "sanitize", "policy-check", badPol)
	if code != 2 || !strings.Contains(stderr, "bad.yaml:4:1") || !strings.Contains(stderr, "bad.yaml:3") {
		t.Errorf("policy-check: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := run(t, "sanitize", "policy-default")
	if code != 0 || !strings.Contains(stdout, "name: kyojin-default") {
		t.Errorf("policy-default: %d", code)
	}
}

func TestSanitizeWithRealClamd(t *testing.T) {
	addr := clamdtest.Start(t)
	dir := t.TempDir()
	y := strings.Replace(string(sanitize.DefaultPolicyYAML()), "enabled: true\n  dir", "enabled: false\n  dir", 1)
	pol := filepath.Join(dir, "p.yaml")
	os.WriteFile(pol, []byte(y), 0o644)
	eicar := filepath.Join(dir, "readme.txt")
	os.WriteFile(eicar, clamdtest.EICAR(), 0o644)
	clean := filepath.Join(dir, "memo.txt")
	os.WriteFile(clean, []byte("メモ\n"), 0o644)
	code, stdout, stderr := run(t, "sanitize", "--policy", pol, "--clamd", addr, "-o", filepath.Join(dir, "out"), clean, eicar)
	if code != 1 || !strings.Contains(stdout, "ウイルスが検出されました") || !strings.Contains(stdout, "memo.txt: 問題なし") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "readme.txt")); err == nil {
		t.Error("infected file delivered")
	}
}
