package pdfinspect

import (
	"bytes"
	"errors"
	"strconv"
)

// This file is a small PDF tokenizer and object parser written for the
// inspector only (ISO 32000-1 §7.2, §7.3). It deliberately shares no code
// with the sanitizer, so a parser bug cannot hide itself in both.

type tokKind uint8

const (
	tEOF tokKind = iota
	tName
	tNum
	tStr
	tKeyword
	tArrOpen
	tArrClose
	tDictOpen
	tDictClose
	tBad
)

type token struct {
	kind tokKind
	text string // decoded name, keyword or number text
}

func isSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

func isDelim(c byte) bool {
	switch c {
	case '(', ')', '<', '>', '[', ']', '{', '}', '/', '%':
		return true
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// lexer reads tokens from b. Every name it meets is passed to onName after
// #xx escapes are decoded (§7.3.5), so /J#61vaScript is seen as JavaScript.
type lexer struct {
	b      []byte
	pos    int
	onName func(name string, pos int)
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.b) {
		c := l.b[l.pos]
		if isSpace(c) {
			l.pos++
			continue
		}
		if c == '%' {
			for l.pos < len(l.b) && l.b[l.pos] != '\n' && l.b[l.pos] != '\r' {
				l.pos++
			}
			continue
		}
		return
	}
}

func (l *lexer) next() token {
	l.skipSpace()
	if l.pos >= len(l.b) {
		return token{kind: tEOF}
	}
	start := l.pos
	c := l.b[l.pos]
	switch c {
	case '/':
		l.pos++
		var nb []byte
		for l.pos < len(l.b) && !isSpace(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
			ch := l.b[l.pos]
			if ch == '#' && l.pos+2 < len(l.b) {
				h, ok1 := unhex(l.b[l.pos+1])
				lo, ok2 := unhex(l.b[l.pos+2])
				if ok1 && ok2 {
					nb = append(nb, h<<4|lo)
					l.pos += 3
					continue
				}
			}
			nb = append(nb, ch)
			l.pos++
		}
		name := string(nb)
		if l.onName != nil {
			l.onName(name, start)
		}
		return token{kind: tName, text: name}
	case '(':
		depth := 0
		for l.pos < len(l.b) {
			ch := l.b[l.pos]
			l.pos++
			switch ch {
			case '\\':
				l.pos++
			case '(':
				depth++
			case ')':
				depth--
				if depth == 0 {
					return token{kind: tStr}
				}
			}
		}
		return token{kind: tBad, text: "unterminated string"}
	case '<':
		if l.pos+1 < len(l.b) && l.b[l.pos+1] == '<' {
			l.pos += 2
			return token{kind: tDictOpen}
		}
		end := bytes.IndexByte(l.b[l.pos:], '>')
		if end < 0 {
			l.pos = len(l.b)
			return token{kind: tBad, text: "unterminated hex string"}
		}
		l.pos += end + 1
		return token{kind: tStr}
	case '>':
		if l.pos+1 < len(l.b) && l.b[l.pos+1] == '>' {
			l.pos += 2
			return token{kind: tDictClose}
		}
		l.pos++
		return token{kind: tBad, text: "stray >"}
	case '[':
		l.pos++
		return token{kind: tArrOpen}
	case ']':
		l.pos++
		return token{kind: tArrClose}
	case ')', '{', '}':
		l.pos++
		return token{kind: tBad, text: "stray delimiter"}
	}
	for l.pos < len(l.b) && !isSpace(l.b[l.pos]) && !isDelim(l.b[l.pos]) {
		l.pos++
	}
	s := string(l.b[start:l.pos])
	if c == '+' || c == '-' || c == '.' || (c >= '0' && c <= '9') {
		return token{kind: tNum, text: s}
	}
	return token{kind: tKeyword, text: s}
}

// Parsed values.
type (
	pName  string
	pRef   struct{ num, gen int }
	pDict  map[string]any
	pArray []any
	pKw    string
	pNum   float64
	pStr   struct{}
)

var errParse = errors.New("parse error")

const maxNesting = 512

// parseValue parses one object. Dicts and arrays nest; "n g R" becomes pRef.
func (l *lexer) parseValue(depth int) (any, error) {
	if depth > maxNesting {
		return nil, errParse
	}
	t := l.next()
	return l.value(t, depth)
}

func (l *lexer) value(t token, depth int) (any, error) {
	switch t.kind {
	case tName:
		return pName(t.text), nil
	case tStr:
		return pStr{}, nil
	case tKeyword:
		return pKw(t.text), nil
	case tNum:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return pNum(0), nil
		}
		// Look ahead for "gen R".
		if f >= 0 && f == float64(int(f)) {
			save := l.pos
			t2 := l.next()
			if t2.kind == tNum {
				t3 := l.next()
				if t3.kind == tKeyword && t3.text == "R" {
					g, _ := strconv.Atoi(t2.text)
					return pRef{int(f), g}, nil
				}
			}
			l.pos = save
		}
		return pNum(f), nil
	case tArrOpen:
		var a pArray
		for {
			t := l.next()
			switch t.kind {
			case tArrClose:
				return a, nil
			case tEOF, tBad:
				return a, errParse
			}
			v, err := l.value(t, depth+1)
			if err != nil {
				return a, err
			}
			a = append(a, v)
		}
	case tDictOpen:
		d := pDict{}
		for {
			t := l.next()
			switch t.kind {
			case tDictClose:
				return d, nil
			case tName:
			default:
				return d, errParse
			}
			v, err := l.parseValue(depth + 1)
			if err != nil {
				return d, err
			}
			d[t.text] = v
		}
	}
	return nil, errParse
}

func intOf(v any) (int, bool) {
	n, ok := v.(pNum)
	if !ok || n < 0 || n > 1<<40 || float64(n) != float64(int64(n)) {
		return 0, false
	}
	return int(n), true
}

func nameIn(d pDict, key string) string {
	n, _ := d[key].(pName)
	return string(n)
}
