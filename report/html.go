package report

import (
	"bufio"
	"embed"
	"fmt"
	"html"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/kyojin/kyojin/check"
)

//go:embed templates/report.html.tmpl
var templateFS embed.FS

// htmlTemplate is parsed once. html/template escapes every value by its
// context, so text from the model cannot inject markup or script. It holds
// the named parts "head" (up to the findings), "inv-start"/"inv-end" around
// each inventory table, and "tail".
var htmlTemplate = template.Must(template.New("report.html.tmpl").Funcs(template.FuncMap{
	"text": func(s string) string { return clean(s, true) },
}).ParseFS(templateFS, "templates/report.html.tmpl"))

// htmlView is what the "head" and "tail" templates render.
type htmlView struct {
	L                                              *labels
	Lang                                           string
	Org, Code, Model, Source, Date, Generator, Now string
	Scope                                          string
	Cards                                          []htmlCard
	Total                                          int
	Inv                                            []htmlCard // NG counts of the three inventories
	Findings                                       []htmlFinding
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

// htmlInventory frames one inventory table ("inv-start", "inv-end").
type htmlInventory struct {
	ID, Title, Note, NoRows, Omitted string
	Headers                          []string
	Empty                            bool
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
	for _, w := range d.warnings {
		v.Warnings = append(v.Warnings, clean(w.Format(d.lang), false))
	}

	bw := bufio.NewWriterSize(w, 64<<10)
	if err := htmlTemplate.ExecuteTemplate(bw, "head", v); err != nil {
		return err
	}
	conns, n := limit(d.res.Connections, d.opts.MaxRows)
	err := d.htmlInventory(bw, htmlInventory{ID: "connections", Title: l.Connections, Note: l.ConnectionsNote,
		Headers: []string{l.FromZone, l.To, l.ToKind, l.Mechanism, l.Ports, l.FlowCount, l.Verdict, l.Rules}},
		len(conns), n, func(r *htmlRow, i int) {
			c := &conns[i]
			r.start(c.Verdict)
			r.cell("mono", c.FromZone)
			r.cell("mono", c.To)
			r.cell("", kindLabel(c.ToKind, d.lang))
			r.cell("", mechLabel(c.Mechanism, d.lang))
			r.cell("mono", strings.Join(c.Ports, ", "))
			r.num(c.Flows)
			r.verdict(c.Verdict)
			r.cell("mono", strings.Join(c.Rules, ", "))
			r.end()
		})
	if err != nil {
		return err
	}
	if err := d.htmlPairs(bw, "server-pairs", l.ServerPairs, l.ServerPairsNote, d.res.ServerPairs, false); err != nil {
		return err
	}
	if err := d.htmlPairs(bw, "terminal-rows", l.TerminalRows, l.TerminalRowsNote, d.res.TerminalRows, true); err != nil {
		return err
	}
	if err := htmlTemplate.ExecuteTemplate(bw, "tail", v); err != nil {
		return err
	}
	return bw.Flush()
}

func (d *doc) htmlPairs(bw *bufio.Writer, id, title, note string, all []check.PairRow, terminals bool) error {
	l := d.l
	rows, n := limit(all, d.opts.MaxRows)
	inv := htmlInventory{ID: id, Title: title, Note: note}
	if terminals {
		inv.Headers = []string{l.FlowID, l.Terminal, l.TermZone, l.TermRole, l.TermCount, l.To, l.ToZone, l.ToRole, l.Ports, l.Mechanism, l.Verdict, l.Rules}
	} else {
		inv.Headers = []string{l.FlowID, l.From, l.FromZone, l.FromRole, l.To, l.ToZone, l.ToRole, l.Ports, l.Mechanism, l.Verdict, l.Rules}
	}
	return d.htmlInventory(bw, inv, len(rows), n, func(r *htmlRow, i int) {
		p := &rows[i]
		r.start(p.Verdict)
		r.cell("mono", p.Flow)
		r.cell("mono", p.From)
		r.cell("mono", p.FromZone)
		r.cell("", p.FromRole)
		if terminals {
			r.num(p.Count)
		}
		r.cell("mono", p.To)
		r.cell("mono", p.ToZone)
		r.cell("", p.ToRole)
		r.cell("mono", strings.Join(p.Ports, ", "))
		r.cell("", mechLabel(p.Mechanism, d.lang))
		r.verdict(p.Verdict)
		r.cell("mono", strings.Join(p.Rules, ", "))
		r.end()
	})
}

// htmlInventory writes one inventory table: the frame from the template,
// the rows from row. The rows are written here rather than by the template
// because a prefecture has hundreds of thousands of them, and
// html/template's reflective execution costs tens of microseconds per row;
// every value still goes through html.EscapeString.
func (d *doc) htmlInventory(bw *bufio.Writer, inv htmlInventory, rows, omitted int, row func(*htmlRow, int)) error {
	inv.NoRows, inv.Empty = d.l.NoRows, rows == 0
	if omitted > 0 {
		inv.Omitted = fmt.Sprintf(d.l.Omitted, omitted)
	}
	if err := htmlTemplate.ExecuteTemplate(bw, "inv-start", inv); err != nil {
		return err
	}
	r := &htmlRow{bw: bw}
	for i := range rows {
		row(r, i)
	}
	return htmlTemplate.ExecuteTemplate(bw, "inv-end", inv)
}

// htmlRow writes a table row of escaped cells.
type htmlRow struct{ bw *bufio.Writer }

func (r *htmlRow) start(v check.Verdict) {
	if v == check.NG {
		r.bw.WriteString("\n<tr class=\"ng\">")
	} else {
		r.bw.WriteString("\n<tr>")
	}
}

func (r *htmlRow) end() { r.bw.WriteString("</tr>") }

// cell writes a <td>; class is a constant of this package, s is untrusted.
func (r *htmlRow) cell(class, s string) {
	if class == "" {
		r.bw.WriteString("<td>")
	} else {
		r.bw.WriteString(`<td class="` + class + `">`)
	}
	r.bw.WriteString(html.EscapeString(clean(s, true)))
	r.bw.WriteString("</td>")
}

func (r *htmlRow) num(n int) {
	r.bw.WriteString(`<td class="num">`)
	r.bw.WriteString(strconv.Itoa(n))
	r.bw.WriteString("</td>")
}

func (r *htmlRow) verdict(v check.Verdict) {
	class := "ok"
	if v == check.NG {
		class = "ng"
	}
	r.bw.WriteString(`<td><span class="verdict ` + class + `">`)
	r.bw.WriteString(html.EscapeString(clean(string(v), false)))
	r.bw.WriteString("</span></td>")
}
