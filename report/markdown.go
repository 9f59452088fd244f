package report

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kyojin/kyojin/check"
)

// writeMarkdown renders a GitHub-flavoured Markdown report: header facts,
// a severity summary, the findings table and the three inventories. Every
// cell is escaped so that model text cannot break the table or inject HTML
// or links into a Markdown renderer.
func writeMarkdown(w io.Writer, d *doc) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	l := d.l
	fmt.Fprintf(bw, "# %s — %s\n\n", l.Title, mdEsc(d.orgName()))
	item := func(k, v string) { fmt.Fprintf(bw, "- **%s**: %s\n", k, v) }
	item(l.Org, mdEsc(d.orgName()))
	item(l.Code, mdEsc(orDash(d.res.Code)))
	item(l.NetModel, mdEsc(modelLabel(d.res.NetworkModel, l)))
	if d.opts.Source != "" {
		item(l.Source, mdEsc(d.opts.Source))
	}
	item(l.Scope, d.scope())
	item(l.Generated, d.dateLine())
	item(l.Generator, mdEsc(d.generator()))

	fmt.Fprintf(bw, "\n## %s\n\n", l.Summary)
	head := []string{}
	vals := []string{}
	for s := check.Critical; s >= check.Info; s-- {
		head = append(head, sevLabel(s, d.lang))
		vals = append(vals, strconv.Itoa(d.bySev[s]))
	}
	head = append(head, l.Total)
	vals = append(vals, strconv.Itoa(len(d.findings)))
	mdRow(bw, head)
	mdRule(bw, len(head))
	mdRow(bw, vals)
	fmt.Fprintf(bw, "\n%s: %s\n", l.Inventories, d.inventoryCounts())

	fmt.Fprintf(bw, "\n## %s\n\n", l.FindingsHead)
	if len(d.findings) == 0 {
		fmt.Fprintf(bw, "%s\n", l.NoFindings)
	} else {
		hdr := []string{l.No, l.Severity, l.Rule, l.Finding, l.Objects, l.Clauses, l.Fix, l.Location}
		mdRow(bw, hdr)
		mdRule(bw, len(hdr))
		for i := range d.findings {
			f := &d.findings[i]
			finding := "**" + mdEsc(f.Title.In(d.lang)) + "**"
			if m := f.Message.In(d.lang); m != "" {
				finding += "<br>" + mdEsc(m)
			}
			mdRow(bw, []string{
				strconv.Itoa(i + 1), sevLabel(f.Severity, d.lang), mdEsc(f.Rule), finding,
				mdEscList(f.Objects), mdEscList(cites(f.Clauses, d.lang)),
				mdEsc(f.Remediation.In(d.lang)), mdEsc(location(f)),
			})
		}
	}

	fmt.Fprintf(bw, "\n## %s\n\n%s\n\n", l.Connections, l.ConnectionsNote)
	conns, omitted := limit(d.res.Connections, d.opts.MaxRows)
	if len(conns) == 0 {
		fmt.Fprintf(bw, "%s\n", l.NoRows)
	} else {
		hdr := []string{l.FromZone, l.To, l.ToKind, l.Mechanism, l.Ports, l.FlowCount, l.Verdict, l.Rules}
		mdRow(bw, hdr)
		mdRule(bw, len(hdr))
		for i := range conns {
			c := &conns[i]
			mdRow(bw, []string{mdEsc(c.FromZone), mdEsc(c.To), mdEsc(kindLabel(c.ToKind, d.lang)),
				mdEsc(mechLabel(c.Mechanism, d.lang)), mdEscList(c.Ports), strconv.Itoa(c.Flows),
				mdVerdict(c.Verdict), mdEscList(c.Rules)})
		}
	}
	d.mdOmitted(bw, omitted)

	d.mdPairs(bw, l.ServerPairs, l.ServerPairsNote, d.res.ServerPairs, false)
	d.mdPairs(bw, l.TerminalRows, l.TerminalRowsNote, d.res.TerminalRows, true)

	if len(d.warnings) > 0 {
		fmt.Fprintf(bw, "\n## %s\n\n", l.Warnings)
		for _, w := range d.warnings {
			fmt.Fprintf(bw, "- %s\n", mdEsc(w.Format(d.lang)))
		}
	}
	fmt.Fprintf(bw, "\n---\n\n%s\n", l.Footnote)
	return bw.Flush()
}

// mdPairs renders the server-to-server or terminal-to-server inventory.
func (d *doc) mdPairs(bw *bufio.Writer, title, note string, all []check.PairRow, terminals bool) {
	l := d.l
	fmt.Fprintf(bw, "\n## %s\n\n%s\n\n", title, note)
	rows, omitted := limit(all, d.opts.MaxRows)
	if len(rows) == 0 {
		fmt.Fprintf(bw, "%s\n", l.NoRows)
		return
	}
	var hdr []string
	if terminals {
		hdr = []string{l.FlowID, l.Terminal, l.TermZone, l.TermRole, l.TermCount, l.To, l.ToZone, l.ToRole, l.Ports, l.Mechanism, l.Verdict, l.Rules}
	} else {
		hdr = []string{l.FlowID, l.From, l.FromZone, l.FromRole, l.To, l.ToZone, l.ToRole, l.Ports, l.Mechanism, l.Verdict, l.Rules}
	}
	mdRow(bw, hdr)
	mdRule(bw, len(hdr))
	for i := range rows {
		p := &rows[i]
		cells := []string{mdEsc(p.Flow), mdEsc(p.From), mdEsc(p.FromZone), mdEsc(p.FromRole)}
		if terminals {
			cells = append(cells, strconv.Itoa(p.Count))
		}
		cells = append(cells, mdEsc(p.To), mdEsc(p.ToZone), mdEsc(p.ToRole), mdEscList(p.Ports),
			mdEsc(mechLabel(p.Mechanism, d.lang)), mdVerdict(p.Verdict), mdEscList(p.Rules))
		mdRow(bw, cells)
	}
	d.mdOmitted(bw, omitted)
}

func (d *doc) mdOmitted(bw *bufio.Writer, n int) {
	if n > 0 {
		fmt.Fprintf(bw, "\n%s\n", fmt.Sprintf(d.l.Omitted, n))
	}
}

// limit returns at most max rows (all when max <= 0) and how many were cut.
func limit[T any](rows []T, max int) ([]T, int) {
	if max <= 0 || len(rows) <= max {
		return rows, 0
	}
	return rows[:max], len(rows) - max
}

func mdVerdict(v check.Verdict) string {
	if v == check.NG {
		return "**NG**"
	}
	return mdEsc(string(v))
}

// mdRow writes a table row of cells that are already escaped (or are
// trusted label text).
func mdRow(bw *bufio.Writer, cells []string) {
	bw.WriteString("|")
	for _, c := range cells {
		bw.WriteString(" ")
		bw.WriteString(c)
		bw.WriteString(" |")
	}
	bw.WriteString("\n")
}

func mdRule(bw *bufio.Writer, n int) {
	bw.WriteString("|")
	for range n {
		bw.WriteString(" --- |")
	}
	bw.WriteString("\n")
}

// mdReplacer escapes what Markdown or the HTML it may contain would
// interpret: table pipes, emphasis, links, code spans, headings, raw HTML
// and entities. Line breaks become <br> so a cell stays on one line.
var mdReplacer = strings.NewReplacer(
	`\`, `\\`, "|", `\|`, "*", `\*`, "_", `\_`, "`", "\\`", "[", `\[`, "]", `\]`,
	"#", `\#`, "~", `\~`, "<", "&lt;", ">", "&gt;", "&", "&amp;",
	"\r\n", "<br>", "\n", "<br>", "\r", "<br>",
)

// mdEsc escapes untrusted text for a Markdown table cell or list item.
func mdEsc(s string) string {
	s = clean(s, true)
	if !strings.ContainsAny(s, mdSpecial) {
		return s // most cells are plain IDs; skip the replacer
	}
	return mdReplacer.Replace(s)
}

// mdSpecial holds every character mdReplacer rewrites.
const mdSpecial = "\\|*_`[]#~<>&\r\n"

func mdEscList(items []string) string {
	out := make([]string, len(items))
	for i, s := range items {
		out[i] = mdEsc(s)
	}
	return strings.Join(out, ", ")
}
