package event

import (
	"encoding/json"
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
