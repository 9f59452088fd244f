package sigma

import (
	"math/bits"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The raw-line gate lets intake skip the content parse of most lines
// (issue 8 §6: the security cloud defers parsing, event.Event.Defer).
// MayMatch answers, from the raw line alone, whether any rule of a source
// key can match the event parsed from it; false is a certainty.
//
// Soundness rests on the caller's verbatim function: verbatim(key, F)
// promises that for every event of key parsed from raw, a present F has a
// non-empty value that is a substring of raw, or strings.ToLower of one.
// Then "F contains L" (an atom of the prefilter, ASCII case folded)
// implies "raw contains L" under the same folding, so one Aho–Corasick
// scan of raw finds every rule that can match. A rule is gated when some
// necessary atom set of it lies on verbatim fields only; a rule with
// none (an atom on a parsed-and-transformed field, cidr, exists, a bare
// "not", '*') keeps every line of its key ("must parse"). Keywords (field
// "") are gated when verbatim(key, "") promises the same of every value
// the event ranges over (vacuous for events that do not range).

// gate is the per-source-key part of the raw-line gate.
type gate struct {
	must  []*Rule    // rules that keep every line (must parse)
	sc    *acScanner // atoms of the gated rules over the raw line; nil: none
	ascii *acScanner // sc without the atoms holding non-ASCII bytes, which an ASCII line cannot contain
	rs    []*Rule    // rule of each automaton output bit
	// extra holds, per automaton bit, the atom sets of the other parts of
	// a top-level AND: once the automaton finds a rule's atom, the line is
	// kept only if every other part has one too (a port 80 on a line whose
	// verdict is drop does not keep it for a rule that needs "accept").
	extra    [][][]atom
	hasExtra bool
}

// Gate configures the raw-line gate (Index.SetGate).
type Gate struct {
	// Verbatim(key, field) must hold only when, for every event of key
	// parsed from a raw line, a present field has a non-empty value that
	// is a substring of the line or strings.ToLower of one; for field ""
	// (keywords), when every value the event ranges over (FieldRanger) is.
	Verbatim func(key, field string) bool
	// Absent(key, field), optional, must hold only when events of key
	// never have field; for "", when keyword search never finds a value
	// (the event does not range over its fields). Rules needing such a
	// field cannot match, whatever the line.
	Absent func(key, field string) bool
	// Bounds(key, field), optional, says what surrounds a present
	// field's verbatim value in the line: one of before immediately
	// precedes it and one of after immediately follows it, "\n" standing
	// for the end of the line too; an empty list (or one holding "")
	// constrains nothing. Equality, prefix and suffix values then give
	// atoms with that context ("dpt=23 " rather than "23"), which short
	// values such as ports need to be selective.
	Bounds func(key, field string) (before, after []string)
	// Values(key, field), optional, lists (in lower case) the only values
	// a present verbatim field can take (a verdict the parser names from
	// a fixed set); nil means any. A literal in none of them cannot match.
	Values func(key, field string) []string
	// Quiet, optional, names rules whose matches the caller discards (an
	// aggregation rule while correlations are off): they keep no line, and
	// MayMatch vouches only for the other rules.
	Quiet func(*Rule) bool
}

// SetVerbatim builds the raw-line gate over every indexed rule (SetGate
// with only Gate.Verbatim).
func (x *Index) SetVerbatim(verbatim func(key, field string) bool) {
	x.SetGate(Gate{Verbatim: verbatim})
}

// SetGate builds the raw-line gate (MayMatch). Call it before the index
// is shared; MayMatch is then safe for concurrent use.
func (x *Index) SetGate(cfg Gate) {
	x.gates = map[string]*gate{}
	for key, rs := range x.by {
		ctx := needCtx{verbatim: func(field string) bool { return cfg.Verbatim(key, field) }}
		if cfg.Absent != nil {
			ctx.absent = func(field string) bool { return cfg.Absent(key, field) }
		}
		if cfg.Bounds != nil {
			ctx.bounds = func(field string) ([]string, []string) { return cfg.Bounds(key, field) }
		}
		if cfg.Values != nil {
			ctx.values = func(field string) []string { return cfg.Values(key, field) }
		}
		g := &gate{}
		lits := map[string][]int{}
		for _, r := range rs {
			if cfg.Quiet != nil && cfg.Quiet(r) {
				continue
			}
			atoms, extra, ok := gateParts(r, ctx)
			if !ok {
				g.must = append(g.must, r)
				continue
			}
			if len(atoms) == 0 {
				continue // cannot match under the promises
			}
			i := len(g.rs)
			g.rs = append(g.rs, r)
			g.extra = append(g.extra, extra)
			g.hasExtra = g.hasExtra || len(extra) > 0
			for _, a := range atoms {
				if !slices.Contains(lits[a.lit], i) {
					lits[a.lit] = append(lits[a.lit], i)
				}
			}
		}
		if len(g.rs) > 0 {
			g.sc, g.ascii = lineScanners(lits, (len(g.rs)+63)/64)
		}
		x.gates[key] = g
	}
}

// lineScanners builds the automaton over lits and its ASCII-only part.
func lineScanners(lits map[string][]int, words int) (all, ascii *acScanner) {
	all = newACScanner("", lits, words)
	all.buildFast()
	al := map[string][]int{}
	for l, rs := range lits {
		if isASCII(l) {
			al[l] = rs
		}
	}
	if len(al) == len(lits) {
		return all, all
	}
	ascii = newACScanner("", al, words)
	ascii.buildFast()
	return all, ascii
}

// gateParts derives the rule's necessary atoms on verbatim fields. For a
// top-level AND every part's set is necessary: the automaton gets one
// (best would pick the one with the longest shortest literal, but a part
// on a field with few distinct values — cs-method: GET beside a list of
// injection keywords — keeps nearly every line, so parts on such fields
// are taken only when no other part gives a set), and the others are
// checked once it finds an atom (extra).
func gateParts(r *Rule, ctx needCtx) (atoms []atom, extra [][]atom, ok bool) {
	if r.det == nil {
		return nil, nil, false
	}
	defer func() {
		if recover() != nil {
			atoms, extra, ok = nil, nil, false // a faulty promise: must parse
		}
	}()
	and, isAnd := r.det.cond.(*andNode)
	if !isAnd {
		atoms, ok = ctx.needNode(r.det.cond)
		return atoms, nil, ok
	}
	var rare, common [][]atom
	for _, k := range and.kids {
		a, ok := ctx.needNode(k)
		switch {
		case !ok:
		case len(a) == 0:
			return nil, nil, true // this part cannot match
		case fewValues(a):
			common = append(common, a)
		default:
			rare = append(rare, a)
		}
	}
	atoms, ok = best(rare)
	if !ok {
		if atoms, ok = best(common); !ok {
			return nil, nil, false
		}
	}
	for _, set := range append(rare, common...) {
		if &set[0] != &atoms[0] && len(set) <= maxExtraAtoms {
			extra = append(extra, set)
		}
	}
	return atoms, extra, true
}

// maxExtraAtoms bounds an AND part checked after the automaton (each atom
// is a substring search of the line).
const maxExtraAtoms = 64

// extrasHold reports whether every extra part has an atom in v, the line
// (ASCII, compared folding case) or its folded form (folded). A trailing
// "\n" in an atom is the end of the line, as for the automaton.
func extrasHold(extra [][]atom, v string, folded bool) bool {
	for _, set := range extra {
		found := false
		for _, a := range set {
			lit, atEnd := strings.CutSuffix(a.lit, "\n")
			switch {
			case atEnd && folded:
				found = strings.HasSuffix(v, lit) || strings.Contains(v, a.lit)
			case atEnd:
				found = len(v) >= len(lit) && eqFold(v[len(v)-len(lit):], lit) || indexFold(v, a.lit) >= 0
			case folded:
				found = strings.Contains(v, lit)
			default:
				found = indexFold(v, lit) >= 0
			}
			if found {
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// fewValuedFields are taxonomy fields with a handful of values, each
// found in a large share of lines: method, status, verdict, protocol,
// record type.
var fewValuedFields = map[string]bool{
	"cs-method": true, "sc-status": true, "action": true, "proto": true, "record_type": true,
	"response_code": true, "cs-version": true, "blocked": true, "severity": true, "facility": true,
}

// fewValues reports whether every atom of a is on a few-valued field.
func fewValues(a []atom) bool {
	for _, x := range a {
		if !fewValuedFields[x.field] {
			return false
		}
	}
	return true
}

// MustParse returns the rules of key that keep every line (no atom set on
// verbatim fields), nil before SetVerbatim.
func (x *Index) MustParse(key string) []*Rule {
	if g := x.gates[key]; g != nil {
		return g.must
	}
	return nil
}

// MayMatch reports whether a rule of key that tenant has not excluded may
// match the event parsed from raw; false means none can (Index.Match and
// MatchTenant would return nothing), so the caller may skip parsing it.
// Without SetVerbatim it is always true. raw must be the line the event's
// fields are parsed from (not an escaped or re-encoded form of it).
func (x *Index) MayMatch(key, tenant, raw string) bool {
	if x.gates == nil {
		return true
	}
	g := x.gates[key]
	if g == nil {
		return false // no rule for key
	}
	ex := x.excluded[tenant]
	for _, r := range g.must {
		if !ex[r] {
			return true
		}
	}
	if g.sc == nil {
		return false
	}
	if raw == "" {
		return true // "raw" itself may be present and empty
	}
	if len(ex) == 0 {
		if !g.hasExtra {
			found, ascii := g.ascii.anyLine(raw, true)
			if !ascii {
				found, _ = g.sc.anyLine(foldString(raw), false)
			}
			return found
		}
		// walk the matches: a rule whose atom is found is kept if its
		// other parts hold too
		if isASCII(raw) {
			return g.walk(g.ascii, raw, false)
		}
		return g.walk(g.sc, foldString(raw), true)
	}
	sc, v, folded := g.ascii, raw, false
	if !isASCII(raw) {
		sc, v, folded = g.sc, foldString(raw), true
	}
	var stack [4]uint64
	set := stack[:0]
	if w := (len(g.rs) + 63) / 64; w <= len(stack) {
		set = stack[:w]
	} else {
		set = make([]uint64, w)
	}
	sc.scanLine(v, set)
	for w, b := range set {
		for b != 0 {
			i := w*64 + bits.TrailingZeros64(b)
			b &= b - 1
			if !ex[g.rs[i]] && extrasHold(g.extra[i], v, folded) {
				return true
			}
		}
	}
	return false
}

// walk scans v match by match (like anyLine, skipping at the root) and
// reports whether some rule found has its extra parts in v too.
func (g *gate) walk(sc *acScanner, v string, folded bool) bool {
	fast, class, start := sc.fast, &sc.class, &sc.start
	s := int32(0)
	hit := func(x int32) bool {
		for w, b := range sc.out[(x&0x7fffffff)/int32(sc.ncls)] {
			for b != 0 {
				i := w*64 + bits.TrailingZeros64(b)
				b &= b - 1
				if extrasHold(g.extra[i], v, folded) {
					return true
				}
			}
		}
		return false
	}
	for i := 0; i < len(v); i++ {
		if s == 0 {
			for i < len(v) && !start[v[i]] {
				i++
			}
			if i == len(v) {
				break
			}
		}
		x := fast[int(s)+int(class[v[i]])]
		if x < 0 {
			if hit(x) {
				return true
			}
			x &= 0x7fffffff
		}
		s = x
	}
	if x := fast[int(s)+int(class['\n'])]; x < 0 {
		return hit(x)
	}
	return false
}

// buildFast fills fast: delta with each target pre-multiplied by ncls
// (a row offset) and the sign bit set when the target has an output, so
// anyLine needs one load per byte.
func (sc *acScanner) buildFast() {
	sc.fast = make([]int32, len(sc.delta))
	for i, t := range sc.delta {
		f := t * int32(sc.ncls)
		if sc.out[t] != nil {
			f |= -1 << 31
		}
		sc.fast[i] = f
	}
	for c := range 256 {
		// bytes >= 0x80 stop anyLine's skipping (they never leave
		// the root, so treating them as starts is harmless elsewhere)
		sc.start[c] = sc.fast[sc.class[c]] != 0 || c >= utf8.RuneSelf
	}
}

// anyLine reports whether some literal occurs in v+"\n" (the end of the
// line is a bound, Gate.Bounds), stopping at the first. With ascii, v
// should be ASCII: complete is false (and found meaningless) when it is
// not, which the scan notices on the way rather than in a pass of its own.
func (sc *acScanner) anyLine(v string, ascii bool) (found, complete bool) {
	fast, class, start := sc.fast, &sc.class, &sc.start
	s := int32(0)
	for i := 0; i < len(v); i++ {
		if s == 0 {
			// at the root, only a byte starting a literal moves: skip to
			// it with loads that do not wait on each other
			for i+8 <= len(v) {
				w := v[i : i+8]
				if start[w[0]] || start[w[1]] || start[w[2]] || start[w[3]] ||
					start[w[4]] || start[w[5]] || start[w[6]] || start[w[7]] {
					break
				}
				i += 8
			}
			for i < len(v) && !start[v[i]] {
				i++
			}
			if i == len(v) {
				break
			}
			// a start byte: does a literal begin with it and the next?
			if pairs := sc.pairs; pairs != nil && v[i] < utf8.RuneSelf {
				next := byte('\n')
				if i+1 < len(v) {
					next = v[i+1]
				}
				if k := int(foldByte[v[i]])<<8 | int(foldByte[next]); pairs[k>>6]&(1<<(k&63)) == 0 {
					continue
				}
			}
		}
		c := v[i]
		if ascii && c >= utf8.RuneSelf {
			return false, false
		}
		x := fast[int(s)+int(class[c])]
		if x < 0 {
			// a literal (an ASCII one occurs in the folded line as well)
			return true, true
		}
		s = x
	}
	return fast[int(s)+int(class['\n'])] < 0, true
}

// scanLine is scan over v+"\n".
func (sc *acScanner) scanLine(v string, bits []uint64) {
	s := sc.scan(v, bits)
	if m := sc.out[sc.delta[int(s)*sc.ncls+int(sc.class['\n'])]]; m != nil {
		for w, b := range m {
			bits[w] |= b
		}
	}
}

// boundedAtoms gives an equality, prefix, suffix or anchored sequence
// value its context (Gate.Bounds): before+literal+after, folded.
func (c needCtx) boundedAtoms(field string, m *strMatcher) ([]atom, bool) {
	before, after := c.bounds(field)
	if len(before) == 0 || slices.Contains(before, "") {
		before = nil
	}
	if len(after) == 0 || slices.Contains(after, "") {
		after = nil
	}
	var pre, post []string // contexts around lit
	lit := ""
	switch {
	case m.kind == kEq:
		lit, pre, post = m.lits[0], before, after
	case m.kind == kPrefix, m.kind == kSeq && !m.lead && (m.trail || len(m.lits[0]) >= len(m.lits[len(m.lits)-1])):
		lit, pre = m.lits[0], before
	case m.kind == kSuffix, m.kind == kSeq && !m.trail:
		lit, post = m.lits[len(m.lits)-1], after
	}
	if lit == "" || !isASCII(lit) || pre == nil && post == nil {
		return nil, false
	}
	if pre == nil {
		pre = []string{""}
	}
	if post == nil {
		post = []string{""}
	}
	if len(pre)*len(post) > maxAtomsPerRule {
		return nil, false
	}
	lit = lower(lit)
	var atoms []atom
	for _, b := range pre {
		for _, a := range post {
			atoms = append(atoms, atom{field, strings.Map(foldRune, b) + lit + strings.Map(foldRune, a)})
		}
	}
	return atoms, true
}

// foldRune is the case folding the automata see in non-ASCII text:
// unicode.ToLower, and the two non-ASCII runes that regular expressions
// with (?i) match for an ASCII letter (U+017F long s, U+212A Kelvin sign)
// mapped to that letter. foldRune(unicode.ToLower(r)) == foldRune(r), so
// strings.ToLower of a substring folds like the substring.
func foldRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	case r == 'ſ':
		return 's'
	case r == 'K':
		return 'k'
	}
	return unicode.ToLower(r)
}

// foldString returns ASCII s as is (the automata fold ASCII themselves)
// and foldRune of every rune of any other s. Folding rune by rune keeps
// substrings: the fold of a substring of s (cut at rune boundaries, as
// every valid UTF-8 substring is) is a substring of the fold of s.
func foldString(s string) string {
	if isASCII(s) {
		return s
	}
	b := make([]byte, 0, len(s)+8)
	for _, r := range s {
		b = utf8.AppendRune(b, foldRune(r))
	}
	return string(b)
}

// foldSafe[c] is true when every rune a (?i) regular expression matches
// for the ASCII c folds (foldRune) to foldRune(c); checked at start-up
// from the Unicode tables rather than assumed.
var foldSafe = func() (t [utf8.RuneSelf]bool) {
	for c := range rune(utf8.RuneSelf) {
		t[c] = true
		for r := unicode.SimpleFold(c); r != c; r = unicode.SimpleFold(r) {
			if foldRune(r) != foldRune(c) {
				t[c] = false
			}
		}
	}
	return t
}()

// maxRegexpAtoms bounds the alternatives taken from one regular expression.
const maxRegexpAtoms = 256

// reAtoms derives necessary atoms from a regular expression: literals
// every match must contain (regexp/syntax; anything unclear gives up).
func reAtoms(field string, re *regexp.Regexp) ([]atom, bool) {
	p, err := syntax.Parse(re.String(), syntax.Perl)
	if err != nil {
		return nil, false
	}
	lits, ok := reNeed(p, 0)
	if !ok || len(lits) == 0 {
		return nil, false
	}
	atoms := make([]atom, len(lits))
	for i, l := range lits {
		atoms[i] = atom{field, l}
	}
	return atoms, true
}

// reNeed returns literals (lowercase ASCII) one of which occurs in every
// match of re.
func reNeed(re *syntax.Regexp, depth int) ([]string, bool) {
	if depth > 200 {
		return nil, false
	}
	switch re.Op {
	case syntax.OpLiteral:
		// the longest run of runes whose every match is an ASCII byte
		// folding to a known letter
		fold := re.Flags&syntax.FoldCase != 0
		var bestRun, cur []byte
		for _, r := range re.Rune {
			if r < utf8.RuneSelf && (!fold || foldSafe[r]) {
				cur = append(cur, byte(foldRune(r)))
				continue
			}
			if len(cur) > len(bestRun) {
				bestRun = cur
			}
			cur = nil
		}
		if len(cur) > len(bestRun) {
			bestRun = cur
		}
		if len(bestRun) == 0 {
			return nil, false
		}
		return []string{string(bestRun)}, true
	case syntax.OpCapture, syntax.OpPlus:
		return reNeed(re.Sub[0], depth+1)
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return reNeed(re.Sub[0], depth+1)
		}
	case syntax.OpConcat:
		// every part occurs in a match: the part with the longest shortest
		// literal is the most selective
		var out []string
		score := 0
		for _, s := range re.Sub {
			l, ok := reNeed(s, depth+1)
			if !ok {
				continue
			}
			m := len(l[0])
			for _, x := range l {
				m = min(m, len(x))
			}
			if m > score || m == score && len(l) < len(out) {
				out, score = l, m
			}
		}
		return out, score > 0
	case syntax.OpAlternate:
		var out []string
		for _, s := range re.Sub {
			l, ok := reNeed(s, depth+1)
			if !ok {
				return nil, false
			}
			out = append(out, l...)
		}
		return out, len(out) > 0 && len(out) <= maxRegexpAtoms
	}
	return nil, false
}

// Literals finds any of a set of literals in a text, ignoring ASCII case:
// the raw-line gate's automaton, for other gates of the security cloud
// (threat-intelligence domains). It is safe for concurrent use.
type Literals struct{ sc *acScanner }

// NewLiterals builds the automaton over lits (empty literals are left out).
func NewLiterals(lits []string) *Literals {
	m := map[string][]int{}
	for _, l := range lits {
		if l != "" {
			m[lower(l)] = []int{0}
		}
	}
	if len(m) == 0 {
		return &Literals{}
	}
	sc := newACScanner("", m, 1)
	sc.buildFast()
	return &Literals{sc: sc}
}

// ScanASCII reports whether some literal occurs in s when s is ASCII;
// ascii is false (and found meaningless) when s is not, which the scan
// notices on the way.
func (l *Literals) ScanASCII(s string) (found, ascii bool) {
	if l.sc == nil {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return false, false
			}
		}
		return false, true
	}
	return l.sc.anyLine(s, true)
}

// AnyIn reports whether some literal occurs in s; a text that is not
// ASCII is folded rune by rune first, as the gate folds lines.
func (l *Literals) AnyIn(s string) bool {
	if l.sc == nil {
		return false
	}
	if found, ascii := l.sc.anyLine(s, true); ascii {
		return found
	}
	found, _ := l.sc.anyLine(foldString(s), false)
	return found
}
