package sigma

import (
	"slices"
	"strings"
)

// The prefilter lets Index evaluate only the rules that can match an event.
// For each rule it derives, from the compiled detection, a set of atoms —
// "field F contains the ASCII literal L, ignoring ASCII case" — at least
// one of which holds whenever the rule matches (a necessary condition, so
// skipping a rule none of whose atoms holds never loses a match). A rule
// for which no such set exists (a "not", a regular expression, cidr,
// exists, a keyword search, an empty or non-ASCII literal, ...) is always
// evaluated. Candidate rules are then evaluated in full by Rule.Match, so
// the result is exactly that of evaluating every rule
// (TestPrefilterAgrees and FuzzPrefilter compare the two).
//
// All atoms of one field are found in one pass over the value by an
// Aho–Corasick automaton over the lowercased literals.

// atom: the event field contains lit (lowercase ASCII) under ASCII case
// folding of the value (or within foldString of a non-ASCII value, which
// contains every ASCII letter the case-insensitive matchers and (?i)
// regular expressions can match there). Field "" is a keyword atom: some
// value the event ranges over (FieldRanger) contains lit.
type atom struct{ field, lit string }

// needCtx says which fields atoms may name. The prefilter (verbatim nil)
// reads named fields only; the raw-line gate (gate.go) takes atoms on the
// fields its verbatim function vouches for, keywords ("") included, and
// relies on the promise that such a field, when present, is not empty.
type needCtx struct {
	verbatim func(field string) bool
	absent   func(field string) bool // gate: the field is never present
	bounds   func(field string) (before, after []string)
	values   func(field string) []string // gate: the field's only values (lower case), nil: any
}

func (c needCtx) ok(field string) bool {
	if c.verbatim == nil {
		return field != ""
	}
	return c.verbatim(field)
}

// maxAtomsPerRule bounds what one rule adds to an automaton; a rule
// needing more is evaluated for every event instead (still exact).
const maxAtomsPerRule = 4096

// needNode returns atoms of which one holds whenever n matches; ok is
// false when no such set can be derived. ok with no atoms means n cannot
// match at all (only the gate derives that, from its non-empty promise).
func (c needCtx) needNode(n node) (atoms []atom, ok bool) {
	switch x := n.(type) {
	case *selNode:
		return c.needSelection(x.s)
	case *orNode:
		for _, k := range x.kids {
			a, ok := c.needNode(k)
			if !ok {
				return nil, false
			}
			atoms = append(atoms, a...)
		}
		return atoms, len(atoms) <= maxAtomsPerRule
	case *andNode:
		var sets [][]atom
		for _, k := range x.kids {
			if a, ok := c.needNode(k); ok {
				sets = append(sets, a)
			}
		}
		return best(sets)
	}
	return nil, false // not, and anything else
}

func (c needCtx) needSelection(s *selection) ([]atom, bool) {
	var atoms []atom
	for _, g := range s.groups {
		var sets [][]atom
		for _, f := range g {
			if a, ok := c.needField(f); ok {
				sets = append(sets, a)
			}
		}
		a, ok := best(sets)
		if !ok {
			return nil, false
		}
		atoms = append(atoms, a...)
	}
	return atoms, len(s.groups) > 0 && len(atoms) <= maxAtomsPerRule
}

// best picks, among alternative necessary sets (any one of them is
// enough), the most selective: an empty set (cannot match), else the
// longest shortest literal, then the fewest atoms.
func best(sets [][]atom) ([]atom, bool) {
	var out []atom
	score := -1
	for _, s := range sets {
		if len(s) == 0 {
			return s, true
		}
		m := len(s[0].lit)
		for _, a := range s {
			m = min(m, len(a.lit))
		}
		if m > score || m == score && len(s) < len(out) {
			out, score = s, m
		}
	}
	return out, score > 0
}

func (c needCtx) needField(f *fieldMatcher) ([]atom, bool) {
	if c.absent != nil && c.absent(f.field) {
		if f.neq || f.matchNil || f.exists < 0 {
			return nil, false // these match an absent field
		}
		return []atom{}, true // a value (or exists: true) on a field never present
	}
	if !c.ok(f.field) || f.exists != 0 || f.neq || f.matchNil || len(f.vals) == 0 {
		return nil, false
	}
	var per [][]atom // atoms per value
	for _, v := range f.vals {
		a, ok := c.needValue(f.field, v)
		if !ok {
			if f.all {
				continue // another value of the AND may still give atoms
			}
			return nil, false
		}
		per = append(per, a)
	}
	if len(per) == 0 {
		return nil, false
	}
	if f.all {
		return best(per) // every value matches, so any one's atoms are necessary
	}
	var atoms []atom
	for _, a := range per {
		atoms = append(atoms, a...)
	}
	if len(atoms) > maxAtomsPerRule && c.bounds != nil {
		// contexts multiplied the atoms past the bound: the bare literals
		// are fewer, and still necessary
		c.bounds = nil
		return c.needField(f)
	}
	return atoms, len(atoms) <= maxAtomsPerRule
}

func (c needCtx) needValue(field string, v valueMatcher) ([]atom, bool) {
	switch m := v.(type) {
	case anyOf:
		var atoms []atom
		for _, x := range m {
			a, ok := c.needValue(field, x)
			if !ok {
				return nil, false
			}
			atoms = append(atoms, a...)
		}
		return atoms, len(m) > 0 && len(atoms) <= maxAtomsPerRule
	case *strMatcher:
		if m.kind == kAny {
			return nil, false
		}
		if m.kind == kEq && m.lits[0] == "" && c.verbatim != nil {
			// The gate's fields are never present and empty, and an absent
			// field does not equal '' (fieldMatcher.match): never.
			return []atom{}, true
		}
		if c.bounds != nil {
			if a, ok := c.boundedAtoms(field, m); ok {
				return a, true
			}
		}
		lit := ""
		for _, l := range m.lits {
			if len(l) > len(lit) {
				lit = l
			}
		}
		if lit == "" || !isASCII(lit) {
			return nil, false
		}
		if c.values != nil {
			if vals := c.values(field); vals != nil {
				// a field with a few known values: the literal must be in
				// one of them, else the matcher never holds
				for _, v := range vals {
					if strings.Contains(v, lower(lit)) {
						return []atom{{field, lower(lit)}}, true
					}
				}
				return []atom{}, true
			}
		}
		// case-sensitive literals (cased, base64) are folded too: a value
		// containing them also contains them folded
		return []atom{{field, lower(lit)}}, true
	case *reMatcher:
		return reAtoms(field, m.re)
	case *globRE:
		// a glob with '?': the pattern is matched against the lowercased
		// value (ci) or the value itself, so its literals are necessary
		return reAtoms(field, m.re)
	}
	return nil, false
}

// prefilter is the per-source-key part of Index.
type prefilter struct {
	words  int   // uint64 words of a rule bitset
	always []int // positions of rules evaluated for every event
	fields []*acScanner
}

func newPrefilter(rules []*Rule) *prefilter {
	p := &prefilter{words: (len(rules) + 63) / 64}
	byField := map[string]map[string][]int{} // field -> literal -> rule positions
	for i, r := range rules {
		var atoms []atom
		ok := false
		if r.det != nil {
			atoms, ok = needCtx{}.needNode(r.det.cond)
		}
		if ok && len(atoms) == 0 {
			ok = false // (not derived by the prefilter; kept exact regardless)
		}
		if !ok {
			p.always = append(p.always, i)
			continue
		}
		for _, a := range atoms {
			if byField[a.field] == nil {
				byField[a.field] = map[string][]int{}
			}
			byField[a.field][a.lit] = append(byField[a.field][a.lit], i)
		}
	}
	fields := make([]string, 0, len(byField))
	for f := range byField {
		fields = append(fields, f)
	}
	slices.Sort(fields)
	for _, f := range fields {
		p.fields = append(p.fields, newACScanner(f, byField[f], p.words))
	}
	return p
}

// candidates sets in bits the positions of rules that may match ev.
func (p *prefilter) candidates(ev Event, bits []uint64) {
	for _, i := range p.always {
		bits[i/64] |= 1 << (i % 64)
	}
	for _, sc := range p.fields {
		v, ok := ev.Get(sc.field)
		if !ok || v == "" {
			continue
		}
		sc.scan(foldString(v), bits)
	}
}

// acScanner is an Aho–Corasick automaton (as a DFA over byte classes)
// finding every literal of one field in a value, folding ASCII case.
type acScanner struct {
	field string
	class [256]uint8
	ncls  int
	delta []int32    // state*ncls + class -> state
	out   [][]uint64 // per state: rules whose literal ends here (nil: none)
	fast  []int32    // the gate's delta (buildFast), nil for the prefilter
	start [256]bool  // bytes leaving the root state (buildFast)
	// pairs has bit a<<8|b set when a literal begins with the bytes a, b
	// (ASCII folded); nil when some literal is a single byte. At a start
	// byte the gate looks at the pair before entering the automaton: most
	// start bytes (space, '.', letters) begin no literal with the next.
	pairs []uint64
}

// foldByte lowercases ASCII letters.
var foldByte = func() (t [256]byte) {
	for i := range t {
		t[i] = byte(i)
		if i >= 'A' && i <= 'Z' {
			t[i] = byte(i + 'a' - 'A')
		}
	}
	return t
}()

func newACScanner(field string, lits map[string][]int, words int) *acScanner {
	sc := &acScanner{field: field}
	// byte classes: one per byte used in a literal, 0 for all others;
	// upper-case ASCII letters share their lower-case letter's class
	keys := make([]string, 0, len(lits))
	for l := range lits {
		keys = append(keys, l)
	}
	slices.Sort(keys)
	n := 1
	for _, l := range keys {
		for i := 0; i < len(l); i++ {
			if sc.class[l[i]] == 0 {
				if n == 256 {
					break
				}
				sc.class[l[i]] = uint8(n)
				n++
			}
		}
	}
	for c := 'A'; c <= 'Z'; c++ {
		sc.class[c] = sc.class[c+'a'-'A']
	}
	sc.ncls = n
	sc.pairs = make([]uint64, 65536/64)
	for _, l := range keys {
		if len(l) < 2 {
			sc.pairs = nil
			break
		}
		k := int(foldByte[l[0]])<<8 | int(foldByte[l[1]])
		sc.pairs[k>>6] |= 1 << (k & 63)
	}
	// trie
	type node struct {
		next map[uint8]int32
		fail int32
		mask []uint64
	}
	nodes := []node{{next: map[uint8]int32{}}}
	for _, l := range keys {
		s := int32(0)
		for i := 0; i < len(l); i++ {
			c := sc.class[l[i]]
			nx, ok := nodes[s].next[c]
			if !ok {
				nx = int32(len(nodes))
				nodes = append(nodes, node{next: map[uint8]int32{}})
				nodes[s].next[c] = nx
			}
			s = nx
		}
		if nodes[s].mask == nil {
			nodes[s].mask = make([]uint64, words)
		}
		for _, r := range lits[l] {
			nodes[s].mask[r/64] |= 1 << (r % 64)
		}
	}
	// breadth first: failure links, merged outputs, full transitions
	sc.delta = make([]int32, len(nodes)*n)
	sc.out = make([][]uint64, len(nodes))
	queue := []int32{0}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if f := nodes[s].fail; s != 0 && nodes[f].mask != nil {
			if nodes[s].mask == nil {
				nodes[s].mask = make([]uint64, words)
			}
			for w, b := range nodes[f].mask {
				nodes[s].mask[w] |= b
			}
		}
		sc.out[s] = nodes[s].mask
		for c := range n {
			nx, ok := nodes[s].next[uint8(c)]
			if !ok {
				if s == 0 {
					sc.delta[c] = 0
				} else {
					sc.delta[int(s)*n+c] = sc.delta[int(nodes[s].fail)*n+c]
				}
				continue
			}
			if s != 0 {
				nodes[nx].fail = sc.delta[int(nodes[s].fail)*n+c]
			}
			sc.delta[int(s)*n+c] = nx
			queue = append(queue, nx)
		}
	}
	return sc
}

// scan sets the bits of the literals found in v and returns the final
// state (scanLine continues from it).
func (sc *acScanner) scan(v string, bits []uint64) int32 {
	s := int32(0)
	n := sc.ncls
	for i := 0; i < len(v); i++ {
		s = sc.delta[int(s)*n+int(sc.class[v[i]])]
		if m := sc.out[s]; m != nil {
			for w, b := range m {
				bits[w] |= b
			}
		}
	}
	return s
}
