package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// writeText prints the plain terminal report: a header with the body, its
// network model and counts, every finding with its rule, severity, message,
// objects, clauses, remediation and position, then the load warnings. No
// colour: the output is as readable in a CI log as on a terminal.
func writeText(w io.Writer, d *doc) error {
	bw := bufio.NewWriter(w)
	l := d.l
	fmt.Fprintf(bw, "%s\n", l.Title)
	fmt.Fprintf(bw, "%s: %s%s\n", l.Org, clean(d.orgName(), false), d.paren(l.Code+" "+clean(orDash(d.res.Code), false)))
	fmt.Fprintf(bw, "%s: %s\n", l.NetModel, clean(modelLabel(d.res.NetworkModel, l), false))
	if d.opts.Source != "" {
		fmt.Fprintf(bw, "%s: %s\n", l.Source, clean(d.opts.Source, false))
	}
	fmt.Fprintf(bw, "%s: %s\n", l.Scope, d.scope())
	fmt.Fprintf(bw, "%s: %d%s%s\n", l.FindingsHead, len(d.findings), l.Unit, d.paren(d.sevCounts()))
	fmt.Fprintf(bw, "%s: %s\n", l.Inventories, d.inventoryCounts())
	bw.WriteString("\n")
	if len(d.findings) == 0 {
		fmt.Fprintf(bw, "%s\n", l.NoFindings)
	}
	for i := range d.findings {
		f := &d.findings[i]
		fmt.Fprintf(bw, "[%s] %s %s\n", sevLabel(f.Severity, d.lang), clean(f.Rule, false), clean(f.Title.In(d.lang), false))
		field := func(name, value string) {
			if value == "" {
				return
			}
			fmt.Fprintf(bw, "    %s: %s\n", name, indent(clean(value, true), "      "))
		}
		field(l.Detail, f.Message.In(d.lang))
		field(l.Objects, strings.Join(f.Objects, ", "))
		field(l.Clauses, strings.Join(cites(f.Clauses, d.lang), ", "))
		field(l.Fix, f.Remediation.In(d.lang))
		field(l.Location, location(f))
		bw.WriteString("\n")
	}
	if len(d.warnings) > 0 {
		fmt.Fprintf(bw, "%s%s:\n", l.Warnings, d.paren(fmt.Sprint(len(d.warnings))))
		for _, w := range d.warnings {
			fmt.Fprintf(bw, "  %s\n", clean(w.Format(d.lang), false))
		}
	}
	return bw.Flush()
}

// indent prefixes every line after the first with pad.
func indent(s, pad string) string {
	s = strings.TrimRight(s, "\n")
	if !strings.Contains(s, "\n") {
		return s
	}
	return strings.ReplaceAll(s, "\n", "\n"+pad)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
