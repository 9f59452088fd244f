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

func (m *strMatcher) match(_ Event, v, low string) bool {
	s := v
	if m.ci {
		s = low
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

func (g *globRE) match(_ Event, v, low string) bool {
	if g.ci {
		return g.re.MatchString(low)
	}
	return g.re.MatchString(v)
}
