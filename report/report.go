// Package report renders the result of a segmentation check (check.Result)
// together with the warnings raised while loading the model, in the forms
// its readers need: terminal text for the operator, JSON for tools,
// Markdown for tickets and wikis, a self-contained HTML report (one file, no
// external assets, printable) for the CISO and auditors, and an XLSX workbook
// holding the findings and the three inventories of Appendix 2 (付録2 手順1〜3:
// ネットワーク接続情報, サーバ間接続情報, 端末接続情報).
//
// Every format is deterministic for a given Result and Options.Now, sorts
// findings by severity (highest first) then rule ID, and treats every string
// of the Result as untrusted: HTML is escaped by html/template, Markdown
// cells are escaped, control characters never reach a terminal.
package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/wareki"
)

// Output formats accepted by Write.
const (
	Text     = "text"
	JSON     = "json"
	Markdown = "markdown"
	HTML     = "html"
	XLSX     = "xlsx"
)

// Formats lists the output formats in the order help texts show them.
var Formats = []string{Text, JSON, Markdown, HTML, XLSX}

// SchemaVersion is the version of the JSON document Write produces. It
// changes when a field is removed or changes meaning; new fields may be
// added without changing it.
const SchemaVersion = "1"

// Options tune a rendering. The zero value renders Japanese with the
// current time.
type Options struct {
	// Lang is "ja" (default) or "en".
	Lang string
	// Now is the generation time printed in the report (in JST). Zero means
	// time.Now(); tests set it so output is reproducible.
	Now time.Time
	// Version of kyojin, printed as the generator ("kyojin VERSION").
	Version string
	// Source is the model path that was checked, shown in the header.
	Source string
	// MaxRows limits each inventory table of the HTML and Markdown reports
	// (0: no limit); the omitted count is stated. Text has no inventories,
	// and JSON and XLSX always hold every row.
	MaxRows int
}

var jst = time.FixedZone("JST", 9*60*60)

// ParseFormat accepts a format name or a common alias (txt, md, htm).
func ParseFormat(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "text", "txt", "":
		return Text, nil
	case "json":
		return JSON, nil
	case "markdown", "md":
		return Markdown, nil
	case "html", "htm":
		return HTML, nil
	case "xlsx", "excel":
		return XLSX, nil
	}
	return "", fmt.Errorf("unknown report format %q (use %s)", s, strings.Join(Formats, ", "))
}

// FormatFromPath chooses the format from a file name's extension:
// .txt, .json, .md/.markdown, .html/.htm, .xlsx. "-" (standard output)
// means text.
func FormatFromPath(path string) (string, error) {
	if path == "-" {
		return Text, nil
	}
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if ext == "" {
		return "", fmt.Errorf("cannot tell the report format of %q: no extension (use .txt, .json, .md, .html or .xlsx)", path)
	}
	f, err := ParseFormat(ext)
	if err != nil || ext == "excel" {
		return "", fmt.Errorf("cannot tell the report format of %q from %q (use .txt, .json, .md, .html or .xlsx)", path, "."+ext)
	}
	return f, nil
}

// Write renders res (and the load warnings) to w in format. A panic while
// rendering is turned into an error: a hostile model must not take the
// process down.
func Write(w io.Writer, format string, res *check.Result, warnings diag.List, opts Options) (err error) {
	f, err := ParseFormat(format)
	if err != nil {
		return err
	}
	if res == nil {
		return errors.New("report: no check result to render")
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("report: rendering %s failed: %v", f, r)
		}
	}()
	d := newDoc(res, warnings, opts)
	switch f {
	case Text:
		err = writeText(w, d)
	case JSON:
		err = writeJSON(w, d)
	case Markdown:
		err = writeMarkdown(w, d)
	case HTML:
		err = writeHTML(w, d)
	case XLSX:
		err = writeXLSX(w, d)
	}
	if err != nil {
		return fmt.Errorf("report: writing %s: %w", f, err)
	}
	return nil
}

// doc is what every renderer works from: the result, its findings sorted,
// counts, and the words of the chosen language.
type doc struct {
	res      *check.Result
	findings []check.Finding
	warnings []diag.Diagnostic
	opts     Options
	lang     string
	l        *labels
	now      time.Time // in JST
	bySev    [5]int
	ng       [3]int // NG rows of connections, server pairs, terminal rows
}

func newDoc(res *check.Result, warnings diag.List, opts Options) *doc {
	d := &doc{res: res, opts: opts, lang: "ja"}
	if opts.Lang == "en" {
		d.lang = "en"
	}
	d.l = labelsFor(d.lang)
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	d.now = now.In(jst)
	d.findings = SortedFindings(res.Findings)
	for _, f := range d.findings {
		if f.Severity >= check.Info && f.Severity <= check.Critical {
			d.bySev[f.Severity]++
		}
	}
	for _, c := range res.Connections {
		if c.Verdict == check.NG {
			d.ng[0]++
		}
	}
	d.ng[1] = countNG(res.ServerPairs)
	d.ng[2] = countNG(res.TerminalRows)
	d.warnings = slices.Clone(warnings.Items)
	wl := diag.List{Items: d.warnings}
	wl.Sort()
	return d
}

func countNG(rows []check.PairRow) int {
	n := 0
	for i := range rows {
		if rows[i].Verdict == check.NG {
			n++
		}
	}
	return n
}

// SortedFindings returns a copy of fs ordered by severity (highest first),
// then rule ID, file, line, objects and message, so that every format lists
// findings in the same, reproducible order.
func SortedFindings(fs []check.Finding) []check.Finding {
	out := slices.Clone(fs)
	slices.SortStableFunc(out, func(a, b check.Finding) int {
		return cmp.Or(
			cmp.Compare(b.Severity, a.Severity),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			slices.Compare(a.Objects, b.Objects),
			cmp.Compare(a.Message.JA, b.Message.JA),
		)
	})
	return out
}

// generator is "kyojin" with the version when known.
func (d *doc) generator() string {
	if d.opts.Version == "" {
		return "kyojin"
	}
	return "kyojin " + d.opts.Version
}

// dateLine is the generation date: 和暦 with the ISO date in Japanese,
// the ISO date alone in English.
func (d *doc) dateLine() string {
	iso := d.now.Format(time.DateOnly)
	if d.lang == "en" {
		return iso
	}
	return wareki.Format(d.now) + d.paren(iso)
}

// paren wraps s in the language's parentheses.
func (d *doc) paren(s string) string { return d.l.LParen + s + d.l.RParen }

// location is file:line of a finding, or "" when it has none.
func location(f *check.Finding) string {
	if f.File == "" {
		return ""
	}
	if f.Line > 0 {
		return f.File + ":" + strconv.Itoa(f.Line)
	}
	return f.File
}

// sevCounts renders "重大 2、高 1、…" for the severities, highest first.
func (d *doc) sevCounts() string {
	parts := make([]string, 0, 5)
	for s := check.Critical; s >= check.Info; s-- {
		parts = append(parts, fmt.Sprintf("%s %d", sevLabel(s, d.lang), d.bySev[s]))
	}
	return strings.Join(parts, d.l.ListSep)
}

// scope renders what was checked, from the Result's summary.
func (d *doc) scope() string {
	s, l := d.res.Summary, d.l
	parts := []string{
		fmt.Sprintf("%s %d", l.Zones, s.Zones),
		fmt.Sprintf("%s %d", l.Systems, s.Systems),
		fmt.Sprintf("%s %d", l.Assets, s.Assets),
		fmt.Sprintf("%s %d", l.Hosts, s.Hosts),
		fmt.Sprintf("%s %d", l.Terminals, s.Terminals),
		fmt.Sprintf("%s %d", l.Comms, s.Communications),
		fmt.Sprintf("%s %d", l.Flows, s.Flows),
	}
	return strings.Join(parts, l.ListSep)
}

// orgName is the organization's name, or a placeholder.
func (d *doc) orgName() string {
	if d.res.Organization == "" {
		return d.l.None
	}
	return d.res.Organization
}

// clean makes a string safe to print: invalid UTF-8 becomes U+FFFD and
// control characters (escape sequences could drive the terminal) are shown
// as \xNN; newlines and tabs are kept when keepNL is set.
func clean(s string, keepNL bool) string {
	ok := true
	for _, r := range s {
		if r == unicode.ReplacementChar || (unicode.IsControl(r) && !(keepNL && (r == '\n' || r == '\t'))) || r == '\u2028' || r == '\u2029' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case keepNL && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x100 && unicode.IsControl(r):
			fmt.Fprintf(&b, "\\x%02x", r)
		case r == '\u2028' || r == '\u2029':
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// inventoryCounts renders the size and NG count of each inventory.
func (d *doc) inventoryCounts() string {
	l := d.l
	part := func(name string, n, ng int) string {
		return fmt.Sprintf("%s %d%s%s", name, n, d.l.Unit, d.paren(fmt.Sprintf("NG %d", ng)))
	}
	return strings.Join([]string{
		part(l.Connections, len(d.res.Connections), d.ng[0]),
		part(l.ServerPairs, len(d.res.ServerPairs), d.ng[1]),
		part(l.TerminalRows, len(d.res.TerminalRows), d.ng[2]),
	}, l.ListSep)
}
