package web

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
)

// activityFixture writes n sanitize records spread over the last 7 days.
func activityFixture(b *testing.B, n int) (string, time.Time) {
	b.Helper()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	path := filepath.Join(b.TempDir(), "sanitize.jsonl")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	verdicts := []sanitize.Verdict{sanitize.VerdictClean, sanitize.VerdictSanitized, sanitize.VerdictConverted, sanitize.VerdictBlocked}
	for i := range n {
		line, _ := json.Marshal(sanitize.Record{Start: now.Add(-time.Duration(i) * 7 * 24 * time.Hour / time.Duration(n)),
			Name: "document-" + string(rune('a'+i%26)) + ".docx", Detected: "docx", Verdict: verdicts[i%len(verdicts)], ReasonCode: "type-not-allowed",
			SHA256In: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", PolicyName: "default", PolicyVersion: "1"})
		f.Write(append(line, '\n'))
	}
	f.Close()
	return path, now
}

// The per-request cost while the file is unchanged (stat + counting the
// cached records): what every dashboard view pays.
func BenchmarkActivityUnchanged(b *testing.B) {
	path, now := activityFixture(b, 20000)
	f := &activityFile{path: path, parse: parseSanitize}
	if _, err := f.summary(now); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.summary(now); err != nil {
			b.Fatal(err)
		}
	}
}

// The cost after the file changed: reading and decoding it again.
func BenchmarkActivityReparse(b *testing.B) {
	path, now := activityFixture(b, 20000)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	for b.Loop() {
		f := &activityFile{path: path, parse: parseSanitize}
		if _, err := f.summary(now); err != nil {
			b.Fatal(err)
		}
	}
}

// The cost when a gateway appended one record since the last view: only
// the new bytes are read, then the counts are recomputed.
func BenchmarkActivityAppended(b *testing.B) {
	path, now := activityFixture(b, 20000)
	f := &activityFile{path: path, parse: parseSanitize}
	if _, err := f.summary(now); err != nil {
		b.Fatal(err)
	}
	line, _ := json.Marshal(sanitize.Record{Start: now, Name: "new.pdf", Verdict: sanitize.VerdictClean})
	line = append(line, '\n')
	w, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	b.ResetTimer()
	for b.Loop() {
		w.Write(line)
		if _, err := f.summary(now); err != nil {
			b.Fatal(err)
		}
	}
}
