// Package eventstoretest is the one conformance suite every event storage
// backend passes: the embedded segment store (eventstore) and PostgreSQL
// (eventstore/pgevents). A search must mean the same on both, so that the
// console, the CLI and the cloud can be pointed at either (issue 8 §4).
package eventstoretest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/logparse"
)

// Store is what the suite exercises: append, search, retention.
type Store interface {
	Append(evs ...*event.Event) error
	Flush() error
	Search(q eventstore.Query, fn func(*event.Event) bool) error
	Retain(tenant string, keepFrom time.Time) (int, error)
	Close() error
}

// T0 is the first event time of the suite (a UTC morning).
var T0 = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// Event builds the i-th test event of tenant: one per hour from T0.
func Event(tenant string, i int, ip string) *event.Event {
	ev := &event.Event{Tenant: tenant, Time: T0.Add(time.Duration(i) * time.Hour), Received: T0.Add(time.Duration(i)*time.Hour + time.Second),
		Source: "squid", Host: "proxy1", Raw: fmt.Sprintf("line %d", i)}
	ev.Set(event.SrcIP, ip)
	ev.Set(event.CURI, fmt.Sprintf("http://host%d.example/Path", i))
	return ev
}

func collect(t *testing.T, s Store, q eventstore.Query) []*event.Event {
	t.Helper()
	var out []*event.Event
	if err := s.Search(q, func(ev *event.Event) bool { out = append(out, ev); return true }); err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return out
}

func raws(evs []*event.Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.Raw
	}
	slices.Sort(out)
	return out
}

// Run runs the suite; open returns a new, empty store each time.
func Run(t *testing.T, open func(t *testing.T) Store) {
	t.Run("SearchAndFilters", func(t *testing.T) { testSearch(t, open(t)) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("Isolation", func(t *testing.T) { testIsolation(t, open(t)) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, open(t)) })
	t.Run("Text", func(t *testing.T) { testText(t, open(t)) })
	t.Run("Deferred", func(t *testing.T) { testDeferred(t, open(t)) })
}

func fill(t *testing.T, s Store) {
	t.Helper()
	for i := range 48 { // days 20 (14 events), 21 (24), 22 (10)
		if err := s.Append(Event("city-a", i, "10.0.0.1"), Event("city-b", i, "10.0.0.2")); err != nil {
			t.Fatal(err)
		}
	}
	failed := &event.Event{Tenant: "city-a", Time: T0.Add(90 * time.Minute), Received: T0, Source: "syslog", Raw: "garbage <13>", ParseError: "no parser"}
	if err := s.Append(failed); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
}

func testSearch(t *testing.T, s Store) {
	defer s.Close()
	fill(t, s)
	f := func(field string, op eventstore.Op, v string) []eventstore.Filter {
		return []eventstore.Filter{{Field: field, Op: op, Value: v}}
	}
	cases := []struct {
		name string
		q    eventstore.Query
		want int
	}{
		{"all of a", eventstore.Query{Tenant: "city-a"}, 49},
		{"range [from, to)", eventstore.Query{Tenant: "city-a", From: T0.Add(2 * time.Hour), To: T0.Add(5 * time.Hour)}, 3},
		{"range across days", eventstore.Query{Tenant: "city-a", From: T0.Add(13 * time.Hour), To: T0.Add(15 * time.Hour)}, 2},
		{"from only", eventstore.Query{Tenant: "city-a", From: T0.Add(40 * time.Hour)}, 8},
		{"range in another zone", eventstore.Query{Tenant: "city-a", From: T0.Add(2 * time.Hour).In(time.FixedZone("JST", 9*3600)), To: T0.Add(3 * time.Hour)}, 1},
		{"sub-microsecond bound", eventstore.Query{Tenant: "city-a", From: T0.Add(2*time.Hour + 1), To: T0.Add(4*time.Hour + 1)}, 2},
		{"equal raw", eventstore.Query{Tenant: "city-a", Filters: f("raw", eventstore.Equal, "line 7")}, 1},
		{"equal _raw alias", eventstore.Query{Tenant: "city-a", Filters: f("_raw", eventstore.Equal, "line 7")}, 1},
		{"equal field", eventstore.Query{Tenant: "city-a", Filters: f("src_ip", eventstore.Equal, "10.0.0.1")}, 48},
		{"equal is exact", eventstore.Query{Tenant: "city-a", Filters: f("src_ip", eventstore.Equal, "10.0.0")}, 0},
		{"equal is case-sensitive", eventstore.Query{Tenant: "city-a", Filters: f("host", eventstore.Equal, "PROXY1")}, 0},
		{"equal source", eventstore.Query{Tenant: "city-a", Filters: f("source", eventstore.Equal, "syslog")}, 1},
		{"contains ci", eventstore.Query{Tenant: "city-a", Filters: f("c-uri", eventstore.Contains, "HOST1")}, 11}, // 1, 10..19
		{"contains ci value lower", eventstore.Query{Tenant: "city-a", Filters: f("c-uri", eventstore.Contains, "/path")}, 48},
		{"contains raw", eventstore.Query{Tenant: "city-a", Filters: f("raw", eventstore.Contains, "<13>")}, 1},
		{"parse_error present", eventstore.Query{Tenant: "city-a", Filters: f("parse_error", eventstore.Contains, "")}, 1},
		{"missing field never matches", eventstore.Query{Tenant: "city-a", Filters: f("query", eventstore.Contains, "")}, 0},
		{"absent host", eventstore.Query{Tenant: "city-a", Filters: f("host", eventstore.Equal, "")}, 0},
		{"two filters", eventstore.Query{Tenant: "city-a", Filters: []eventstore.Filter{{Field: "src_ip", Value: "10.0.0.1"}, {Field: "c-uri", Op: eventstore.Contains, Value: "host4"}}}, 9}, // 4, 40..47
		{"time field", eventstore.Query{Tenant: "city-a", Filters: f("time", eventstore.Contains, "2026-11-22")}, 10},
		{"limit", eventstore.Query{Tenant: "city-b", Limit: 5}, 5},
		{"limit with filter", eventstore.Query{Tenant: "city-b", Limit: 3, Filters: f("c-uri", eventstore.Contains, "host2")}, 3},
		{"unknown tenant", eventstore.Query{Tenant: "city-z"}, 0},
	}
	for _, c := range cases {
		if got := collect(t, s, c.q); len(got) != c.want {
			t.Errorf("%s: %d events, want %d", c.name, len(got), c.want)
		}
	}
	// the limit keeps the oldest events
	got := collect(t, s, eventstore.Query{Tenant: "city-b", Limit: 2})
	if len(got) != 2 || got[0].Raw != "line 0" || got[1].Raw != "line 1" {
		t.Errorf("limit order: %v", raws(got))
	}
	// fn returning false stops the search
	n := 0
	if err := s.Search(eventstore.Query{Tenant: "city-a"}, func(*event.Event) bool { n++; return n < 4 }); err != nil || n != 4 {
		t.Errorf("stop after 4: %d %v", n, err)
	}
	// days come oldest first
	var last time.Time
	for _, ev := range collect(t, s, eventstore.Query{Tenant: "city-b"}) {
		if day := ev.Time.UTC().Truncate(24 * time.Hour); day.Before(last) {
			t.Fatalf("day %v after %v", day, last)
		} else {
			last = day
		}
	}
}

func testRoundTrip(t *testing.T, s Store) {
	defer s.Close()
	jst := time.FixedZone("JST", 9*3600)
	in := &event.Event{Tenant: "t1", Time: time.Date(2026, 11, 21, 1, 2, 3, 456789000, jst), Received: time.Date(2026, 11, 20, 16, 2, 4, 0, time.UTC),
		Source: "web", Host: "web1", Raw: `203.0.113.5 - - "GET /a?q=" 200 "ユーザー" \ tab	end`}
	for k, v := range map[string]string{event.SrcIP: "203.0.113.5", event.CURI: "/a?q=", event.CUserAgent: "sqlmap/1.5", "sd.origin@1.ip": "10.0.0.1", event.Message: "行\n2"} {
		in.Set(k, v)
	}
	if err := s.Append(in); err != nil {
		t.Fatal(err)
	}
	got := collect(t, s, eventstore.Query{Tenant: "t1"})
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	out := got[0]
	if !out.Time.Equal(in.Time) || !out.Received.Equal(in.Received) || out.Tenant != in.Tenant || out.Source != in.Source ||
		out.Host != in.Host || out.Raw != in.Raw || out.ParseError != "" || !equalFields(out.Fields, in.Fields) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	// UTC day of a JST time: 01:02 JST on the 21st is the 20th in UTC
	if got := collect(t, s, eventstore.Query{Tenant: "t1", From: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)}); len(got) != 1 {
		t.Errorf("JST event not in its UTC day: %d", len(got))
	}
}

func equalFields(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func testIsolation(t *testing.T, s Store) {
	defer s.Close()
	fill(t, s)
	for _, tenant := range []string{"city-a", "city-b"} {
		for _, ev := range collect(t, s, eventstore.Query{Tenant: tenant}) {
			if ev.Tenant != tenant {
				t.Fatalf("search of %s returned an event of %s", tenant, ev.Tenant)
			}
		}
	}
	if got := collect(t, s, eventstore.Query{Tenant: "city-b", Filters: []eventstore.Filter{{Field: "src_ip", Value: "10.0.0.1"}}}); len(got) != 0 {
		t.Errorf("city-b sees city-a's addresses: %d", len(got))
	}
	for _, bad := range []string{"", "../city-b", "City A", "city-a' OR '1'='1", "city-a%"} {
		if err := s.Search(eventstore.Query{Tenant: bad}, func(*event.Event) bool { return true }); err == nil {
			t.Errorf("search of tenant %q accepted", bad)
		}
		if err := s.Append(&event.Event{Tenant: bad, Time: T0, Raw: "x"}); err == nil {
			t.Errorf("append of tenant %q accepted", bad)
		}
		if _, err := s.Retain(bad, T0); err == nil {
			t.Errorf("retention of tenant %q accepted", bad)
		}
	}
	// a batch with one invalid event stores none of the invalid tenant
	_ = s.Append(Event("city-c", 0, "10.0.0.3"), &event.Event{Tenant: "../x", Time: T0})
	for _, ev := range collect(t, s, eventstore.Query{Tenant: "city-a"}) {
		if ev.Tenant != "city-a" {
			t.Fatal("foreign event after a rejected batch")
		}
	}
}

func testRetention(t *testing.T, s Store) {
	defer s.Close()
	fill(t, s)
	n, err := s.Retain("city-a", T0.Add(24*time.Hour+5*time.Hour)) // keep from day 21
	if err != nil || n != 1 {
		t.Fatalf("retain: %d days, %v; want 1", n, err)
	}
	if got := collect(t, s, eventstore.Query{Tenant: "city-a"}); len(got) != 34 { // days 21 (24) and 22 (10)
		t.Errorf("after retention: %d, want 34", len(got))
	}
	if got := collect(t, s, eventstore.Query{Tenant: "city-b"}); len(got) != 48 {
		t.Errorf("retention of city-a touched city-b: %d", len(got))
	}
	if n, err := s.Retain("city-a", T0.Add(24*time.Hour)); err != nil || n != 0 {
		t.Errorf("second retention: %d %v", n, err)
	}
	if n, err := s.Retain("city-z", T0.Add(1000*time.Hour)); err != nil || n != 0 {
		t.Errorf("retention of an unknown tenant: %d %v", n, err)
	}
	// appending to a day again after retention works
	if err := s.Append(Event("city-a", 0, "192.0.2.9")); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s, eventstore.Query{Tenant: "city-a", Filters: []eventstore.Filter{{Field: "src_ip", Value: "192.0.2.9"}}}); len(got) != 1 {
		t.Errorf("append after retention: %d", len(got))
	}
}

func testText(t *testing.T, s Store) {
	defer s.Close()
	lines := []string{
		"東京都 庁舎 ログイン失敗",            // Japanese
		"Kelvin \u212A sign",       // folds to ASCII k in Go
		"I WITH DOT \u0130stanbul", // folds to ASCII i in Go
		"ÄRGER über alles",
		strings.Repeat("x", 70000), // longer than a syslog line may be
	}
	for i, l := range lines {
		ev := &event.Event{Tenant: "t1", Time: T0.Add(time.Duration(i) * time.Minute), Source: "syslog", Raw: l}
		ev.Set(event.Message, l)
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		field, value string
		want         []string
	}{
		{"raw", "ログイン", []string{lines[0]}},
		{"message", "庁舎", []string{lines[0]}},
		{"raw", "k sign", []string{lines[1]}},     // KELVIN SIGN lower-cases to k
		{"raw", "istanbul", []string{lines[2]}},   // U+0130 lower-cases to i
		{"raw", "ärger", []string{lines[3]}},      // non-ASCII case folding
		{"message", "ÜBER", []string{lines[3]}},   // and back
		{"raw", "xxxxxxxxxx", []string{lines[4]}}, // long values
		{"raw", "LOGIN", nil},                     // no false positive
	}
	for _, c := range cases {
		got := collect(t, s, eventstore.Query{Tenant: "t1", Filters: []eventstore.Filter{{Field: c.field, Op: eventstore.Contains, Value: c.value}}})
		if !slices.Equal(raws(got), raws(toEvents(c.want))) {
			t.Errorf("%s~%s: %d events %.40q, want %.40q", c.field, c.value, len(got), raws(got), c.want)
		}
	}
}

func toEvents(raw []string) []*event.Event {
	out := make([]*event.Event, len(raw))
	for i, r := range raw {
		out[i] = &event.Event{Raw: r}
	}
	return out
}

// testDeferred: events whose content parse intake deferred
// (logparse.ParseLazy) are stored whole: searching them by a parsed field
// finds them, with every field.
func testDeferred(t *testing.T, s Store) {
	defer s.Close()
	p := logparse.New(time.UTC, nil)
	lines := []string{
		"<134>Nov 20 10:00:01 proxy1 squid[811]: 1763632801.123 45 10.3.1.5 TCP_MISS/200 1234 GET http://example.jp/a?b=c - HIER_DIRECT/203.0.113.9 text/html",
		"<4>Nov 20 10:00:03 fw1 kernel: LGWAN-DROP IN=eth0 OUT=eth1 SRC=10.2.1.1 DST=203.0.113.5 PROTO=TCP SPT=5555 DPT=443",
	}
	var want []*event.Event
	for _, l := range lines {
		ev := &event.Event{Tenant: "city-d", Received: T0}
		p.ParseLazy("syslog", []byte(l), ev)
		if !ev.Deferred() {
			t.Fatalf("%q not deferred", l)
		}
		if err := s.Append(ev); err != nil {
			t.Fatal(err)
		}
		eager := &event.Event{Tenant: "city-d", Received: T0}
		p.Parse("syslog", []byte(l), eager)
		want = append(want, eager)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, w := range want {
		got := collect(t, s, eventstore.Query{Tenant: "city-d", From: T0.AddDate(-2, 0, 0), Filters: []eventstore.Filter{{Field: event.DstIP, Value: w.Fields[event.DstIP]}}})
		if len(got) != 1 || got[0].Raw != w.Raw || got[0].Source != w.Source || !equalFields(got[0].Fields, w.Fields) {
			t.Fatalf("search by dst_ip %s: %+v, want %+v", w.Fields[event.DstIP], got, w)
		}
	}
}
