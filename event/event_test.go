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
