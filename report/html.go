package report

import (
	"bufio"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/kyojin/kyojin/check"
)

//go:embed templates/report.html.tmpl
var templateFS embed.FS

// htmlTemplate is parsed once. html/template escapes every value by its
// context, so text from the model cannot inject markup or script.
var htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"join": func(items []string) string { return strings.Join(items, ", ") },
	"mech": mechLabel,
	"kind": kindLabel,
	"ng":   func(v check.Verdict) bool { return v == check.NG },
	"text": func(s string) string { return clean(s, true) },
}).ParseFS(templateFS, "templates/report.html.tmpl"))

// htmlView is what the template renders.
type htmlView struct {
	L                                              *labels
	Lang                                           string
	Org, Code, Model, Source, Date, Generator, Now string
	Scope                                          string
	Cards                                          []htmlCard
	Total                                          int
	Inv                                            []htmlCard // NG counts of the three inventories
	Findings                                       []htmlFinding
	Connections                                    []check.ConnectionRow
	ServerPairs, TerminalRows                      []check.PairRow
	ConnOmitted, ServerOmitted, TermOmitted        string // "以下 N 行を省略" or ""
	Warnings                                       []string
}

type htmlCard struct {
	Key, Label, Detail string
	N                  int
}

type htmlFinding struct {
	No                              int
	Key, Sev, Rule, Title, Msg, Fix string
	Loc                             string
	Objects, Clauses                []string
}

func writeHTML(w io.Writer, d *doc) error {
	l := d.l
	v := &htmlView{
		L: l, Lang: d.lang,
		Org: d.orgName(), Code: orDash(d.res.Code), Model: modelLabel(d.res.NetworkModel, l),
		Source: d.opts.Source, Date: d.dateLine(), Generator: d.generator(),
		Now: d.now.Format("2006-01-02 15:04 MST"), Scope: d.scope(), Total: len(d.findings),
		Findings: make([]htmlFinding, len(d.findings)),
	}
	for s := check.Critical; s >= check.Info; s-- {
		v.Cards = append(v.Cards, htmlCard{Key: sevKey(s), Label: sevLabel(s, d.lang), N: d.bySev[s]})
	}
	v.Inv = []htmlCard{
		{Key: "connections", Label: l.Connections, N: d.ng[0], Detail: fmt.Sprintf("%d %s", len(d.res.Connections), l.Rows)},
		{Key: "server-pairs", Label: l.ServerPairs, N: d.ng[1], Detail: fmt.Sprintf("%d %s", len(d.res.ServerPairs), l.Rows)},
		{Key: "terminal-rows", Label: l.TerminalRows, N: d.ng[2], Detail: fmt.Sprintf("%d %s", len(d.res.TerminalRows), l.Rows)},
	}
	for i := range d.findings {
		f := &d.findings[i]
		v.Findings[i] = htmlFinding{
			No: i + 1, Key: sevKey(f.Severity), Sev: sevLabel(f.Severity, d.lang),
			Rule: clean(f.Rule, false), Title: clean(f.Title.In(d.lang), true), Msg: clean(f.Message.In(d.lang), true),
			Fix: clean(f.Remediation.In(d.lang), true), Loc: clean(location(f), false),
			Objects: f.Objects, Clauses: cites(f.Clauses, d.lang),
		}
	}
	omitted := func(n int) string {
		if n == 0 {
			return ""
		}
		return fmt.Sprintf(l.Omitted, n)
	}
	var n int
	v.Connections, n = limit(d.res.Connections, d.opts.MaxRows)
	v.ConnOmitted = omitted(n)
	v.ServerPairs, n = limit(d.res.ServerPairs, d.opts.MaxRows)
	v.ServerOmitted = omitted(n)
	v.TerminalRows, n = limit(d.res.TerminalRows, d.opts.MaxRows)
	v.TermOmitted = omitted(n)
	for _, w := range d.warnings {
		v.Warnings = append(v.Warnings, clean(w.Format(d.lang), false))
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if err := htmlTemplate.Execute(bw, v); err != nil {
		return err
	}
	return bw.Flush()
}
