package pgevents

import (
	"strings"
	"testing"

	"github.com/kyojin/kyojin/eventstore"
)

// sqlContains mirrors, in Go, the condition where() pushes down for a
// Contains filter on a stored (cleaned) value s: ASCII-only lower-casing and
// strpos, or a row holding a rune Go folds to ASCII.
func sqlContains(s, lowered string) bool {
	lower := strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
	if strings.Contains(lower, lowered) {
		return true
	}
	return strings.ContainsAny(lowered, "ik") && strings.ContainsAny(s, "\u0130\u212A")
}

// pushedContains reports whether where() pushes a Contains filter down.
func pushedContains(value string) bool {
	_, args := where(eventstore.Query{Tenant: "t", Filters: []eventstore.Filter{{Field: "raw", Op: eventstore.Contains, Value: value}}})
	return len(args) > 1
}

// FuzzContainsSuperset: whatever the stored text and the filter, a row the
// final check (Query.Match) accepts is never excluded by the SQL.
func FuzzContainsSuperset(f *testing.F) {
	for _, s := range [][2]string{{"Kelvin \u212A", "k"}, {"\u0130stanbul", "ist"}, {"ÄRGER", "ärger"}, {"a\x00b", "a"}, {"GET /A", "/a"}, {"\xff\xfeX", "x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, stored, value string) {
		s := clean(stored)
		if !strings.Contains(strings.ToLower(s), strings.ToLower(value)) || !pushedContains(value) {
			return
		}
		if !sqlContains(s, strings.ToLower(value)) {
			t.Errorf("pushdown excludes %q for filter %q", s, value)
		}
	})
}

func TestPushdown(t *testing.T) {
	cases := []struct {
		f      eventstore.Filter
		pushed bool
	}{
		{eventstore.Filter{Field: "src_ip", Value: "10.0.0.1"}, true},
		{eventstore.Filter{Field: "raw", Op: eventstore.Contains, Value: "UNION"}, true},
		{eventstore.Filter{Field: "raw", Op: eventstore.Contains, Value: "庁舎"}, false},
		{eventstore.Filter{Field: "time", Op: eventstore.Contains, Value: "2026"}, false},
		{eventstore.Filter{Field: "x'; DROP TABLE kyojin_events; --", Value: "y"}, true},
	}
	for _, c := range cases {
		cond, args := where(eventstore.Query{Tenant: "t", Filters: []eventstore.Filter{c.f}})
		if got := len(args) > 1; got != c.pushed {
			t.Errorf("%+v: pushed %v (%s)", c.f, got, cond)
		}
		if strings.Contains(cond, "DROP") || strings.Contains(cond, c.f.Value) && c.f.Value != "" {
			t.Errorf("%+v: value in the SQL text: %s", c.f, cond)
		}
	}
}
