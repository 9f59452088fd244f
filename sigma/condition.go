package sigma

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
)

// node is a compiled condition expression.
type node interface {
	eval(ev Event) bool
}

type selNode struct{ s *selection }

func (n *selNode) eval(ev Event) bool { return n.s.match(ev) }

type notNode struct{ kid node }

func (n *notNode) eval(ev Event) bool { return !n.kid.eval(ev) }

type andNode struct{ kids []node }

func (n *andNode) eval(ev Event) bool {
	for _, k := range n.kids {
		if !k.eval(ev) {
			return false
		}
	}
	return true
}

type orNode struct{ kids []node }

func (n *orNode) eval(ev Event) bool {
	for _, k := range n.kids {
		if k.eval(ev) {
			return true
		}
	}
	return false
}

// maxConditionLen and maxDepth bound hostile conditions.
const (
	maxConditionLen = 16 << 10
	maxDepth        = 64
)

// parseCondition parses a Sigma condition (rules specification,
// "Condition"): and, or, not, parentheses, "1 of X", "all of X", "them",
// and wildcard identifiers. Precedence, from strongest: x of, not, and, or.
func parseCondition(s string, sels map[string]*selection) (node, error) {
	if len(s) > maxConditionLen {
		return nil, fmt.Errorf("condition longer than %d bytes", maxConditionLen)
	}
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, errors.New("empty condition")
	}
	p := &condParser{toks: toks, sels: sels}
	n, err := p.parseOr(0)
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos])
	}
	return n, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case isIdentByte(c):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, fmt.Errorf("unexpected character %q at offset %d", c, i)
		}
	}
	return toks, nil
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '*' || c == '-' || c == '.' || c == '?' ||
		('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}

type condParser struct {
	toks []string
	pos  int
	sels map[string]*selection
}

func (p *condParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *condParser) next() string {
	t := p.peek()
	p.pos++
	return t
}

func (p *condParser) parseOr(depth int) (node, error) {
	if depth > maxDepth {
		return nil, errors.New("condition nested too deeply")
	}
	first, err := p.parseAnd(depth)
	if err != nil {
		return nil, err
	}
	kids := []node{first}
	for strings.EqualFold(p.peek(), "or") {
		p.next()
		n, err := p.parseAnd(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &orNode{kids: kids}, nil
}

func (p *condParser) parseAnd(depth int) (node, error) {
	first, err := p.parseNot(depth)
	if err != nil {
		return nil, err
	}
	kids := []node{first}
	for strings.EqualFold(p.peek(), "and") {
		p.next()
		n, err := p.parseNot(depth)
		if err != nil {
			return nil, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return &andNode{kids: kids}, nil
}

func (p *condParser) parseNot(depth int) (node, error) {
	if strings.EqualFold(p.peek(), "not") {
		p.next()
		if depth > maxDepth {
			return nil, errors.New("condition nested too deeply")
		}
		n, err := p.parseNot(depth + 1)
		if err != nil {
			return nil, err
		}
		return &notNode{kid: n}, nil
	}
	return p.parsePrimary(depth)
}

func (p *condParser) parsePrimary(depth int) (node, error) {
	t := p.next()
	switch {
	case t == "":
		return nil, errors.New("condition ends early")
	case t == "(":
		n, err := p.parseOr(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, errors.New("missing )")
		}
		return n, nil
	case t == ")":
		return nil, errors.New("unexpected )")
	case isKeyword(t):
		return nil, fmt.Errorf("unexpected %q", t)
	}
	if strings.EqualFold(p.peek(), "of") {
		p.next()
		target := p.next()
		if target == "" || target == "(" || target == ")" || (isKeyword(target) && !strings.EqualFold(target, "them")) {
			return nil, fmt.Errorf("%s of: missing selection name", t)
		}
		sels, err := p.resolve(target)
		if err != nil {
			return nil, err
		}
		kids := make([]node, len(sels))
		for i, s := range sels {
			kids[i] = &selNode{s: s}
		}
		switch {
		case strings.EqualFold(t, "all"):
			return &andNode{kids: kids}, nil
		case t == "1" || strings.EqualFold(t, "any"):
			return &orNode{kids: kids}, nil
		default:
			return nil, fmt.Errorf("%q of: only \"1 of\" and \"all of\" are defined", t)
		}
	}
	if strings.ContainsAny(t, "*?") {
		return nil, fmt.Errorf("wildcard %q outside \"1 of\"/\"all of\"", t)
	}
	s, ok := p.sels[t]
	if !ok {
		return nil, fmt.Errorf("unknown selection %q", t)
	}
	return &selNode{s: s}, nil
}

func isKeyword(t string) bool {
	switch strings.ToLower(t) {
	case "and", "or", "not", "of", "them":
		return true
	}
	return false
}

// resolve expands "them" or a wildcard pattern into selections, sorted by
// name. "them" excludes identifiers starting with an underscore (rules
// specification).
func (p *condParser) resolve(target string) ([]*selection, error) {
	var names []string
	them := strings.EqualFold(target, "them")
	for name := range p.sels {
		if them {
			if !strings.HasPrefix(name, "_") {
				names = append(names, name)
			}
			continue
		}
		if ok, err := path.Match(target, name); err == nil && ok {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%q matches no selection", target)
	}
	sort.Strings(names)
	out := make([]*selection, len(names))
	for i, n := range names {
		out[i] = p.sels[n]
	}
	return out, nil
}
