package tamper

import (
	"regexp"
)

// builtinVolatile are the parts of a dynamic page that change on every
// request without being content: CSRF tokens, CSP nonces, ISO 8601
// timestamps. Attribute names are kept, values blanked.
var builtinVolatile = []struct {
	re   *regexp.Regexp
	repl []byte
}{
	{regexp.MustCompile(`(?i)(<input\b[^>]*\bname\s*=\s*["']?(?:csrf[\w-]*|_csrf|_token|authenticity_token|csrfmiddlewaretoken|__requestverificationtoken)["']?[^>]*\bvalue\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s>]+)`), []byte(`${1}""`)},
	{regexp.MustCompile(`(?i)(<input\b[^>]*\bvalue\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s>]+)([^>]*\bname\s*=\s*["']?(?:csrf[\w-]*|_csrf|_token|authenticity_token|csrfmiddlewaretoken|__requestverificationtoken)\b)`), []byte(`${1}""${2}`)},
	{regexp.MustCompile(`(?i)(<meta\b[^>]*\bname\s*=\s*["']?(?:csrf[\w-]*|_csrf)["']?[^>]*\bcontent\s*=\s*)(?:"[^"]*"|'[^']*')`), []byte(`${1}""`)},
	{regexp.MustCompile(`(?i)(\bnonce\s*=\s*)(?:"[^"]*"|'[^']*'|[^\s>]+)`), []byte(`${1}""`)},
	{regexp.MustCompile(`\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?`), nil},
}

var (
	betweenTags = regexp.MustCompile(`>\s+<`)
	spaces      = regexp.MustCompile(`\s+`)
)

// Normalize removes what legitimately changes between two fetches of a
// dynamic page: built-in volatile parts (CSRF tokens, nonces, ISO 8601
// timestamps), the configured patterns (removed entirely), then collapses
// whitespace. Injected markup survives normalisation.
func Normalize(body []byte, extra []*regexp.Regexp) []byte {
	out := body
	for _, v := range builtinVolatile {
		out = v.re.ReplaceAll(out, v.repl)
	}
	for _, re := range extra {
		out = re.ReplaceAll(out, nil)
	}
	out = betweenTags.ReplaceAll(out, []byte("><"))
	out = spaces.ReplaceAll(out, []byte(" "))
	return trimSpace(out)
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && b[0] == ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] == ' ' {
		b = b[:len(b)-1]
	}
	return b
}
