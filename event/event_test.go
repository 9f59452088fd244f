package event

import (
	"encoding/json"
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
