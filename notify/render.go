package notify

import (
	"embed"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kyojin/kyojin/wareki"
)

//go:embed templates
var templateFS embed.FS

// jst is Japan Standard Time; a fixed zone so rendering needs no tzdata.
var jst = time.FixedZone("JST", 9*3600)

// Rendered is a notification as people read it.
type Rendered struct {
	Lang    string `json:"lang"`
	Subject string `json:"subject"`
	Body    string `json:"body"`
}

// view is what a template sees.
type view struct {
	Message
	Lang     string
	Sev      string // severity label in the language
	When     string // Message.Time, 和暦 in Japanese
	Items    []view // digest entries
	Overflow int    // digest entries not listed
}

// Templates is a set of templates: the embedded ones, optionally
// overridden file by file from a directory (Config.TemplatesDir) laid out
// like notify/templates: ja/alert.tmpl, en/footer.tmpl…
type Templates struct {
	m map[string]*template.Template // "ja/alert"
}

var (
	defaultOnce sync.Once
	defaultTmpl *Templates
	defaultErr  error
)

// overlay serves dir's files before the embedded ones.
type overlay struct{ dir fs.FS }

func (o overlay) Open(name string) (fs.File, error) {
	if o.dir != nil {
		if f, err := o.dir.Open(strings.TrimPrefix(name, "templates/")); err == nil {
			return f, nil
		}
	}
	return templateFS.Open(name)
}

// LoadTemplates parses the embedded templates with the overrides found in
// dir ("" for none); a template that does not parse or lacks a subject or
// body is an error naming its file.
func LoadTemplates(dir string) (*Templates, error) {
	o := overlay{}
	if dir != "" {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, fmt.Errorf("notify: templates_dir %s is not a directory", dir)
		}
		o.dir = os.DirFS(dir)
	}
	t := &Templates{m: map[string]*template.Template{}}
	for _, lang := range []string{"ja", "en"} {
		for _, k := range append(append([]Kind{}, Kinds...), KindDigest) {
			name := lang + "/" + string(k) + ".tmpl"
			tt, err := template.New(string(k)).Funcs(funcs(lang)).Option("missingkey=zero").ParseFS(o, "templates/"+lang+"/footer.tmpl", "templates/"+name)
			if err != nil {
				return nil, fmt.Errorf("notify: template %s: %w", name, err)
			}
			if tt.Lookup("subject") == nil || tt.Lookup("body") == nil {
				return nil, fmt.Errorf("notify: template %s lacks a subject or body", name)
			}
			t.m[lang+"/"+string(k)] = tt
		}
	}
	return t, nil
}

func defaults() (*Templates, error) {
	defaultOnce.Do(func() { defaultTmpl, defaultErr = LoadTemplates("") })
	return defaultTmpl, defaultErr
}

// Render renders m in lang ("ja", the default, or "en") with the embedded
// templates.
func Render(m Message, lang string) (Rendered, error) {
	t, err := defaults()
	if err != nil {
		return Rendered{}, err
	}
	return t.render(m, lang, nil, 0)
}

// Render renders m in lang with t.
func (t *Templates) Render(m Message, lang string) (Rendered, error) {
	return t.render(m, lang, nil, 0)
}

func (t *Templates) render(m Message, lang string, items []Message, overflow int) (Rendered, error) {
	if lang != "en" {
		lang = "ja"
	}
	if err := m.check(); err != nil {
		return Rendered{}, err
	}
	tt := t.m[lang+"/"+string(m.Kind)]
	v := newView(m, lang)
	for _, it := range items {
		v.Items = append(v.Items, newView(it, lang))
	}
	v.Overflow = overflow
	var subj, body strings.Builder
	if err := tt.ExecuteTemplate(&subj, "subject", v); err != nil {
		return Rendered{}, fmt.Errorf("notify: render %s subject: %w", m.Kind, err)
	}
	if err := tt.ExecuteTemplate(&body, "body", v); err != nil {
		return Rendered{}, fmt.Errorf("notify: render %s body: %w", m.Kind, err)
	}
	return Rendered{Lang: lang, Subject: oneLine(subj.String(), 200), Body: strings.Trim(body.String(), "\n") + "\n"}, nil
}

func newView(m Message, lang string) view {
	v := view{Message: m, Lang: lang}
	if lang == "en" {
		v.Sev = m.Severity.String()
	} else {
		v.Sev = m.Severity.Japanese()
	}
	v.When = formatTime(m.Time, lang)
	v.Title = oneLine(m.Title, 200)
	v.Tenant = oneLine(m.Tenant, 100)
	v.Link = oneLine(m.Link, 2000)
	return v
}

func funcs(lang string) template.FuncMap {
	return template.FuncMap{
		// get shows a Data value as safe text, "—" when absent.
		"get": func(data map[string]any, key string) string {
			v, ok := data[key]
			if !ok || v == nil {
				return "—"
			}
			s := clean(valueString(v, lang), 2000)
			if s == "" {
				return "—"
			}
			return s
		},
		// when shows a time (time.Time or RFC 3339 text) in the language.
		"when": func(data map[string]any, key string) string {
			switch t := data[key].(type) {
			case time.Time:
				return formatTime(t, lang)
			case string:
				if p, err := time.Parse(time.RFC3339Nano, t); err == nil {
					return formatTime(p, lang)
				}
				return clean(t, 100)
			}
			return "—"
		},
	}
}

func valueString(v any, lang string) string {
	switch x := v.(type) {
	case string:
		return x
	case time.Time:
		return formatTime(x, lang)
	case float64: // numbers after a JSON round trip
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			parts = append(parts, valueString(e, lang))
		}
		return strings.Join(parts, ", ")
	case []string:
		return strings.Join(x, ", ")
	default:
		return fmt.Sprint(x)
	}
}

// formatTime shows t in JST: 令和8年11月22日 16:05 in Japanese, ISO in English.
func formatTime(t time.Time, lang string) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(jst)
	if lang == "en" {
		return t.Format("2006-01-02 15:04 MST")
	}
	return wareki.Format(t) + t.Format(" 15:04")
}

// clean makes untrusted text safe to show: invalid UTF-8, control
// characters (except newline and tab) and bidirectional overrides, which
// could disguise a URL or forge lines in a terminal, are replaced; the text
// is cut at max runes.
func clean(s string, max int) string {
	var b strings.Builder
	n := 0
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size <= 1 {
				b.WriteRune('\uFFFD')
				n++
				continue
			}
		}
		switch {
		case r == '\n' || r == '\t':
		case r == '\r':
			continue
		case unicode.IsControl(r), r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F:
			r = '\uFFFD'
		}
		if n >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// oneLine is clean without line breaks (subjects, header values).
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, clean(s, max))
	return strings.TrimSpace(s)
}
