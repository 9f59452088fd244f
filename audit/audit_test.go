package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/sqlstore"
	"github.com/kyojin/kyojin/store/storetest"
)

var ctx = context.Background()

// newLog returns a log with n entries one minute apart.
func newLog(t *testing.T, n int) (*Log, *sqlstore.DB) {
	t.Helper()
	s := storetest.SQLite(t)
	clock := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	l := New(s)
	l.now = func() time.Time { clock = clock.Add(time.Minute); return clock }
	for i := 1; i <= n; i++ {
		if _, err := l.Append(ctx, Event{Actor: "alice", Action: LoginOK, Target: fmt.Sprintf("user/u%d", i), Details: map[string]any{"ip": "192.0.2.1", "n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	return l, s
}

func verify(t *testing.T, s store.Store) *Report {
	t.Helper()
	r, err := Verify(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestIntactChainVerifies(t *testing.T) {
	_, s := newLog(t, 5)
	r := verify(t, s)
	if !r.OK() || len(r.Problems) != 0 || r.Entries != 5 || r.HeadSeq != 5 {
		t.Fatalf("intact log: %+v", r)
	}
	empty, s2 := newLog(t, 0)
	_ = empty
	if r := verify(t, s2); !r.OK() || r.Entries != 0 {
		t.Errorf("empty log: %+v", r)
	}
}

// Each tampering is done with plain SQL, as someone with database access
// would; Verify must name the kind of damage and where it starts.
func TestTamperingDetected(t *testing.T) {
	cases := []struct {
		name     string
		sql      []string
		forge    bool // recompute the tampered entry's own hash, like a careful attacker
		wantSeq  int64
		wantKind string
	}{
		{"modified actor", []string{`UPDATE audit_log SET actor='mallory' WHERE seq=3`}, false, 3, "modified"},
		{"modified details", []string{`UPDATE audit_log SET details='{"ip":"203.0.113.9","n":3}' WHERE seq=3`}, false, 3, "modified"},
		{"modified time", []string{`UPDATE audit_log SET at=at+1 WHERE seq=2`}, false, 2, "modified"},
		{"modified and rehashed", []string{`UPDATE audit_log SET action='logout' WHERE seq=3`}, true, 4, "reordered"},
		{"removed middle", []string{`DELETE FROM audit_log WHERE seq=3`}, false, 4, "removed"},
		{"removed first", []string{`DELETE FROM audit_log WHERE seq=1`}, false, 2, "removed"},
		{"removed last", []string{`DELETE FROM audit_log WHERE seq=5`}, false, 5, "truncated"},
		{"removed and renumbered", []string{`DELETE FROM audit_log WHERE seq=3`, `UPDATE audit_log SET seq=seq-1 WHERE seq>3`}, false, 3, "modified"},
		{"reordered (swapped)", []string{`UPDATE audit_log SET seq=-2 WHERE seq=2`, `UPDATE audit_log SET seq=2 WHERE seq=3`, `UPDATE audit_log SET seq=3 WHERE seq=-2`}, false, 2, "modified"},
		{"reordered and rehashed", []string{`UPDATE audit_log SET seq=-2 WHERE seq=2`, `UPDATE audit_log SET seq=2 WHERE seq=3`, `UPDATE audit_log SET seq=3 WHERE seq=-2`}, true, 2, "reordered"},
		{"anchor deleted", []string{`DELETE FROM settings WHERE k='audit.head'`}, false, 0, "anchor"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, s := newLog(t, 5)
			for _, q := range c.sql {
				if _, err := s.SQL().Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			if c.forge {
				rehashAll(t, s, false)
			}
			r := verify(t, s)
			if r.OK() {
				t.Fatalf("tampering not detected: %+v", r)
			}
			first := r.Problems[0]
			if first.Seq != c.wantSeq || first.Kind != c.wantKind {
				t.Errorf("first problem = %+v, want seq %d kind %s (all: %+v)", first, c.wantSeq, c.wantKind, r.Problems)
			}
		})
	}
}

// rehashAll recomputes each entry's own hash without repairing links, the
// most an attacker can do without rewriting every later entry.
func rehashAll(t *testing.T, s *sqlstore.DB, relink bool) {
	t.Helper()
	entries, err := s.AuditEntries(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	prev := ""
	for _, e := range entries {
		if relink {
			e.PrevHash = prev
		}
		h := Hash(&e)
		if _, err := s.SQL().Exec(`UPDATE audit_log SET hash=?, prev_hash=? WHERE seq=?`, h, e.PrevHash, e.Seq); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

// Rewriting the whole chain from the tampered entry onwards makes the chain
// consistent again; only the head anchor (and any copy of it kept outside
// the database) still gives it away when the tail was changed.
func TestFullRewriteCaughtByAnchor(t *testing.T) {
	_, s := newLog(t, 5)
	if _, err := s.SQL().Exec(`UPDATE audit_log SET actor='mallory' WHERE seq=2`); err != nil {
		t.Fatal(err)
	}
	rehashAll(t, s, true)
	r := verify(t, s)
	if r.OK() || r.Problems[0].Kind != "anchor" {
		t.Fatalf("full rewrite: %+v", r)
	}
}

func TestAnchorBehindIsWarning(t *testing.T) {
	l, s := newLog(t, 3)
	head, _ := s.Setting(ctx, HeadSetting)
	if _, err := l.Append(ctx, Event{Actor: "a", Action: Logout}); err != nil {
		t.Fatal(err)
	}
	s.SetSetting(ctx, HeadSetting, head) // as if the process died between the two writes
	r := verify(t, s)
	if !r.OK() || len(r.Problems) != 1 || !r.Problems[0].Warning {
		t.Errorf("stale anchor: %+v", r)
	}
}

func TestConcurrentAppendsKeepOneChain(t *testing.T) {
	l, s := newLog(t, 0)
	l.now = time.Now
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if _, err := l.Append(ctx, Event{Actor: fmt.Sprint(w), Action: "test", Details: map[string]int{"i": i}}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if r := verify(t, s); !r.OK() || r.Entries != 100 {
		t.Errorf("concurrent appends: %+v", r)
	}
}

func TestCanonical(t *testing.T) {
	cases := []struct {
		in   any
		want string
		err  string
	}{
		{nil, `{}`, ""},
		{map[string]any{"b": 1, "a": "x"}, `{"a":"x","b":1}`, ""},
		{json.RawMessage(`{"z": 1.50, "a": {"d": true, "c": null}}`), `{"a":{"c":null,"d":true},"z":1.50}`, ""},
		{struct {
			B string `json:"b"`
			A int    `json:"a"`
		}{"日本", 2}, `{"a":2,"b":"日本"}`, ""},
		{[]int{1}, "", "must be a JSON object"},
		{"text", "", "must be a JSON object"},
		{map[string]any{"f": func() {}}, "", "unsupported type"},
	}
	for _, c := range cases {
		got, err := Canonical(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Canonical(%v) error = %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("Canonical(%v) = %s, %v; want %s", c.in, got, err, c.want)
		}
	}
}

// The hash is part of the on-disk format: changing the encoding breaks
// verification of every existing log, so it is pinned here.
func TestHashPinned(t *testing.T) {
	e := &store.AuditEntry{Seq: 7, Time: time.Date(2026, 4, 1, 9, 30, 0, 123456000, time.UTC), Actor: "alice", Action: "login.ok",
		Target: "user/alice", Details: `{"ip":"192.0.2.1"}`, PrevHash: strings.Repeat("0", 64)}
	const want = "229d82346397c3120420858e9891b6961d1ba12052852c6a555e78b897fafb73"
	got := Hash(e)
	if got != want {
		t.Errorf("Hash = %s, want %s", got, want)
	}
	// Moving a byte between fields must change the hash (length prefixes).
	f := *e
	f.Actor, f.Action = "alicel", "ogin.ok"
	if Hash(&f) == got {
		t.Error("field boundaries are not part of the hash")
	}
}

func TestExport(t *testing.T) {
	entries := []store.AuditEntry{
		{Seq: 1, Time: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Actor: "=cmd|'/c calc'!A0", Action: "login.fail", Target: "user/x", Details: `{"a":"b,c"}`, Hash: "h1"},
		{Seq: 2, Time: time.Date(2026, 4, 1, 0, 0, 1, 0, time.UTC), Actor: "山田", Action: "logout", Details: "{}", PrevHash: "h1", Hash: "h2"},
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, entries); err != nil {
		t.Fatal(err)
	}
	want := "\ufeffseq,time,actor,action,target,details,prev_hash,hash\n" +
		"1,2026-04-01T00:00:00Z,'=cmd|'/c calc'!A0,login.fail,user/x,\"{\"\"a\"\":\"\"b,c\"\"}\",,h1\n" +
		"2,2026-04-01T00:00:01Z,山田,logout,,{},h1,h2\n"
	if b.String() != want {
		t.Errorf("CSV:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteJSON(&b, entries); err != nil {
		t.Fatal(err)
	}
	var back []store.AuditEntry
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back) != 2 || back[1].Actor != "山田" || back[0].Hash != "h1" {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
	b.Reset()
	WriteJSON(&b, nil)
	if strings.TrimSpace(b.String()) != "[]" {
		t.Errorf("empty JSON export = %q", b.String())
	}
}
