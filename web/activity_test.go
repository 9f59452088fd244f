package web

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/mailgate"
	"github.com/kyojin/kyojin/mailgate/mailsan"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/store"
)

// writeLines writes JSON-lines records (values are marshalled; strings are
// written as is, for malformed lines).
func writeLines(t *testing.T, path string, recs ...any) {
	t.Helper()
	var b bytes.Buffer
	for _, r := range recs {
		if s, ok := r.(string); ok {
			b.WriteString(s + "\n")
			continue
		}
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(append(line, '\n'))
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestActivityOnDashboard(t *testing.T) {
	dir := t.TempDir()
	san, mail := filepath.Join(dir, "sanitize.jsonl"), filepath.Join(dir, "mailgate.jsonl")
	e := newEnv(t, func(o *Options) { o.Activity = ActivitySources{SanitizeAudit: san, MailgateAudit: mail} })
	now := e.now()
	// The records are the real types the writers marshal, so a change of
	// their JSON shape breaks this test.
	writeLines(t, san,
		sanitize.Record{Start: now.Add(-time.Hour), Name: "report.docx", Detected: "docx", Verdict: sanitize.VerdictSanitized},
		sanitize.Record{Start: now.Add(-2 * time.Hour), Name: "memo.pdf", Verdict: sanitize.VerdictClean},
		sanitize.Record{Start: now.Add(-3 * 24 * time.Hour), Name: "<script>alert(1)</script>.exe", Verdict: sanitize.VerdictBlocked, ReasonCode: "type-not-allowed"},
		sanitize.Record{Start: now.Add(-30 * time.Minute), Name: "secret.zip", Verdict: sanitize.VerdictHeld, ReasonCode: "encrypted"},
		sanitize.Record{Start: now.Add(-10 * 24 * time.Hour), Name: "old.exe", Verdict: sanitize.VerdictBlocked},
		"{not json",
		`{"verdict": 42}`,
		"\x00\xff binary garbage",
		`{"start":"2026-01-01T00:00:00Z","name":"x"}`, // no verdict
		strings.Repeat("a", maxActivityLine+10),
	)
	writeLines(t, mail,
		mailgate.AuditRecord{Time: now.Add(-time.Hour), Event: "delivered", From: "a@example.jp"},
		mailgate.AuditRecord{Time: now.Add(-2 * time.Hour), Event: "received", From: "b@example.jp",
			Parts: []*mailsan.Part{{Name: "invoice.js", Action: "removed", Verdict: sanitize.VerdictBlocked, Reason: "type"}}},
		mailgate.AuditRecord{Time: now.Add(-5 * 24 * time.Hour), Event: "rejected", From: "spam@evil.example", Reason: "dmarc"},
		"[]",
	)
	e.user("ciso", true, store.Grant{Role: "ciso"})
	e.user("staff", false, store.Grant{Role: "staff"})
	b := e.browser()
	b.login("ciso")
	code, body := b.get("/")
	if code != 200 {
		t.Fatalf("dashboard: %d", code)
	}
	for _, want := range []string{
		"<tr><td>SANITIZED</td><td>1</td><td>1</td></tr>",
		"<tr><td>CLEAN</td><td>1</td><td>1</td></tr>",
		"<tr><td>BLOCKED</td><td>0</td><td>1</td></tr>", // the 10-day-old one is outside the week
		"<tr><td>HELD</td><td>1</td><td>1</td></tr>",
		"&lt;script&gt;alert(1)&lt;/script&gt;.exe",
		`読み取れない行: <span class="malformed">5</span>`,
		"<tr><td>delivered</td><td>1</td><td>1</td></tr>",
		"<tr><td>rejected</td><td>0</td><td>1</td></tr>",
		"spam@evil.example", "removed invoice.js",
		`読み取れない行: <span class="malformed">1</span>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "old.exe") {
		t.Error("unescaped name or out-of-window record shown")
	}
	// Newest blocked first: the held archive before the blocked program.
	if i, j := strings.Index(body, "secret.zip"), strings.Index(body, "alert(1)"); i < 0 || j < i {
		t.Errorf("blocked items not newest first (%d, %d)", i, j)
	}
	// New lines appear without a restart.
	f, _ := os.OpenFile(san, os.O_APPEND|os.O_WRONLY, 0)
	line, _ := json.Marshal(sanitize.Record{Start: now, Name: "new.pdf", Verdict: sanitize.VerdictFailed})
	f.Write(append(line, '\n'))
	f.Close()
	if _, body = b.get("/"); !strings.Contains(body, "<tr><td>FAILED</td><td>1</td><td>1</td></tr>") {
		t.Error("appended record not shown")
	}
	// Roles without activity.view do not see it.
	sb := e.browser()
	sb.login("staff")
	if _, body := sb.get("/"); strings.Contains(body, "activity-san") || auth.RoleHas(auth.RoleStaff, auth.PermActivityView) {
		t.Error("staff sees the activity")
	}
}

func TestActivityUnreadableAndMissing(t *testing.T) {
	dir := t.TempDir()
	e := newEnv(t, func(o *Options) {
		o.Activity = ActivitySources{SanitizeAudit: dir, MailgateAudit: filepath.Join(dir, "not-yet.jsonl")}
	})
	e.user("ciso", true, store.Grant{Role: "ciso"})
	b := e.browser()
	b.login("ciso")
	code, body := b.get("/")
	if code != 200 || !strings.Contains(body, "記録ファイルを読み込めません") || !strings.Contains(body, "直近 7 日の記録はありません") {
		t.Errorf("dashboard with a directory as audit file: %d", code)
	}
	if strings.Contains(body, dir) {
		t.Error("the path leaks to the page")
	}
}

func TestReadActivityTail(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	line, _ := json.Marshal(sanitize.Record{Start: now, Name: "f", Verdict: sanitize.VerdictClean})
	for b.Len() < activityTail+int(len(line))*3 {
		b.Write(append(line, '\n'))
	}
	items, bad, trunc, err := readActivity(bytes.NewReader(b.Bytes()), int64(b.Len()), parseSanitize)
	if err != nil || !trunc || bad != 0 {
		t.Fatalf("tail: %v truncated=%v malformed=%d", err, trunc, bad)
	}
	if want := activityTail/(len(line)+1) - 1; len(items) < want {
		t.Errorf("%d items from the tail, want at least %d", len(items), want)
	}
}

// The audit files are written by other processes: no input crashes the
// reader, and every line is either decoded or counted.
func FuzzReadActivity(f *testing.F) {
	rec, _ := json.Marshal(sanitize.Record{Start: time.Now(), Name: "a", Verdict: sanitize.VerdictBlocked})
	mrec, _ := json.Marshal(mailgate.AuditRecord{Time: time.Now(), Event: "rejected"})
	f.Add(append(rec, '\n'))
	f.Add(append(mrec, []byte("\n{bad\n\n")...))
	f.Add([]byte(`{"start":"x","verdict":"CLEAN"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, p := range []func([]byte) (activityItem, bool){parseSanitize, parseMail} {
			items, bad, _, err := readActivity(bytes.NewReader(data), int64(len(data)), p)
			if err != nil {
				t.Fatal(err)
			}
			if lines := bytes.Count(data, []byte("\n")) + 1; len(items)+bad > lines {
				t.Fatalf("%d items + %d malformed from %d lines", len(items), bad, lines)
			}
			summarize(items, time.Now())
		}
	})
}

// Appends are read incrementally, a line being written is not a record
// until its newline arrives, and a rotated file is read from the start.
func TestActivityFileIncremental(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "s.jsonl")
	rec := func(name string, v sanitize.Verdict) string {
		b, _ := json.Marshal(sanitize.Record{Start: now.Add(-time.Minute), Name: name, Verdict: v})
		return string(b)
	}
	appendTo := func(s string) {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(s)
		f.Close()
	}
	f := &activityFile{path: path, parse: parseSanitize}
	week := func() (n, bad int) {
		t.Helper()
		s, err := f.summary(now)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range s.Counts {
			n += c.Week
		}
		return n, s.Malformed
	}
	appendTo(rec("a", sanitize.VerdictClean) + "\n")
	if n, bad := week(); n != 1 || bad != 0 {
		t.Fatalf("first read: %d records, %d malformed", n, bad)
	}
	line := rec("b", sanitize.VerdictBlocked)
	appendTo(line[:20]) // half a line
	if n, bad := week(); n != 1 || bad != 0 {
		t.Errorf("with a partial line: %d records, %d malformed", n, bad)
	}
	appendTo(line[20:] + "\n" + "garbage\n")
	if n, bad := week(); n != 2 || bad != 1 {
		t.Errorf("after completing the line: %d records, %d malformed", n, bad)
	}
	// Rotation: a new, smaller file under the same name.
	os.Rename(path, path+".1")
	appendTo(rec("c", sanitize.VerdictClean) + "\n")
	if n, bad := week(); n != 1 || bad != 0 {
		t.Errorf("after rotation: %d records, %d malformed", n, bad)
	}
}
