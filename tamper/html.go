package tamper

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Analysis is what a page loads or sends the visitor to: the targets an
// attacker who alters a site injects (issue 9 §2 (b)). URLs are resolved
// against the page (and its <base>).
type Analysis struct {
	Scripts   []string `json:"scripts,omitempty"`   // <script src>
	Frames    []string `json:"frames,omitempty"`    // <iframe src>, <frame src>, <object data>, <embed src>
	Redirects []string `json:"redirects,omitempty"` // meta refresh and JavaScript location targets
	// Inline holds the SHA-256 of each inline script and event-handler
	// attribute, whitespace-collapsed, so a new one stands out.
	Inline []string `json:"inline,omitempty"`
}

// jsRedirect finds literal navigation targets in script text: location =,
// location.href =, location.replace/assign(…), window.open(…).
var jsRedirect = regexp.MustCompile(`(?:\blocation(?:\.href)?\s*=|\blocation\.(?:replace|assign)\s*\(|\bwindow\.open\s*\()\s*["'\x60]([^"'\x60]{1,1000})["'\x60]`)

// maxTokens bounds the work on one page; the fetch size limit bounds it
// already, this keeps a pathological page from spinning.
const maxTokens = 1 << 20

// Analyze lists the scripts, frames, redirects and inline scripts of an
// HTML document. It never fails: unparsable input yields what was found.
func Analyze(body []byte, base *url.URL) Analysis {
	var a Analysis
	z := html.NewTokenizer(bytes.NewReader(body))
	baseSet := false
	inScript := false
	resolve := func(ref string) string {
		ref = strings.TrimSpace(ref)
		if base == nil {
			return ref
		}
		u, err := base.Parse(ref)
		if err != nil {
			return ref
		}
		return u.String()
	}
	for n := 0; n < maxTokens; n++ {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			a.finish()
			return a
		case html.TextToken:
			if inScript {
				a.inline(string(z.Text()), resolve)
			}
		case html.EndTagToken:
			inScript = false
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			tag := atom.Lookup(name)
			attrs := map[string]string{}
			for hasAttr {
				var k, v []byte
				k, v, hasAttr = z.TagAttr()
				key := string(k)
				if strings.HasPrefix(key, "on") && len(key) > 2 {
					a.inline(string(v), resolve)
				}
				if _, dup := attrs[key]; !dup {
					attrs[key] = string(v)
				}
			}
			inScript = false
			switch tag {
			case atom.Base:
				if href, ok := attrs["href"]; ok && !baseSet && base != nil {
					if u, err := base.Parse(strings.TrimSpace(href)); err == nil {
						base, baseSet = u, true
					}
				}
			case atom.Script:
				if src, ok := attrs["src"]; ok {
					a.Scripts = append(a.Scripts, resolve(src))
				} else if tt == html.StartTagToken {
					inScript = true
				}
			case atom.Iframe, atom.Frame, atom.Embed:
				if src, ok := attrs["src"]; ok {
					a.Frames = append(a.Frames, resolve(src))
				}
			case atom.Object:
				if src, ok := attrs["data"]; ok {
					a.Frames = append(a.Frames, resolve(src))
				}
			case atom.Meta:
				if strings.EqualFold(strings.TrimSpace(attrs["http-equiv"]), "refresh") {
					if t := refreshTarget(attrs["content"]); t != "" {
						a.Redirects = append(a.Redirects, resolve(t))
					}
				}
			}
		}
	}
	a.finish()
	return a
}

// inline records an inline script body and the navigation targets in it.
func (a *Analysis) inline(code string, resolve func(string) string) {
	code = strings.Join(strings.Fields(code), " ")
	if code == "" {
		return
	}
	sum := sha256.Sum256([]byte(code))
	a.Inline = append(a.Inline, hex.EncodeToString(sum[:]))
	for _, m := range jsRedirect.FindAllStringSubmatch(code, 16) {
		a.Redirects = append(a.Redirects, resolve(m[1]))
	}
}

// refreshTarget extracts the URL of <meta http-equiv=refresh content="5; url=…">.
func refreshTarget(content string) string {
	_, rest, ok := strings.Cut(content, ";")
	if !ok {
		_, rest, ok = strings.Cut(content, ",")
	}
	if !ok {
		return ""
	}
	rest = strings.TrimSpace(rest)
	if len(rest) >= 4 && strings.EqualFold(rest[:3], "url") {
		if r := strings.TrimSpace(rest[3:]); strings.HasPrefix(r, "=") {
			rest = strings.TrimSpace(r[1:])
		}
	}
	return strings.Trim(rest, `"' `)
}

func (a *Analysis) finish() {
	for _, l := range []*[]string{&a.Scripts, &a.Frames, &a.Redirects, &a.Inline} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
	}
}

// Allowed reports whether target (an absolute or page-relative URL) stays
// within the allowlist: same-site relative references, http(s) hosts equal
// to or below an allowed domain. Other schemes (javascript:, data:, …)
// are not allowed as script, frame or redirect targets.
func Allowed(target string, allow []string) bool {
	u, err := url.Parse(strings.TrimSpace(target))
	if err != nil {
		return false
	}
	if u.Scheme == "" && u.Host == "" {
		return true // relative: the page's own host
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	for _, d := range allow {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}
