package event

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestGetAndSet(t *testing.T) {
	e := Event{Tenant: "t1", Source: SourceSquid, Raw: "r", Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e.Set(SrcIP, "10.0.0.1")
	e.Set(User, "-")
	e.Set(Query, "")
	cases := []struct {
		field, want string
		ok          bool
	}{
		{"tenant", "t1", true}, {"source", "squid", true}, {"host", "", false}, {"raw", "r", true},
		{"time", "2026-01-02T03:04:05Z", true}, {SrcIP, "10.0.0.1", true}, {User, "", false}, {Query, "", false},
	}
	for _, c := range cases {
		got, ok := e.Get(c.field)
		if got != c.want || ok != c.ok {
			t.Errorf("Get(%q) = %q,%v want %q,%v", c.field, got, ok, c.want, c.ok)
		}
	}
	b, _ := e.MarshalLine()
	var back Event
	if err := json.Unmarshal(b, &back); err != nil || back.Fields[SrcIP] != "10.0.0.1" || back.Tenant != "t1" {
		t.Fatalf("round trip: %v %+v", err, back)
	}
	if e.Failed() || len(e.Names()) != 1 {
		t.Errorf("Failed/Names: %v %v", e.Failed(), e.Names())
	}
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	evs := []Event{
		{Tenant: "t", Time: time.Date(2026, 11, 22, 5, 0, 0, 123456789, time.FixedZone("JST", 9*3600)), Received: time.Now(), Source: "web",
			Host: "h", Raw: "a\"b\\c\n\t\x01 日本語 \u2028 <&>", ParseError: "bad", Fields: map[string]string{"c-uri": "/x?q=\"1\"", "k\x7f": "v\xff"}},
		{Tenant: "t2", Raw: ""},
	}
	for _, e := range evs {
		b, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got, want Event
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		std, _ := json.Marshal(&e)
		json.Unmarshal(std, &want)
		gb, _ := json.Marshal(&got)
		wb, _ := json.Marshal(&want)
		if string(gb) != string(wb) {
			t.Errorf("AppendJSON decodes to\n%s\nwant\n%s", gb, wb)
		}
	}
	if _, err := (&Event{Time: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}).AppendJSON(nil); err == nil {
		t.Error("year 10000 accepted")
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("raw", "k", "v")
	f.Fuzz(func(t *testing.T, raw, k, v string) {
		e := Event{Tenant: "t", Raw: raw, Fields: map[string]string{k: v}}
		b, err := e.AppendJSON(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got Event
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %v", b, err)
		}
		std, _ := json.Marshal(&e)
		var want Event
		json.Unmarshal(std, &want)
		if got.Raw != want.Raw || got.Fields[k] != want.Fields[k] {
			t.Fatalf("mismatch %q vs %q", got.Raw, want.Raw)
		}
	})
}

// TestAppendTime: appendTime writes what AppendFormat(RFC3339Nano) writes.
func TestAppendTime(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	odd := time.FixedZone("LMT", 9*3600+18*60+59) // seconds in the offset: AppendFormat path
	for _, tm := range []time.Time{
		{}, time.Unix(0, 0), time.Unix(0, 0).UTC(), time.Date(2026, 11, 22, 5, 0, 0, 123456789, jst),
		time.Date(2026, 11, 22, 5, 0, 0, 120000000, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(12*3600+30*60))),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1888, 1, 1, 0, 0, 0, 0, odd), time.Now(),
	} {
		if got, want := string(appendTime(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Errorf("appendTime %q, want %q", got, want)
		}
	}
}

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(1700000000), int64(5), 32400)
	f.Fuzz(func(t *testing.T, sec, nsec int64, off int) {
		tm := time.Unix(sec%253402300799, nsec%1e9).In(time.FixedZone("", off%(24*3600)))
		if y := tm.Year(); y < 0 || y > 9999 {
			return
		}
		if got, want := string(appendTime(nil, tm)), tm.Format(time.RFC3339Nano); got != want {
			t.Fatalf("appendTime %q, want %q", got, want)
		}
	})
}

// TestAppendStringBytes: the 8-byte skip of appendString gives the bytes
// the byte-at-a-time loop gives, at every alignment of every special byte.
func TestAppendStringBytes(t *testing.T) {
	specials := []string{"\"", "\\", "\x00", "\x1f", "\x7f", " ", "~", "\xff", "é", "\u2028", "日", "\n"}
	for _, sp := range specials {
		for pos := range 20 {
			s := strings.Repeat("a", pos) + sp + strings.Repeat("b", 17-pos%5)
			got := string(appendString(nil, s))
			want, _ := json.Marshal(s)
			var back string
			if err := json.Unmarshal([]byte(got), &back); err != nil || back != strings.ToValidUTF8(s, "\ufffd") {
				t.Errorf("%q: %s (%v), encoding/json %s", s, got, err, want)
			}
		}
	}
}

// storedEqual checks that AppendStored + DecodeStored give the event that
// AppendJSON + encoding/json gave (what eventstore searches returned before
// the compact form).
func storedEqual(t *testing.T, e *Event) {
	t.Helper()
	full, err := e.AppendJSON(nil)
	if err != nil {
		return
	}
	var want Event
	if err := json.Unmarshal(full, &want); err != nil {
		t.Fatalf("%s: %v", full, err)
	}
	b, err := e.AppendStored(nil)
	if err != nil {
		t.Fatal(err)
	}
	var got Event
	if err := DecodeStored(b, &got); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(got.Fields) == 0 && len(want.Fields) == 0 {
		got.Fields, want.Fields = nil, nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored form decodes to\n%+v\nwant\n%+v\n(%s)", got, want, b)
	}
}

// TestStoredRoundTrip: the elided message and aliases come back exactly,
// and are kept when they cannot be elided (not the end of raw, invalid
// UTF-8, an alias that differs from its field).
func TestStoredRoundTrip(t *testing.T) {
	raw := `<190>Nov 22 05:00:02 web1 nginx: 203.0.113.3 - - "GET /a?b HTTP/1.1" 200 5 "r" "ua"`
	full := &Event{Tenant: "t", Raw: raw, Time: time.Now(), Fields: map[string]string{
		Message: raw[33:], SrcIP: "203.0.113.3", CIP: "203.0.113.3", CURIStem: "/a", CSURIStem: "/a", CURIQuery: "b", CSURIQuery: "b",
		CSReferrer: "r", CSReferer: "r", CUserAgent: "ua", CSUserAgent: "ua"}}
	b, _ := full.AppendStored(nil)
	if strings.Contains(string(b), `"message"`) || strings.Contains(string(b), `"c-ip"`) || strings.Contains(string(b), `"cs-user-agent"`) {
		t.Errorf("not elided: %s", b)
	}
	storedEqual(t, full)
	for _, e := range []*Event{
		{Tenant: "t", Raw: "abc", Fields: map[string]string{Message: "x"}},                     // not the end of raw
		{Tenant: "t", Raw: "a\xffbc", Fields: map[string]string{Message: "bc"}},                // invalid UTF-8 in raw
		{Tenant: "t", Raw: "a\u2028bc", Fields: map[string]string{Message: "\u2028bc"}},        // escaped separator
		{Tenant: "t", Raw: "abc", Fields: map[string]string{CIP: "1.1.1.1", SrcIP: "2.2.2.2"}}, // alias differs
		{Tenant: "t", Raw: "abc", Fields: map[string]string{CIP: "1.1.1.1"}},                   // alias alone
		{Tenant: "t", Raw: "abc", Fields: map[string]string{Message: "abc"}},                   // whole raw
		{Tenant: "t", Raw: "日本語のログ", Fields: map[string]string{Message: "ログ", "k": "v"}},       // multi-byte
	} {
		storedEqual(t, e)
	}
	var ev Event
	if err := DecodeStored([]byte(`{"tenant":"t","raw":"ab","x_message_at":5}`), &ev); err == nil {
		t.Error("message offset outside raw accepted")
	}
}

func FuzzStoredRoundTrip(f *testing.F) {
	f.Add("<13>Nov 22 05:00:00 h app: msg", 27, "1.2.3.4", "1.2.3.4", "k", "v")
	f.Fuzz(func(t *testing.T, raw string, cut int, ip, cip, k, v string) {
		e := &Event{Tenant: "t", Raw: raw, Fields: map[string]string{}}
		if cut >= 0 && cut <= len(raw) {
			e.Set(Message, raw[cut:])
		}
		e.Set(SrcIP, ip)
		e.Set(CIP, cip)
		e.Set(k, v)
		storedEqual(t, e)
	})
}

func TestAliasIndex(t *testing.T) {
	for i, p := range aliasPairs {
		if aliasIndex(p[1]) != i || aliasIndex(p[0]) != -1 {
			t.Errorf("aliasIndex(%s) = %d, want %d", p[1], aliasIndex(p[1]), i)
		}
	}
}

func TestDeferResolvesOnce(t *testing.T) {
	calls := 0
	ev := &Event{Tenant: "t", Source: SourceSquid, Raw: "line"}
	ev.Defer(func(e *Event) {
		calls++
		e.Source = SourceSyslog
		e.Set(SrcIP, "10.0.0.1")
	})
	if _, ok := ev.Get("raw"); !ok || calls != 0 || !ev.Deferred() {
		t.Fatalf("fixed field resolved the event: calls %d", calls)
	}
	if ev.Failed() || calls != 0 {
		t.Fatalf("Failed resolved the event")
	}
	if v, _ := ev.Get(SrcIP); v != "10.0.0.1" || calls != 1 || ev.Deferred() {
		t.Fatalf("Get(src_ip) = %q after %d calls", v, calls)
	}
	if v, _ := ev.Get("source"); v != SourceSyslog {
		t.Fatalf("source %q", v)
	}
	ev2 := &Event{Raw: "x"}
	ev2.Defer(func(e *Event) { calls++; e.Set(Query, "a.example") })
	b, err := ev2.AppendStored(nil)
	if err != nil || !strings.Contains(string(b), "a.example") || calls != 2 {
		t.Fatalf("stored form of a deferred event: %s %v (calls %d)", b, err, calls)
	}
	ev2.Resolve()
	if calls != 2 {
		t.Fatal("resolved twice")
	}
}
