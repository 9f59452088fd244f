package eventstore

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
)

var t0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func mk(tenant string, i int, ip string) *event.Event {
	ev := &event.Event{Tenant: tenant, Time: t0.Add(time.Duration(i) * time.Hour), Source: "squid", Raw: fmt.Sprintf("line %d", i)}
	ev.Set(event.SrcIP, ip)
	ev.Set(event.CURI, fmt.Sprintf("http://host%d.example/Path", i))
	return ev
}

func collect(t *testing.T, s *Store, q Query) []*event.Event {
	t.Helper()
	var out []*event.Event
	if err := s.Search(q, func(ev *event.Event) bool { out = append(out, ev); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSearchIsolationRetention(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 48 { // days 20 (14), 21 (24), 22 (10)
		if err := s.Append(mk("city-a", i, "10.0.0.1"), mk("city-b", i, "10.0.0.1")); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name string
		q    Query
		want int
	}{
		{"all of a", Query{Tenant: "city-a"}, 48},
		{"range", Query{Tenant: "city-a", From: t0.Add(2 * time.Hour), To: t0.Add(5 * time.Hour)}, 3},
		{"equal", Query{Tenant: "city-a", Filters: []Filter{{Field: "raw", Value: "line 7"}}}, 1},
		{"contains ci", Query{Tenant: "city-a", Filters: []Filter{{Field: "c-uri", Op: Contains, Value: "HOST1"}}}, 11}, // 1,10..19
		{"missing field", Query{Tenant: "city-a", Filters: []Filter{{Field: "query", Op: Contains, Value: ""}}}, 0},
		{"limit", Query{Tenant: "city-b", Limit: 5}, 5},
		{"unknown tenant", Query{Tenant: "city-z"}, 0},
	}
	for _, c := range cases {
		if got := collect(t, s, c.q); len(got) != c.want {
			t.Errorf("%s: %d events, want %d", c.name, len(got), c.want)
		}
	}
	// isolation: no search of city-a returns another tenant's event
	for _, ev := range collect(t, s, Query{Tenant: "city-a"}) {
		if ev.Tenant != "city-a" {
			t.Fatalf("cross-tenant event %+v", ev)
		}
	}
	if err := s.Search(Query{Tenant: "../city-b"}, func(*event.Event) bool { return true }); err == nil {
		t.Error("path traversal tenant accepted")
	}
	if err := s.Append(&event.Event{Tenant: "City A"}); err == nil {
		t.Error("invalid tenant appended")
	}
	// a segment planted under the wrong tenant is refused
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// reopening appends to a new segment, old data intact
	s2, _ := Open(dir)
	if err := s2.Append(mk("city-a", 1, "192.0.2.9")); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s2, Query{Tenant: "city-a", Filters: []Filter{{Field: "src_ip", Value: "192.0.2.9"}}}); len(got) != 1 {
		t.Errorf("after reopen: %d", len(got))
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "city-a", "2026-11-20", "*.rec.s2"))
	if len(segs) != 2 {
		t.Errorf("segments after reopen: %v", segs)
	}
	n, err := s2.Retain("city-a", t0.Add(24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("retain: %d %v", n, err)
	}
	if got := collect(t, s2, Query{Tenant: "city-a"}); len(got) != 34 { // days 21 (24) and 22 (10) remain
		t.Errorf("after retention: %d, want 34", len(got))
	}
	if got := collect(t, s2, Query{Tenant: "city-b"}); len(got) != 48 {
		t.Errorf("retention touched city-b: %d", len(got))
	}
	s2.Close()
	// plant city-b data under city-a: refused
	b, _ := os.ReadFile(filepath.Join(dir, "city-b", "2026-11-21", "000001.rec.s2"))
	os.WriteFile(filepath.Join(dir, "city-a", "2026-11-21", "000009.rec.s2"), b, 0o600)
	if err := s2.Search(Query{Tenant: "city-a"}, func(*event.Event) bool { return true }); err == nil {
		t.Error("foreign segment under tenant accepted")
	}
}

func TestTruncatedSegmentTail(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir)
	for i := range 10 {
		s.Append(mk("t1", i, "10.0.0.1"))
	}
	s.Flush()
	for i := range 10 {
		s.Append(mk("t1", i, "10.0.0.2"))
	}
	s.Close()
	p := filepath.Join(dir, "t1", "2026-11-20", "000001.rec.s2")
	fi, _ := os.Stat(p)
	os.Truncate(p, fi.Size()-7) // crash in the second block
	os.Remove(filepath.Join(dir, "t1", "2026-11-20", "000001.idx"))
	var n int
	err := s.Search(Query{Tenant: "t1"}, func(*event.Event) bool { n++; return true })
	if n < 10 {
		t.Errorf("flushed member lost: %d events (%v)", n, err)
	}
}

func TestParseFilter(t *testing.T) {
	for in, want := range map[string]Filter{
		"src_ip=10.0.0.1": {Field: "src_ip", Value: "10.0.0.1"},
		"c-uri~union":     {Field: "c-uri", Op: Contains, Value: "union"},
		"q=a=b":           {Field: "q", Value: "a=b"},
	} {
		if got, err := ParseFilter(in); err != nil || got != want {
			t.Errorf("%s: %+v %v", in, got, err)
		}
	}
	if _, err := ParseFilter("=x"); err == nil {
		t.Error("empty field accepted")
	}
}

// TestLegacyGzipSegments: segments written as gzip members by earlier
// versions are still searched, and new appends to that day start the next
// segment number in S2.
func TestLegacyGzipSegments(t *testing.T) {
	dir := t.TempDir()
	day := filepath.Join(dir, "t1", "2026-11-20")
	if err := os.MkdirAll(day, 0o750); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := range 3 {
		b, err := mk("t1", i, "10.0.0.3").AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(append(b, '\n'))
	}
	zw.Close()
	if err := os.WriteFile(filepath.Join(day, "000001.jsonl.gz"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := Open(dir)
	if err := s.Append(mk("t1", 4, "10.0.0.4")); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s, Query{Tenant: "t1", Filters: []Filter{{Field: "src_ip", Value: "10.0.0.3"}}}); len(got) != 3 {
		t.Errorf("legacy gzip segment: %d events, want 3", len(got))
	}
	if got := collect(t, s, Query{Tenant: "t1"}); len(got) != 4 {
		t.Errorf("all: %d events, want 4", len(got))
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(day, "000002.rec.s2")); err != nil {
		t.Errorf("new segment after a legacy one: %v", err)
	}
}
