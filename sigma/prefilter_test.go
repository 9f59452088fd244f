package sigma

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// edgeRules exercise what the prefilter must not get wrong: negation,
// case-sensitive and encoded values, all, regular expressions, keywords,
// wildcards with '?', empty values, null, exists, non-ASCII literals.
var edgeRules = []string{
	"  s: {f|contains: Kill}\n  condition: s\n",
	"  s: {f|contains: kill}\n  condition: not s\n",
	"  s: {f|cased|contains: Kill}\n  condition: s\n",
	"  s: {f|contains|all: [ab, cd]}\n  condition: s\n",
	"  s: {f|contains|all: [ab, '']}\n  condition: s\n",
	"  s: {f|re: 'k.ll'}\n  condition: s\n",
	"  s: {f: 'k?ll*'}\n  condition: s\n",
	"  s: {f: ''}\n  condition: s\n",
	"  s: {f: null}\n  condition: s\n",
	"  s: {f|exists: true}\n  condition: s\n",
	"  s: {f|contains: 日本}\n  condition: s\n",
	"  s: {f|base64|contains: kill}\n  condition: s\n",
	"  s: {f|base64offset|contains: kill}\n  condition: s\n",
	"  s: {f|wide|contains: kill}\n  condition: s\n",
	"  s: [kill, ab]\n  condition: s\n",
	"  a: {f|startswith: ab}\n  b: {g|endswith: cd}\n  condition: a and b\n",
	"  a: {f|startswith: ab}\n  b: {g|endswith: cd}\n  condition: a or b\n",
	"  a: {f|startswith: ab}\n  b: {g|re: 'x'}\n  condition: a or b\n",
	"  a: {f|startswith: ab}\n  b: {g|re: 'x'}\n  condition: a and not b\n",
	"  a: {f: '*ab*cd*'}\n  condition: a\n",
	"  a: {f: 'ab*cd'}\n  condition: a\n",
	"  a: {f|neq: ab}\n  condition: a\n",
	"  a: {f|contains: ab, g|contains: cd}\n  b: {h: [x, y]}\n  condition: 1 of them\n",
	"  a: {f|contains: ab, g|contains: cd}\n  b: {h: [x, y]}\n  condition: all of them\n",
	"  a: [{f: ab}, {g: cd}]\n  condition: a\n",
	"  a: {f|cidr: 10.0.0.0/8}\n  condition: a\n",
	"  a: {f|gt: 5}\n  condition: a\n",
	"  a: {f|fieldref: g}\n  condition: a\n",
	"  a: {f: '\\*x\\?'}\n  condition: a\n",
}

// edgeRuleSet loads edgeRules as proxy rules e0, e1, ...
func edgeRuleSet(t testing.TB) []*Rule { return detectionRules(t, "e", edgeRules) }

// detectionRules loads detection sections as proxy rules prefix0, ...
func detectionRules(t testing.TB, prefix string, dets []string) []*Rule {
	var rules []*Rule
	for i, det := range dets {
		y := fmt.Sprintf("title: %s%d\nid: %s%d\nlogsource: {category: proxy}\ndetection:\n%s", prefix, i, prefix, i, det)
		s, errs := Parse([]byte(y), prefix, nil)
		if len(errs) > 0 {
			t.Fatalf("rule %s%d: %v", prefix, i, errs[0])
		}
		rules = append(rules, s.Rules...)
	}
	return rules
}

// literalsOf collects the literals of rules' atoms, to build events that
// hit them.
func literalsOf(rules []*Rule) (lits []string, fields []string) {
	seenF := map[string]bool{}
	for _, r := range rules {
		atoms, _ := needCtx{}.needNode(r.det.cond)
		for _, a := range atoms {
			lits = append(lits, a.lit)
			if !seenF[a.field] {
				seenF[a.field] = true
				fields = append(fields, a.field)
			}
		}
	}
	slices.Sort(fields)
	return lits, fields
}

// randomValue mixes rule literals (in random case), noise and non-ASCII
// runes (the Kelvin sign lowercases to ASCII 'k').
func randomValue(rng *rand.Rand, lits []string) string {
	var b strings.Builder
	for k := rng.IntN(4); k >= 0; k-- {
		switch rng.IntN(6) {
		case 0, 1, 2:
			if len(lits) > 0 {
				l := lits[rng.IntN(len(lits))]
				if rng.IntN(4) > 0 && len(l) > 1 { // a part of it: near misses
					i := rng.IntN(len(l))
					l = l[i:] + l[:i]
				}
				for _, c := range []byte(l) {
					if rng.IntN(2) == 0 && c >= 'a' && c <= 'z' {
						c -= 'a' - 'A'
					}
					b.WriteByte(c)
				}
			}
		case 3:
			b.WriteString([]string{"\u212Aill", "İ", "日本語", "\xff", "ǅ", "x", "/", " ", "=", "ab", "cd", "kill", "a\x00b"}[rng.IntN(13)])
		default:
			b.WriteString(fmt.Sprint(rng.IntN(1000)))
		}
	}
	return b.String()
}

func naiveMatch(rules []*Rule, ev Event) []*Rule {
	var out []*Rule
	for _, r := range rules {
		if r.Match(ev) {
			out = append(out, r)
		}
	}
	return out
}

// TestPrefilterAgrees: for the shared rules and the edge rules, the indexed
// (prefiltered) match equals evaluating every rule of the source, on the
// benchmark stream and on random events built from the rules' literals.
func TestPrefilterAgrees(t *testing.T) {
	rules := append(edgeRuleSet(t), gateRuleSet(t)...)
	shared := 0
	if dir := sharedDirOrEmpty("sigma"); dir != "" {
		for _, sub := range []string{"rules", "unsupported"} {
			set, _, err := LoadDir(filepath.Join(dir, sub), nil)
			if err != nil {
				t.Fatal(err)
			}
			rules = append(rules, set.Rules...)
			shared += len(set.Rules)
		}
	}
	idx := NewIndex(rules)
	filtered, total := 0, 0
	for k, rs := range idx.by {
		total += len(rs)
		filtered += len(rs) - len(idx.pre[k].always)
	}
	t.Logf("%d rules (%d shared), %d with a literal prefilter", total, shared, filtered)
	if shared > 0 && filtered < total/2 {
		t.Errorf("only %d of %d rules prefiltered", filtered, total)
	}
	check := func(key string, ev Event) {
		t.Helper()
		got := idx.Match(key, ev, nil)
		want := naiveMatch(idx.by[key], ev)
		if !slices.Equal(got, want) {
			t.Fatalf("%s event %v: indexed %v, all rules %v", key, ev, ids(got), ids(want))
		}
	}
	for _, ev := range syntheticStream(3000) {
		check(ev.key, ev)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	hits := 0
	for key, rs := range idx.by {
		lits, fields := literalsOf(rs)
		fields = append(fields, "f", "g", "h")
		for range 20000 {
			ev := mapEvent{}
			for _, f := range fields {
				if rng.IntN(3) > 0 {
					ev[f] = randomValue(rng, lits)
				}
			}
			if len(naiveMatch(rs, ev)) > 0 {
				hits++
			}
			check(key, ev)
		}
	}
	if hits < 1000 {
		t.Errorf("random events matched only %d times: the test does not exercise matches", hits)
	}
}

func ids(rs []*Rule) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// FuzzPrefilter: any value of f, g and h gets the same rules from the index
// as from evaluating every edge rule.
func FuzzPrefilter(f *testing.F) {
	rules := append(edgeRuleSet(f), gateRuleSet(f)...)
	idx := NewIndex(rules)
	f.Add("Kill", "abcd", "x")
	f.Add("\u212Aill", "", "日本")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		ev := mapEvent{"f": a, "g": b, "h": c}
		got := idx.Match("proxy", ev, nil)
		if want := naiveMatch(rules, ev); !slices.Equal(got, want) {
			t.Fatalf("indexed %v, all rules %v", ids(got), ids(want))
		}
	})
}

// sharedDirOrEmpty is sharedDir without the skip: "" when absent. The
// data is ../shared relative to the repo root; one level further up from a
// git worktree under /work/wt.
func sharedDirOrEmpty(sub string) string {
	for _, root := range []string{filepath.Join("..", ".."), filepath.Join("..", "..", "..")} {
		d := filepath.Join(root, "shared", "data", "logs", sub)
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	return ""
}
