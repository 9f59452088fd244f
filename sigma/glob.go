package sigma

import (
	"regexp"
	"strings"
)

// glob is a Sigma string value split into literal parts and wildcards.
// Sigma rules specification, "Wildcards" and "Escaping": * matches any
// sequence, ? one character, \* \? and \\ are literal; any other backslash is
// itself literal.
type glob struct {
	toks []gtok
}

type gtok struct {
	kind byte // 'l' literal, '*' star, '?' one
	s    string
}

func parseGlob(v string, literal bool) glob {
	if literal {
		return glob{toks: []gtok{{kind: 'l', s: v}}}
	}
	var g glob
	var cur strings.Builder
	flush := func() {
		if cur.Len() > 0 {
			g.toks = append(g.toks, gtok{kind: 'l', s: cur.String()})
			cur.Reset()
		}
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch c {
		case '\\':
			if i+1 < len(v) && (v[i+1] == '*' || v[i+1] == '?' || v[i+1] == '\\') {
				cur.WriteByte(v[i+1])
				i++
			} else {
				cur.WriteByte('\\')
			}
		case '*', '?':
			flush()
			if c == '*' && len(g.toks) > 0 && g.toks[len(g.toks)-1].kind == '*' {
				continue
			}
			g.toks = append(g.toks, gtok{kind: c})
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return g
}

// wrap adds leading and/or trailing stars (contains/startswith/endswith).
func (g glob) wrap(lead, trail bool) glob {
	t := make([]gtok, 0, len(g.toks)+2)
	if lead && (len(g.toks) == 0 || g.toks[0].kind != '*') {
		t = append(t, gtok{kind: '*'})
	}
	t = append(t, g.toks...)
	if trail && (len(t) == 0 || t[len(t)-1].kind != '*') {
		t = append(t, gtok{kind: '*'})
	}
	return glob{toks: t}
}

// compile picks the cheapest matcher for the pattern: equality, prefix,
// suffix, substring, a star-only sequence, or a regexp when ? occurs.
func (g glob) compile(ci bool) (valueMatcher, error) {
	toks := g.toks
	if ci {
		toks = make([]gtok, len(g.toks))
		for i, t := range g.toks {
			t.s = lower(t.s)
			toks[i] = t
		}
	}
	hasQ := false
	for _, t := range toks {
		if t.kind == '?' {
			hasQ = true
		}
	}
	if hasQ {
		var b strings.Builder
		b.WriteString("^(?s:")
		for _, t := range toks {
			switch t.kind {
			case '*':
				b.WriteString(".*")
			case '?':
				b.WriteString(".")
			default:
				b.WriteString(regexp.QuoteMeta(t.s))
			}
		}
		b.WriteString(")$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, err
		}
		return &globRE{re: re, ci: ci}, nil
	}
	lead := len(toks) > 0 && toks[0].kind == '*'
	trail := len(toks) > 0 && toks[len(toks)-1].kind == '*'
	var lits []string
	for _, t := range toks {
		if t.kind == 'l' {
			lits = append(lits, t.s)
		}
	}
	m := &strMatcher{ci: ci, lead: lead, trail: trail, lits: lits}
	switch {
	case len(toks) == 0:
		m.kind = kEq
		m.lits = []string{""}
	case len(lits) == 0:
		m.kind = kAny
	case len(lits) == 1 && !lead && !trail:
		m.kind = kEq
	case len(lits) == 1 && !lead && trail:
		m.kind = kPrefix
	case len(lits) == 1 && lead && !trail:
		m.kind = kSuffix
	case len(lits) == 1 && lead && trail:
		m.kind = kContains
	default:
		m.kind = kSeq
	}
	return m, nil
}

const (
	kEq = iota
	kPrefix
	kSuffix
	kContains
	kAny
	kSeq
)

type strMatcher struct {
	kind        int
	ci          bool
	lead, trail bool
	lits        []string
}

func (m *strMatcher) match(_ Event, x val) bool {
	s := x.s
	if m.ci {
		if x.fold {
			return m.matchFold(s)
		}
		s = x.low
	}
	switch m.kind {
	case kEq:
		return s == m.lits[0]
	case kPrefix:
		return strings.HasPrefix(s, m.lits[0])
	case kSuffix:
		return strings.HasSuffix(s, m.lits[0])
	case kContains:
		return strings.Contains(s, m.lits[0])
	case kAny:
		return true
	}
	// Star-separated literals, matched left to right.
	lits := m.lits
	if !m.lead {
		if !strings.HasPrefix(s, lits[0]) {
			return false
		}
		s = s[len(lits[0]):]
		lits = lits[1:]
	}
	var last string
	if !m.trail {
		last = lits[len(lits)-1]
		lits = lits[:len(lits)-1]
	}
	for _, l := range lits {
		i := strings.Index(s, l)
		if i < 0 {
			return false
		}
		s = s[i+len(l):]
	}
	if !m.trail {
		return strings.HasSuffix(s, last)
	}
	return true
}

type globRE struct {
	re *regexp.Regexp
	ci bool
}

func (g *globRE) match(_ Event, x val) bool {
	if g.ci {
		return g.re.MatchString(x.lowered())
	}
	return g.re.MatchString(x.s)
}

// matchFold is match for an ASCII value against the lowercased pattern,
// folding the value's letters on the fly.
func (m *strMatcher) matchFold(s string) bool {
	switch m.kind {
	case kEq:
		return eqFold(s, m.lits[0])
	case kPrefix:
		return len(s) >= len(m.lits[0]) && eqFold(s[:len(m.lits[0])], m.lits[0])
	case kSuffix:
		return len(s) >= len(m.lits[0]) && eqFold(s[len(s)-len(m.lits[0]):], m.lits[0])
	case kContains:
		return indexFold(s, m.lits[0]) >= 0
	case kAny:
		return true
	}
	lits := m.lits
	if !m.lead {
		if len(s) < len(lits[0]) || !eqFold(s[:len(lits[0])], lits[0]) {
			return false
		}
		s = s[len(lits[0]):]
		lits = lits[1:]
	}
	var last string
	if !m.trail {
		last = lits[len(lits)-1]
		lits = lits[:len(lits)-1]
	}
	for _, l := range lits {
		i := indexFold(s, l)
		if i < 0 {
			return false
		}
		s = s[i+len(l):]
	}
	if !m.trail {
		return len(s) >= len(last) && eqFold(s[len(s)-len(last):], last)
	}
	return true
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// eqFold compares ASCII s with the lowercased p.
func eqFold(s, p string) bool {
	if len(s) != len(p) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if lowerByte(s[i]) != p[i] {
			return false
		}
	}
	return true
}

// indexFold finds the lowercased p in ASCII s, folding s.
func indexFold(s, p string) int {
	if len(p) == 0 {
		return 0
	}
	c0 := p[0]
	up := c0
	if 'a' <= c0 && c0 <= 'z' {
		up = c0 - ('a' - 'A')
	}
	for i := 0; i+len(p) <= len(s); i++ {
		if c := s[i]; c != c0 && c != up {
			// Skip ahead to the next candidate first byte.
			j := strings.IndexByte(s[i+1:], c0)
			if up != c0 {
				if k := strings.IndexByte(s[i+1:], up); k >= 0 && (j < 0 || k < j) {
					j = k
				}
			}
			if j < 0 {
				return -1
			}
			i += j
			continue
		}
		if eqFold(s[i:i+len(p)], p) {
			return i
		}
	}
	return -1
}
