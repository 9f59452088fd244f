package report

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
)

// hostileResult puts s into every string a model author controls.
func hostileResult(s string) *check.Result {
	t := diag.T(s, s)
	row := check.PairRow{Flow: s, From: s, FromZone: s, FromRole: s, Count: 2, To: s, ToZone: s, ToRole: s,
		Ports: []string{s}, Mechanism: s, Verdict: check.Verdict(s), Rules: []string{s}}
	return &check.Result{
		Organization: s, Code: s, NetworkModel: s,
		Findings: []check.Finding{{Rule: s, Severity: check.High, Title: t, Message: t, Objects: []string{s, s},
			Clauses: []string{s}, Remediation: t, File: s, Line: 3}},
		Connections:  []check.ConnectionRow{{FromZone: s, To: s, ToKind: s, Mechanism: s, Ports: []string{s}, Flows: 1, Verdict: check.NG, Rules: []string{s}}},
		ServerPairs:  []check.PairRow{row},
		TerminalRows: []check.PairRow{row},
	}
}

var (
	htmlTag       = regexp.MustCompile(`<(/?)([A-Za-z][A-Za-z0-9]*)([^>]*)>`)
	htmlAttr      = regexp.MustCompile(`([A-Za-z-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)
	allowedTags   = strings.Fields("html head meta title style body header div h1 h2 p dl dt dd nav a section table colgroup col thead tbody tr th td span strong ul li footer")
	allowedAttrs  = strings.Fields("lang charset name content class id href style")
	unescapedPipe = regexp.MustCompile(`(^|[^\\])\|`)
)

// FuzzHostileText renders a result whose every string is s and checks
// that no format lets s act as anything but text: HTML has only the
// template's own tags and attributes, Markdown tables keep their shape and
// carry no raw markup, text has no control characters, JSON stays valid and
// the workbook is written.
func FuzzHostileText(f *testing.F) {
	for _, s := range []string{"", "<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "a|b\nc\r\n|", "\x1b[2J\x07",
		"javascript:alert(1)", "`code` *em* _u_ [l](http://x) # h", "\xff\xfe invalid", "&lt;&amp;", "\u2028\u2029", "マイナンバー</td></tr></table>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		res := hostileResult(s)
		opts := testOptions("ja")
		var out bytes.Buffer
		for _, format := range []string{Text, Markdown, HTML, JSON, XLSX} {
			out.Reset()
			if err := Write(&out, format, res, diag.List{}, opts); err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			got := out.String()
			switch format {
			case Text:
				for _, r := range got {
					if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
						t.Fatalf("text: control character %U", r)
					}
				}
			case HTML:
				for _, m := range htmlTag.FindAllStringSubmatch(got, -1) {
					if !contains(allowedTags, strings.ToLower(m[2])) {
						t.Fatalf("html: tag <%s> from the input", m[2])
					}
					for _, a := range htmlAttr.FindAllStringSubmatch(m[3], -1) {
						if !contains(allowedAttrs, strings.ToLower(a[1])) {
							t.Fatalf("html: attribute %s= from the input in %s", a[1], m[0])
						}
					}
				}
			case Markdown:
				if strings.Contains(strings.ReplaceAll(got, "<br>", ""), "<") {
					t.Fatalf("markdown: raw < from the input")
				}
				sec := got[strings.Index(got, "## 指摘事項"):]
				for line := range strings.SplitSeq(sec[:strings.Index(sec, "\n## ")], "\n") {
					if strings.HasPrefix(line, "|") && len(unescapedPipe.FindAllString(line, -1)) != 9 {
						t.Fatalf("markdown: findings row lost its shape: %q", line)
					}
				}
			case JSON:
				if !json.Valid(out.Bytes()) {
					t.Fatalf("json: invalid output")
				}
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
