package sigma

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func ruleFrom(t *testing.T, det string, opt *Options) *Rule {
	t.Helper()
	y := "title: t\nid: x\nlogsource: {category: proxy}\ndetection:\n" + det
	s, errs := Parse([]byte(y), "inline", opt)
	if len(errs) > 0 {
		t.Fatalf("load: %v\n%s", errs[0], y)
	}
	return s.Rules[0]
}

func TestModifiers(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	wideB64 := base64.StdEncoding.EncodeToString([]byte(utf16String("cmd /c whoami", false, false)))
	cases := []struct {
		name, det string
		ev        mapEvent
		want      bool
	}{
		{"plain equality is case-insensitive", "  s: {f: Hello}\n  condition: s\n", mapEvent{"f": "hELLO"}, true},
		{"plain equality is whole-value", "  s: {f: Hello}\n  condition: s\n", mapEvent{"f": "Hello!"}, false},
		{"wildcard star", "  s: {f: 'a*c'}\n  condition: s\n", mapEvent{"f": "abbbc"}, true},
		{"wildcard question", "  s: {f: 'a?c'}\n  condition: s\n", mapEvent{"f": "abc"}, true},
		{"wildcard question is one char", "  s: {f: 'a?c'}\n  condition: s\n", mapEvent{"f": "abbc"}, false},
		{"escaped star is literal", "  s: {f: 'a\\*c'}\n  condition: s\n", mapEvent{"f": "a*c"}, true},
		{"escaped star not wildcard", "  s: {f: 'a\\*c'}\n  condition: s\n", mapEvent{"f": "abc"}, false},
		{"escaped backslash then star", "  s: {f: 'a\\\\*'}\n  condition: s\n", mapEvent{"f": "a\\xyz"}, true},
		{"three backslashes and star: both literal", "  s: {f: 'a\\\\\\*'}\n  condition: s\n", mapEvent{"f": "a\\*"}, true},
		{"three backslashes and star: no wildcard", "  s: {f: 'a\\\\\\*'}\n  condition: s\n", mapEvent{"f": "a\\xyz"}, false},
		{"three backslashes are a double backslash", "  s: {f: 'a\\\\\\b'}\n  condition: s\n", mapEvent{"f": "a\\\\b"}, true},
		{"four backslashes are a double backslash", "  s: {f: 'a\\\\\\\\b'}\n  condition: s\n", mapEvent{"f": "a\\\\b"}, true},
		{"lone backslash literal", "  s: {f: 'C:\\Windows'}\n  condition: s\n", mapEvent{"f": "c:\\windows"}, true},
		{"multi-star sequence", "  s: {f: '*a*b*c'}\n  condition: s\n", mapEvent{"f": "xxaxbxc"}, true},
		{"multi-star order", "  s: {f: '*a*b*c'}\n  condition: s\n", mapEvent{"f": "cba"}, false},
		{"contains", "  s: {f|contains: EVIL}\n  condition: s\n", mapEvent{"f": "the evil one"}, true},
		{"startswith", "  s: {f|startswith: /api}\n  condition: s\n", mapEvent{"f": "/API/v1"}, true},
		{"startswith negative", "  s: {f|startswith: /api}\n  condition: s\n", mapEvent{"f": "/v1/api"}, false},
		{"endswith", "  s: {f|endswith: .exe}\n  condition: s\n", mapEvent{"f": "a.EXE"}, true},
		{"value list is OR", "  s: {f: [a, b]}\n  condition: s\n", mapEvent{"f": "b"}, true},
		{"contains|all", "  s: {f|contains|all: [a, b]}\n  condition: s\n", mapEvent{"f": "xbxa"}, true},
		{"contains|all needs all", "  s: {f|contains|all: [a, b]}\n  condition: s\n", mapEvent{"f": "xxa"}, false},
		{"cased", "  s: {f|cased: Hello}\n  condition: s\n", mapEvent{"f": "hello"}, false},
		{"cased match", "  s: {f|cased|contains: He}\n  condition: s\n", mapEvent{"f": "xHe"}, true},
		{"re default case-sensitive", "  s: {f|re: '^ab+c$'}\n  condition: s\n", mapEvent{"f": "ABBC"}, false},
		{"re", "  s: {f|re: '^ab+c$'}\n  condition: s\n", mapEvent{"f": "abbc"}, true},
		{"re|i", "  s: {f|re|i: '^ab+c$'}\n  condition: s\n", mapEvent{"f": "ABBC"}, true},
		{"re|m", "  s: {f|re|m: '^b$'}\n  condition: s\n", mapEvent{"f": "a\nb\nc"}, true},
		{"re|s", "  s: {f|re|s: 'a.b'}\n  condition: s\n", mapEvent{"f": "a\nb"}, true},
		{"re without s", "  s: {f|re: 'a.b'}\n  condition: s\n", mapEvent{"f": "a\nb"}, false},
		{"cidr v4", "  s: {f|cidr: 10.0.0.0/8}\n  condition: s\n", mapEvent{"f": "10.2.3.4"}, true},
		{"cidr v4 outside", "  s: {f|cidr: 10.0.0.0/8}\n  condition: s\n", mapEvent{"f": "11.2.3.4"}, false},
		{"cidr v6", "  s: {f|cidr: 'fd00::/8'}\n  condition: s\n", mapEvent{"f": "fd12::1"}, true},
		{"cidr mapped v4", "  s: {f|cidr: 192.168.0.0/16}\n  condition: s\n", mapEvent{"f": "::ffff:192.168.1.1"}, true},
		{"cidr not an IP", "  s: {f|cidr: 10.0.0.0/8}\n  condition: s\n", mapEvent{"f": "ten"}, false},
		{"base64", "  s: {f|base64: secret}\n  condition: s\n", mapEvent{"f": b64("secret")}, true},
		{"base64 is case-sensitive", "  s: {f|base64: secret}\n  condition: s\n", mapEvent{"f": strings.ToLower(b64("secret"))}, false},
		{"base64offset|contains 0", "  s: {f|base64offset|contains: whoami}\n  condition: s\n", mapEvent{"f": b64("whoami /all")}, true},
		{"base64offset|contains 1", "  s: {f|base64offset|contains: whoami}\n  condition: s\n", mapEvent{"f": b64("x whoami /all")}, true},
		{"base64offset|contains 2", "  s: {f|base64offset|contains: whoami}\n  condition: s\n", mapEvent{"f": b64("xy whoami")}, true},
		{"base64offset|contains negative", "  s: {f|base64offset|contains: whoami}\n  condition: s\n", mapEvent{"f": b64("hello world")}, false},
		{"wide|base64", "  s: {f|wide|base64: 'cmd /c whoami'}\n  condition: s\n", mapEvent{"f": wideB64}, true},
		{"utf16le|base64offset|contains", "  s: {f|utf16le|base64offset|contains: whoami}\n  condition: s\n",
			mapEvent{"f": base64.StdEncoding.EncodeToString([]byte(utf16String("run whoami now", false, false)))}, true},
		{"utf16be|base64", "  s: {f|utf16be|base64: ab}\n  condition: s\n", mapEvent{"f": b64("\x00a\x00b")}, true},
		{"windash slash", "  s: {f|windash|contains: ' -enc '}\n  condition: s\n", mapEvent{"f": "powershell /enc abc"}, true},
		{"windash en dash", "  s: {f|windash|contains: ' -enc '}\n  condition: s\n", mapEvent{"f": "powershell –enc abc"}, true},
		{"windash negative", "  s: {f|windash|contains: ' -enc '}\n  condition: s\n", mapEvent{"f": "powershell +enc abc"}, false},
		{"exists true", "  s: {f|exists: true}\n  condition: s\n", mapEvent{"f": ""}, true},
		{"exists true absent", "  s: {f|exists: true}\n  condition: s\n", mapEvent{"g": "x"}, false},
		{"exists false", "  s: {f|exists: false}\n  condition: s\n", mapEvent{"g": "x"}, true},
		{"null matches absent", "  s: {f: null}\n  condition: s\n", mapEvent{"g": "x"}, true},
		{"null matches empty", "  s: {f: null}\n  condition: s\n", mapEvent{"f": ""}, true},
		{"null not set value", "  s: {f: null}\n  condition: s\n", mapEvent{"f": "x"}, false},
		{"empty string", "  s: {f: ''}\n  condition: s\n", mapEvent{"f": ""}, true},
		{"gt", "  s: {f|gt: 10}\n  condition: s\n", mapEvent{"f": "11"}, true},
		{"gt equal", "  s: {f|gt: 10}\n  condition: s\n", mapEvent{"f": "10"}, false},
		{"gte", "  s: {f|gte: 10}\n  condition: s\n", mapEvent{"f": "10"}, true},
		{"lt", "  s: {f|lt: 1.5}\n  condition: s\n", mapEvent{"f": "1.2"}, true},
		{"lte non-number", "  s: {f|lte: 10}\n  condition: s\n", mapEvent{"f": "abc"}, false},
		{"number value as string", "  s: {f: 443}\n  condition: s\n", mapEvent{"f": "443"}, true},
		{"fieldref", "  s: {f|fieldref: g}\n  condition: s\n", mapEvent{"f": "Admin", "g": "admin"}, true},
		{"fieldref differs", "  s: {f|fieldref: g}\n  condition: s\n", mapEvent{"f": "a", "g": "b"}, false},
		{"neq", "  s: {f|neq: a}\n  condition: s\n", mapEvent{"f": "b"}, true},
		{"neq equal", "  s: {f|neq: a}\n  condition: s\n", mapEvent{"f": "A"}, false},
		{"field map is AND", "  s: {f: a, g: b}\n  condition: s\n", mapEvent{"f": "a", "g": "c"}, false},
		{"list of maps is OR", "  s:\n    - {f: a}\n    - {g: b}\n  condition: s\n", mapEvent{"g": "b"}, true},
		{"keywords are full-text", "  k: [evil, bad]\n  condition: k\n", mapEvent{"x": "nothing bad"}, true},
		{"keywords negative", "  k: [evil, bad]\n  condition: k\n", mapEvent{"x": "all good"}, false},
		{"keyword wildcard", "  k: ['*bad*']\n  condition: k\n", mapEvent{"x": "nothing bad"}, true},
		{"mapped field", "  s: {cs-uri-query|contains: 'id='}\n  condition: s\n", mapEvent{"c-uri-query": "?id=1"}, true},
		{"non-ASCII value folded", "  s: {f|contains: 'äbc'}\n  condition: s\n", mapEvent{"f": "xÄBCx"}, true},
		{"Japanese value", "  s: {f|contains: 'マイナンバー'}\n  condition: s\n", mapEvent{"f": "件名: マイナンバー照会"}, true},
		{"invalid UTF-8 value", "  s: {f|contains: 'abc'}\n  condition: s\n", mapEvent{"f": "\xff\xfeABC"}, true},
		{"comparison-like value with a modifier is literal", "  s: {f|contains: '>0'}\n  condition: s\n", mapEvent{"f": "a>0"}, true},
		{"missing field never matches", "  s: {f|contains: ''}\n  condition: s\n", mapEvent{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := ruleFrom(t, c.det, nil)
			if got := r.Match(c.ev); got != c.want {
				t.Errorf("Match(%v) = %v, want %v", c.ev, got, c.want)
			}
		})
	}
}

func TestExpandPlaceholders(t *testing.T) {
	det := "  s: {user|expand: '%admins%'}\n  condition: s\n"
	r := ruleFrom(t, det, &Options{Placeholders: map[string][]string{"admins": {"root", "administrator"}}})
	if !r.Match(mapEvent{"user": "Administrator"}) || r.Match(mapEvent{"user": "guest"}) {
		t.Error("expand did not give the configured values")
	}
	_, errs := Parse([]byte("title: t\nlogsource: {category: proxy}\ndetection:\n"+det), "x", nil)
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "placeholder %admins% has no configured values") {
		t.Errorf("missing placeholder config: %v", errs)
	}
}

func TestConditions(t *testing.T) {
	sels := "  sel_a: {a: '1'}\n  sel_b: {b: '1'}\n  filter_x: {x: '1'}\n  _hidden: {h: '1'}\n"
	cases := []struct {
		cond string
		ev   mapEvent
		want bool
	}{
		{"sel_a and sel_b", mapEvent{"a": "1", "b": "1"}, true},
		{"sel_a and sel_b", mapEvent{"a": "1"}, false},
		{"sel_a or sel_b", mapEvent{"b": "1"}, true},
		{"not sel_a", mapEvent{"b": "1"}, true},
		{"sel_a and not filter_x", mapEvent{"a": "1", "x": "1"}, false},
		{"sel_a or sel_b and filter_x", mapEvent{"a": "1"}, true}, // and binds tighter
		{"(sel_a or sel_b) and filter_x", mapEvent{"a": "1"}, false},
		{"not (sel_a or sel_b)", mapEvent{"x": "1"}, true},
		{"not not sel_a", mapEvent{"a": "1"}, true},
		{"1 of sel_*", mapEvent{"b": "1"}, true},
		{"all of sel_*", mapEvent{"b": "1"}, false},
		{"all of sel_*", mapEvent{"a": "1", "b": "1"}, true},
		{"all of them", mapEvent{"a": "1", "b": "1", "x": "1"}, true}, // _hidden excluded
		{"1 of them", mapEvent{"h": "1"}, false},
		{"sel_a and not 1 of filter_*", mapEvent{"a": "1"}, true},
		{"SEL_A", mapEvent{"a": "1"}, false}, // identifiers are case-sensitive: unknown -> load error, handled below
	}
	for _, c := range cases {
		t.Run(c.cond, func(t *testing.T) {
			y := "title: t\nlogsource: {category: x}\ndetection:\n" + sels + "  condition: " + c.cond + "\n"
			s, errs := Parse([]byte(y), "inline", nil)
			if c.cond == "SEL_A" {
				if len(errs) != 1 || !strings.Contains(errs[0].Error(), `unknown selection "SEL_A"`) {
					t.Fatalf("want unknown selection error, got %v", errs)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			if got := s.Rules[0].Match(c.ev); got != c.want {
				t.Errorf("%s on %v = %v, want %v", c.cond, c.ev, got, c.want)
			}
		})
	}
}

// TestBadRules loads testdata/*.bad.yml; the first line of each is
// "# want: <error text>".
func TestBadRules(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.bad.yml"))
	if len(files) < 10 {
		t.Fatalf("only %d bad rule fixtures", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want := strings.TrimSpace(strings.TrimPrefix(first, "# want:"))
			s, errs := Parse(data, f, nil)
			if len(errs) == 0 {
				t.Fatalf("loaded (%d rules), want error %q", len(s.Rules), want)
			}
			if !strings.Contains(errs[0].Error(), want) {
				t.Errorf("error %q does not contain %q", errs[0], want)
			}
			if !strings.Contains(errs[0].Error(), f) {
				t.Errorf("error %q does not name the file", errs[0])
			}
		})
	}
}
