package queue

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func put(t *testing.T, q *Queue, body string) *Envelope {
	t.Helper()
	env := &Envelope{From: "a@example.jp", To: []string{"b@city.lg.jp"}, Received: time.Now()}
	if err := q.Put(env, func(w io.Writer) (int64, error) { n, err := io.WriteString(w, body); return int64(n), err }); err != nil {
		t.Fatal(err)
	}
	return env
}

func TestPutClaimDeferDone(t *testing.T) {
	dir := t.TempDir()
	q, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	e1 := put(t, q, "one")
	put(t, q, "two")
	got := q.Claim(time.Now(), 10)
	if len(got) != 2 || q.Len() != 2 {
		t.Fatalf("claimed %d of %d", len(got), q.Len())
	}
	if again := q.Claim(time.Now(), 10); len(again) != 0 {
		t.Fatal("busy messages claimed twice")
	}
	first, second := got[0], got[1]
	if first.ID != e1.ID {
		first, second = second, first
	}
	first.Attempts, first.NextAttempt, first.LastError = 1, time.Now().Add(time.Hour), "451 later"
	if err := q.Defer(first); err != nil {
		t.Fatal(err)
	}
	q.Done(second.ID)
	// A reopened queue (restart after kill -9) has the deferred message
	// with its state, and not the delivered one.
	q2, _ := Open(dir)
	if q2.Len() != 1 {
		t.Fatalf("reopened queue has %d", q2.Len())
	}
	if len(q2.Claim(time.Now(), 10)) != 0 {
		t.Fatal("deferred message is due")
	}
	envs, _ := List(dir)
	if len(envs) != 1 || envs[0].LastError != "451 later" {
		t.Fatalf("list %+v", envs)
	}
	if err := Retry(dir, envs[0].ID); err != nil {
		t.Fatal(err)
	}
	q2.Rescan()
	if c := q2.Claim(time.Now(), 10); len(c) != 1 {
		t.Fatal("retry did not make it due")
	}
	_, m, err := Show(dir, e1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(m); string(b) != "one" {
		t.Fatalf("message %q", b)
	}
	m.Close()
	if err := Drop(dir, envs[0].ID); err != nil {
		t.Fatal(err)
	}
	if envs, _ := List(dir); len(envs) != 0 {
		t.Fatal("drop left the message")
	}
	if err := Drop(dir, "../../etc/passwd"); err == nil || !strings.Contains(err.Error(), "invalid id") {
		t.Fatalf("path traversal: %v", err)
	}
}

// TestUncommittedLeftovers: a temporary file was never committed (no
// 250) and is removed on open once old enough not to be in progress; the
// state file of a delivered message goes too; a failed write leaves
// nothing.
func TestUncommittedLeftovers(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, NewID()+".json")
	os.WriteFile(stale, []byte("{}"), 0o600)
	orphan := filepath.Join(dir, ".tmp-123")
	os.WriteFile(orphan, []byte("x"), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(orphan, old, old)
	q, _ := Open(dir)
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Fatal("orphan kept")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Fatal("stale state kept")
	}
	err := q.Put(&Envelope{To: []string{"x@y"}}, func(w io.Writer) (int64, error) { return 0, io.ErrUnexpectedEOF })
	if err == nil {
		t.Fatal("failed write accepted")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 0 || q.Len() != 0 {
		t.Fatalf("failed write left %d files", len(ents))
	}
}
