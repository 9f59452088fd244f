package sigma

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParseRule(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.yml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("title: t\nlogsource: {category: proxy}\ndetection:\n  s:\n    c-uri|contains|all: [a, b]\n    cs-host|re|i: '^x.*'\n  k: ['*evil*']\n  condition: 1 of s* or not k | count(c-uri) by src_ip > 3\n  timeframe: 5m\n"))
	f.Add([]byte("title: c\ncorrelation: {type: temporal_ordered, rules: [a, b], group-by: [x], timespan: 5m}\n---\ntitle: a\nname: a\nlogsource: {}\ndetection: {s: {x|cidr: 10.0.0.0/8}, condition: s}\n"))
	ev := streamEv{mapEvent{"c-uri": "/a/b", "cs-host": "x.example", "src_ip": "10.1.1.1", "x": "10.0.0.1"}, time.Unix(0, 0), "t"}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, errs := Parse(data, "fuzz.yml", nil)
		for _, e := range errs {
			if e.Error() == "" || strings.Contains(e.Error(), "internal error") {
				t.Fatalf("bad error %q (a recovered panic is a bug)", e)
			}
		}
		for _, r := range set.Rules {
			r.Match(ev)
		}
		if e, err := NewEngine(set.Correlations, set.Rules, nil, 16); err == nil {
			e.Observe(ev, set.Rules)
		}
	})
}

func FuzzCondition(f *testing.F) {
	for _, s := range []string{"a and not b", "1 of sel_* or all of them", "(a or (b and not (c)))", "all of b*", "not not not a", "a and", "((((", "1 of", "x of them"} {
		f.Add(s)
	}
	sels := map[string]*selection{
		"a": {name: "a"}, "b": {name: "b"}, "c": {name: "c"}, "sel_1": {name: "sel_1"}, "sel_2": {name: "sel_2"},
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := parseCondition(s, sels)
		if err == nil && n == nil {
			t.Fatal("nil node without error")
		}
		if n != nil {
			n.eval(mapEvent{})
		}
	})
}

// FuzzFoldAgreesWithLower checks that in-place ASCII case folding gives the
// same answer as lowercasing the value first, for every pattern shape.
func FuzzFoldAgreesWithLower(f *testing.F) {
	f.Add("*Evil*", "the EVIL one")
	f.Add("a*b*c", "AxBxC")
	f.Add("/api", "/API")
	f.Add("*.exe", "A.EXE")
	f.Add("ab*ba", "aba")
	f.Fuzz(func(t *testing.T, pattern, value string) {
		if !isASCII(value) || strings.ContainsRune(pattern, '?') {
			return
		}
		m, err := parseGlob(pattern, false).compile(true)
		if err != nil {
			return
		}
		sm := m.(*strMatcher)
		folded := sm.matchFold(value)
		lowered := sm.match(nil, val{s: value, low: lower(value)})
		if folded != lowered {
			t.Fatalf("pattern %q value %q: fold %v, lower %v", pattern, value, folded, lowered)
		}
	})
}
