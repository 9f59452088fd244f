package mailsan

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Link policies for HTML bodies.
const (
	LinksList   = "list"   // link text in the body, defanged URLs listed at the end
	LinksDefang = "defang" // defanged URL inline after the link text
	LinksRemove = "remove" // link text only
)

// htmlToText renders an HTML body as plain text. Nothing of the markup
// survives: scripts, styles, forms, images and remote references are
// dropped; links are handled per policy. It returns the text and the
// number of links and images removed or defanged.
func htmlToText(r io.Reader, links string) (text string, nLinks, nImages int) {
	z := html.NewTokenizer(r)
	z.SetMaxBuf(8 << 20)
	var b strings.Builder
	var list []string
	skip := 0 // depth inside script/style/head/title/template
	var href string
	newline := func() {
		s := b.String()
		if s != "" && !strings.HasSuffix(s, "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidy(b.String()) + linkList(list), nLinks, nImages
		case html.TextToken:
			if skip > 0 {
				continue
			}
			t := strings.Join(strings.Fields(string(z.Text())), " ")
			if t == "" {
				if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") && !strings.HasSuffix(b.String(), "\n") {
					b.WriteByte(' ')
				}
				continue
			}
			b.WriteString(t)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				attrs[string(k)] = string(v)
			}
			end := tt == html.EndTagToken
			switch tag {
			case "script", "style", "head", "title", "template", "noscript", "object", "embed", "iframe", "svg", "math", "textarea", "select":
				if tt == html.StartTagToken {
					skip++
				} else if end && skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch tag {
			case "br":
				b.WriteByte('\n')
			case "p", "div", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "blockquote", "pre", "hr", "section", "article", "header", "footer":
				newline()
			case "li":
				if !end {
					newline()
					b.WriteString("・")
				}
			case "td", "th":
				if end {
					b.WriteByte('\t')
				}
			case "img", "image", "video", "audio", "source", "picture":
				if !end {
					nImages++
					if alt := cleanLine(attrs["alt"]); alt != "" {
						b.WriteString("[画像: " + alt + "] ")
					}
				}
			case "a", "area":
				if !end {
					href = strings.TrimSpace(attrs["href"])
					continue
				}
				if href == "" {
					continue
				}
				nLinks++
				switch links {
				case LinksRemove:
				case LinksDefang:
					b.WriteString(" <" + Defang(href) + ">")
				default:
					list = append(list, Defang(href))
					fmt.Fprintf(&b, " [%d]", len(list))
				}
				href = ""
			}
		}
	}
}

func linkList(list []string) string {
	if len(list) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n\n── リンク一覧 (Links, defanged) ──\n")
	for i, l := range list {
		fmt.Fprintf(&b, "[%d] %s\n", i+1, l)
	}
	return b.String()
}

// tidy trims trailing spaces and collapses runs of blank lines.
func tidy(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// Defang rewrites a URL so that no mail client turns it back into a live
// link: hxxp(s) scheme and [.] in the host. Schemes other than http, https,
// ftp and mailto are not shown at all.
func Defang(raw string) string {
	raw = cleanLine(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return "(不正なリンクを削除 / invalid link removed)"
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case "http", "https", "ftp":
		host := strings.ReplaceAll(u.Host, ".", "[.]")
		rest := u.EscapedPath()
		if u.RawQuery != "" {
			rest += "?" + u.RawQuery
		}
		if u.Fragment != "" {
			rest += "#" + u.EscapedFragment()
		}
		return strings.Replace(scheme, "t", "x", 2) + "://" + host + rest
	case "mailto":
		return "mailto[:]" + strings.ReplaceAll(strings.ReplaceAll(u.Opaque, "@", "[@]"), ".", "[.]")
	case "":
		return "(相対リンクを削除 / relative link removed)"
	}
	return "(" + scheme + " リンクを削除 / " + scheme + " link removed)"
}
