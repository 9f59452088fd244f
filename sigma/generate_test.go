package sigma

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp/syntax"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/goccy/go-yaml"
)

// This file generates, for each shared rule, an event that should match
// (from the rule's own YAML, not from the compiled matchers) and a mutated
// one that should not, so the engine is checked against the rule text.

// assign finds selection truth values that make n evaluate to want.
func assign(n node, want bool, acc map[string]bool) (map[string]bool, bool) {
	cp := func() map[string]bool {
		m := make(map[string]bool, len(acc))
		for k, v := range acc {
			m[k] = v
		}
		return m
	}
	switch x := n.(type) {
	case *selNode:
		if v, ok := acc[x.s.name]; ok {
			return acc, v == want
		}
		m := cp()
		m[x.s.name] = want
		return m, true
	case *notNode:
		return assign(x.kid, !want, acc)
	case *andNode, *orNode:
		var kids []node
		conj := false
		if a, ok := x.(*andNode); ok {
			kids, conj = a.kids, true
		} else {
			kids = x.(*orNode).kids
		}
		if conj == want { // every kid must be want
			m := acc
			for _, k := range kids {
				var ok bool
				if m, ok = assign(k, want, m); !ok {
					return acc, false
				}
			}
			return m, true
		}
		for _, k := range kids { // one kid suffices
			if m, ok := assign(k, want, cp()); ok {
				return m, true
			}
		}
	}
	return acc, false
}

// unglob turns a Sigma wildcard value into a concrete string.
func unglob(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v) && strings.IndexByte(`*?\`, v[i+1]) >= 0:
			b.WriteByte(v[i+1])
			i++
		case c == '*':
			b.WriteString("x")
		case c == '?':
			b.WriteString("q")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// reSample produces a string matching a regular expression.
func reSample(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCharClass:
		if len(re.Rune) > 0 {
			return string(re.Rune[0])
		}
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return "a"
	case syntax.OpCapture:
		return reSample(re.Sub[0])
	case syntax.OpPlus:
		return reSample(re.Sub[0])
	case syntax.OpRepeat:
		return strings.Repeat(reSample(re.Sub[0]), re.Min)
	case syntax.OpConcat:
		var b strings.Builder
		for _, s := range re.Sub {
			b.WriteString(reSample(s))
		}
		return b.String()
	case syntax.OpAlternate:
		return reSample(re.Sub[0])
	}
	return "" // star, quest, anchors, empty
}

func genValue(t *testing.T, mods []string, vals []any) (string, bool) {
	has := map[string]bool{}
	for _, m := range mods {
		has[m] = true
	}
	strs := []string{}
	for _, v := range vals {
		if v == nil {
			return "", false // null: leave the field absent
		}
		s, _, err := scalar(v)
		if err != nil {
			t.Fatal(err)
		}
		strs = append(strs, s)
	}
	if has["exists"] {
		return "present", vals[0] == true
	}
	if !has["all"] {
		strs = strs[:1]
	}
	var parts []string
	for _, s := range strs {
		switch {
		case has["re"]:
			flags := syntax.Perl
			if has["i"] {
				flags |= syntax.FoldCase
			}
			re, err := syntax.Parse(s, flags)
			if err != nil {
				t.Fatal(err)
			}
			parts = append(parts, reSample(re.Simplify()))
			continue
		case has["cidr"]:
			p := netip.MustParsePrefix(s)
			a := p.Masked().Addr()
			if p.Bits() < a.BitLen() {
				a = a.Next()
			}
			parts = append(parts, a.String())
			continue
		case has["gt"]:
			f, _ := strconv.ParseFloat(s, 64)
			parts = append(parts, strconv.FormatFloat(f+1, 'f', -1, 64))
			continue
		case has["gte"], has["lte"]:
			parts = append(parts, s)
			continue
		case has["lt"]:
			f, _ := strconv.ParseFloat(s, 64)
			parts = append(parts, strconv.FormatFloat(f-1, 'f', -1, 64))
			continue
		}
		v := s
		enc := false
		for _, m := range mods {
			switch m {
			case "wide", "utf16le":
				u := utf16.Encode([]rune(v))
				var b []byte
				for _, c := range u {
					b = append(b, byte(c), byte(c>>8))
				}
				v = string(b)
			case "base64", "base64offset":
				v = base64.StdEncoding.EncodeToString([]byte(v))
				enc = true
			}
		}
		if !enc {
			v = unglob(v)
		}
		switch {
		case has["contains"]:
			v = "pre " + v + " post"
		case has["startswith"]:
			v += "tail"
		case has["endswith"]:
			v = "head" + v
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, " "), true
}

// fragment builds the fields that satisfy one selection (its first
// alternative), keyed by event field.
func fragment(t *testing.T, raw any, fmap map[string]string) mapEvent {
	ev := mapEvent{}
	var m map[string]any
	switch x := raw.(type) {
	case map[string]any:
		m = x
	case []any:
		if mm, ok := x[0].(map[string]any); ok {
			m = mm
		} else {
			s, _, _ := scalar(x[0])
			ev["keyword_field"] = "pre " + unglob(s) + " post"
			return ev
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts := strings.Split(k, "|")
		field := parts[0]
		if f, ok := fmap[field]; ok {
			field = f
		}
		vals, ok := m[k].([]any)
		if !ok {
			vals = []any{m[k]}
		}
		if v, ok := genValue(t, parts[1:], vals); ok {
			// The same field twice (contains and endswith): compose so both hold.
			if prev, dup := ev[field]; dup {
				if strings.Contains(k, "|startswith") {
					v += prev
				} else {
					v = prev + v
				}
			}
			ev[field] = v
		}
	}
	return ev
}

func TestSharedRulesPositiveNegative(t *testing.T) {
	dir := sharedDir(t, "sigma")
	files, _ := filepath.Glob(filepath.Join(dir, "rules", "*", "*", "*.yml"))
	more, _ := filepath.Glob(filepath.Join(dir, "rules", "*", "*", "*", "*.yml"))
	files = append(files, more...)
	if len(files) != 78 {
		t.Fatalf("found %d rule files, want 78", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			set, errs := Parse(data, f, nil)
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			r := set.Rules[0]
			pos, truth, rawDet := craftPositive(t, r, data)
			fmap := DefaultMapping().For(r.LogSource)
			// Negative: every generated value replaced by a benign one.
			neg := mapEvent{}
			for k := range pos {
				neg[k] = "benign-value-0"
			}
			if len(pos) == 0 {
				// "not selection": make the selection true instead.
				for name := range truth {
					for k, v := range fragment(t, rawDet[name], fmap) {
						neg[k] = v
					}
				}
			}
			if r.Match(neg) {
				t.Fatalf("mutated negative %v matches", neg)
			}
		})
	}
}

// craftPositive generates an event that satisfies r's condition from the
// rule text (data) and checks that r matches it.
func craftPositive(t *testing.T, r *Rule, data []byte) (mapEvent, map[string]bool, map[string]any) {
	t.Helper()
	var raw struct {
		Detection map[string]any `yaml:"detection"`
	}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	fmap := DefaultMapping().For(r.LogSource)
	truth, ok := assign(r.det.cond, true, map[string]bool{})
	if !ok {
		t.Fatal("condition is unsatisfiable")
	}
	pos := mapEvent{}
	var trueSels []string
	for name, v := range truth {
		if v {
			trueSels = append(trueSels, name)
		}
	}
	sort.Strings(trueSels)
	for _, name := range trueSels {
		for k, v := range fragment(t, raw.Detection[name], fmap) {
			pos[k] = v
		}
	}
	if !r.Match(pos) {
		t.Fatalf("crafted positive %v (selections %v) does not match", pos, trueSels)
	}
	return pos, truth, raw.Detection
}

// TestUnsupportedAggregationsFire feeds each legacy aggregation rule of
// unsupported/ just enough matching events to cross its threshold (it must
// fire once) and one event fewer in another tenant (it must stay silent).
func TestUnsupportedAggregationsFire(t *testing.T) {
	dir := sharedDir(t, "sigma")
	files, _ := filepath.Glob(filepath.Join(dir, "unsupported", "*", "*.yml"))
	tested := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		set, errs := Parse(data, f, nil)
		if len(errs) > 0 || set.Rules[0].Aggregation == nil {
			continue
		}
		r := set.Rules[0]
		t.Run(filepath.Base(f), func(t *testing.T) {
			tested++
			pos, _, _ := craftPositive(t, r, data)
			agg := r.Aggregation
			fmap := DefaultMapping().For(r.LogSource)
			mapped := func(f string) string {
				if m, ok := fmap[f]; ok {
					return m
				}
				return f
			}
			if len(agg.Conds) != 1 || agg.Conds[0].Op != "gt" {
				t.Fatalf("unexpected condition %+v", agg.Conds)
			}
			thr := int(agg.Conds[0].V)
			need := thr + 1 // events to cross "> thr"
			if agg.Type == "value_sum" {
				need = 2
			}
			e, err := NewEngine(nil, []*Rule{r}, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			feed := func(tenant string, n int) []CorrelationMatch {
				var out []CorrelationMatch
				for i := 0; i < n; i++ {
					ev := mapEvent{}
					for k, v := range pos {
						ev[k] = v
					}
					for _, g := range agg.GroupBy {
						if _, ok := ev[mapped(g)]; !ok {
							ev[mapped(g)] = "192.0.2.10"
						}
					}
					switch agg.Type {
					case "value_count":
						ev[mapped(agg.Field)] = fmt.Sprintf("v%d-%s", i, ev[mapped(agg.Field)])
					case "value_sum":
						ev[mapped(agg.Field)] = strconv.Itoa(thr/2 + 1)
					}
					if !r.Match(ev) {
						t.Fatalf("varied event %v no longer matches", ev)
					}
					se := streamEv{ev, t0.Add(time.Duration(i) * time.Millisecond), tenant}
					out = append(out, e.Observe(se, []*Rule{r})...)
				}
				return out
			}
			if got := feed("city-a", need); len(got) != 1 || got[0].Tenant != "city-a" {
				t.Fatalf("%s over %d events: %d matches, want 1", agg.Type, need, len(got))
			}
			if got := feed("city-b", need-1); len(got) != 0 {
				t.Fatalf("%d events under the threshold fired: %+v", need-1, got)
			}
		})
	}
	if tested != 9 {
		t.Errorf("tested %d aggregation rules, want 9", tested)
	}
}
