package report

import (
	"fmt"
	"io"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/kyojin/kyojin/check"
)

// Sheet names of the workbook. The three inventory sheets carry the names
// of the Appendix 2 worksheets (付録2 手順1〜3) so that auditors find them.
const (
	SheetSummary      = "概要"
	SheetFindings     = "指摘事項"
	SheetConnections  = "ネットワーク接続情報"
	SheetServerPairs  = "サーバ間接続情報"
	SheetTerminalRows = "端末接続情報"
)

// xlsxStyles are the cell styles of the workbook.
type xlsxStyles struct {
	header, text, wrap, num, ok, ng, title, label int
	sev                                           [5]int
}

func newXLSXStyles(f *excelize.File) (*xlsxStyles, error) {
	border := []excelize.Border{
		{Type: "left", Color: "BFBFBF", Style: 1}, {Type: "right", Color: "BFBFBF", Style: 1},
		{Type: "top", Color: "BFBFBF", Style: 1}, {Type: "bottom", Color: "BFBFBF", Style: 1},
	}
	top := &excelize.Alignment{Vertical: "top"}
	wrapTop := &excelize.Alignment{Vertical: "top", WrapText: true}
	fill := func(c string) excelize.Fill { return excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c}} }
	type styleDef struct {
		dst *int
		st  excelize.Style
	}
	var defs []styleDef
	s := &xlsxStyles{}
	add := func(dst *int, st excelize.Style) { defs = append(defs, styleDef{dst, st}) }
	add(&s.header, excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"}, Fill: fill("1F4E78"), Border: border,
		Alignment: &excelize.Alignment{Vertical: "center", WrapText: true}})
	add(&s.text, excelize.Style{Border: border, Alignment: top})
	add(&s.wrap, excelize.Style{Border: border, Alignment: wrapTop})
	add(&s.num, excelize.Style{Border: border, Alignment: top, NumFmt: 1})
	add(&s.ok, excelize.Style{Border: border, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "center"},
		Font: &excelize.Font{Color: "006100"}, Fill: fill("C6EFCE")})
	add(&s.ng, excelize.Style{Border: border, Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "center"},
		Font: &excelize.Font{Bold: true, Color: "9C0006"}, Fill: fill("FFC7CE")})
	add(&s.title, excelize.Style{Font: &excelize.Font{Bold: true, Size: 14, Color: "1F4E78"}})
	add(&s.label, excelize.Style{Font: &excelize.Font{Bold: true}, Fill: fill("F3F5F8"), Border: border, Alignment: top})
	sevFill := [5]string{"E9ECEF", "D0EBFF", "FFE8CC", "FFC9C9", "7A0916"}
	for i := range s.sev {
		font := &excelize.Font{Bold: true}
		if check.Severity(i) == check.Critical {
			font.Color = "FFFFFF"
		}
		add(&s.sev[i], excelize.Style{Border: border, Font: font, Fill: fill(sevFill[i]),
			Alignment: &excelize.Alignment{Vertical: "top", Horizontal: "center"}})
	}
	for _, d := range defs {
		id, err := f.NewStyle(&d.st)
		if err != nil {
			return nil, fmt.Errorf("creating a cell style: %w", err)
		}
		*d.dst = id
	}
	return s, nil
}

// xlsxColumn is a column of a data sheet: header and width.
type xlsxColumn struct {
	head  string
	width float64
}

// dataSheet streams one table: styled, frozen header row, column widths
// and an autofilter (through an Excel table without a table style, the one
// autofilter the stream writer can add without re-reading the sheet).
type dataSheet struct {
	sw  *excelize.StreamWriter
	row int
	st  *xlsxStyles
}

func startSheet(f *excelize.File, name string, cols []xlsxColumn, st *xlsxStyles) (*dataSheet, error) {
	if _, err := f.NewSheet(name); err != nil {
		return nil, err
	}
	sw, err := f.NewStreamWriter(name)
	if err != nil {
		return nil, err
	}
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}}}); err != nil {
		return nil, err
	}
	for i, c := range cols {
		if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
			return nil, err
		}
	}
	head := make([]any, len(cols))
	for i, c := range cols {
		head[i] = excelize.Cell{StyleID: st.header, Value: c.head}
	}
	ds := &dataSheet{sw: sw, row: 1, st: st}
	if err := sw.SetRow("A1", head, excelize.RowOpts{Height: 20}); err != nil {
		return nil, err
	}
	return ds, nil
}

func (ds *dataSheet) add(cells []any) error {
	ds.row++
	cell, err := excelize.CoordinatesToCellName(1, ds.row)
	if err != nil {
		return err
	}
	return ds.sw.SetRow(cell, cells)
}

func (ds *dataSheet) finish(table string, ncols int) error {
	last, err := excelize.CoordinatesToCellName(ncols, max(ds.row, 2))
	if err != nil {
		return err
	}
	noStripes := false
	if err := ds.sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: table, ShowRowStripes: &noStripes}); err != nil {
		return err
	}
	return ds.sw.Flush()
}

func (ds *dataSheet) s(v string) excelize.Cell {
	return excelize.Cell{StyleID: ds.st.text, Value: clean(v, true)}
}
func (ds *dataSheet) w(v string) excelize.Cell {
	return excelize.Cell{StyleID: ds.st.wrap, Value: clean(v, true)}
}
func (ds *dataSheet) n(v int) excelize.Cell { return excelize.Cell{StyleID: ds.st.num, Value: v} }
func (ds *dataSheet) list(v []string) excelize.Cell {
	return excelize.Cell{StyleID: ds.st.text, Value: clean(strings.Join(v, ", "), true)}
}
func (ds *dataSheet) verdict(v check.Verdict) excelize.Cell {
	id := ds.st.ok
	if v == check.NG {
		id = ds.st.ng
	}
	return excelize.Cell{StyleID: id, Value: string(v)}
}

// writeXLSX builds the workbook: 概要, 指摘事項 and the three inventories.
func writeXLSX(w io.Writer, d *doc) (err error) {
	f := excelize.NewFile()
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	l := d.l
	created := d.now.UTC().Format("2006-01-02T15:04:05Z")
	if err := f.SetDocProps(&excelize.DocProperties{
		Title: l.Title + " — " + clean(d.orgName(), false), Creator: d.generator(), LastModifiedBy: d.generator(),
		Created: created, Modified: created, Language: d.lang, Subject: l.Subtitle,
	}); err != nil {
		return err
	}
	st, err := newXLSXStyles(f)
	if err != nil {
		return err
	}
	// The default sheet becomes the summary, so it stays first.
	if err := f.SetSheetName("Sheet1", SheetSummary); err != nil {
		return err
	}
	if err := d.xlsxSummary(f, st); err != nil {
		return fmt.Errorf("sheet %s: %w", SheetSummary, err)
	}
	for _, step := range []struct {
		name string
		fn   func(*excelize.File, *xlsxStyles) error
	}{
		{SheetFindings, d.xlsxFindings},
		{SheetConnections, d.xlsxConnections},
		{SheetServerPairs, func(f *excelize.File, st *xlsxStyles) error {
			return d.xlsxPairs(f, st, SheetServerPairs, "ServerToServer", d.res.ServerPairs, false)
		}},
		{SheetTerminalRows, func(f *excelize.File, st *xlsxStyles) error {
			return d.xlsxPairs(f, st, SheetTerminalRows, "TerminalToServer", d.res.TerminalRows, true)
		}},
	} {
		if err := step.fn(f, st); err != nil {
			return fmt.Errorf("sheet %s: %w", step.name, err)
		}
	}
	// 概要 is the first sheet and so already the active one; SetActiveSheet
	// would re-read every streamed sheet to clear its selection flag.
	_, err = f.WriteTo(w)
	return err
}

func (d *doc) xlsxSummary(f *excelize.File, st *xlsxStyles) error {
	l, sh := d.l, SheetSummary
	rows := [][2]any{
		{l.Org, clean(d.orgName(), false)},
		{l.Code, clean(orDash(d.res.Code), false)},
		{l.NetModel, modelLabel(d.res.NetworkModel, l)},
	}
	if d.opts.Source != "" {
		rows = append(rows, [2]any{l.Source, clean(d.opts.Source, false)})
	}
	rows = append(rows, [2]any{l.Generated, d.dateLine()}, [2]any{l.Generator, d.generator()}, [2]any{"", ""})
	for s := check.Critical; s >= check.Info; s-- {
		rows = append(rows, [2]any{l.FindingsHead + " " + sevLabel(s, d.lang), d.bySev[s]})
	}
	rows = append(rows, [2]any{l.FindingsHead + " " + l.Total, len(d.findings)}, [2]any{"", ""})
	sm := d.res.Summary
	for _, c := range []struct {
		k string
		v int
	}{{l.Zones, sm.Zones}, {l.Systems, sm.Systems}, {l.Assets, sm.Assets}, {l.Hosts, sm.Hosts},
		{l.Terminals, sm.Terminals}, {l.Comms, sm.Communications}, {l.Flows, sm.Flows}} {
		rows = append(rows, [2]any{c.k, c.v})
	}
	rows = append(rows, [2]any{"", ""})
	for _, inv := range []struct {
		k     string
		n, ng int
	}{{l.Connections, len(d.res.Connections), d.ng[0]}, {l.ServerPairs, len(d.res.ServerPairs), d.ng[1]},
		{l.TerminalRows, len(d.res.TerminalRows), d.ng[2]}} {
		rows = append(rows, [2]any{inv.k + " " + l.Count, inv.n}, [2]any{inv.k + " NG", inv.ng})
	}
	if err := f.SetCellValue(sh, "A1", l.Title); err != nil {
		return err
	}
	if err := f.SetCellStyle(sh, "A1", "A1", st.title); err != nil {
		return err
	}
	for i, r := range rows {
		if r[0] == "" {
			continue
		}
		a, b := fmt.Sprintf("A%d", i+3), fmt.Sprintf("B%d", i+3)
		if err := f.SetCellValue(sh, a, r[0]); err != nil {
			return err
		}
		if err := f.SetCellValue(sh, b, r[1]); err != nil {
			return err
		}
		if err := f.SetCellStyle(sh, a, a, st.label); err != nil {
			return err
		}
		valStyle := st.text
		if n, ok := r[1].(int); ok && n > 0 && strings.HasSuffix(r[0].(string), " NG") {
			valStyle = st.ng
		}
		if err := f.SetCellStyle(sh, b, b, valStyle); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(sh, "A", "A", 36); err != nil {
		return err
	}
	return f.SetColWidth(sh, "B", "B", 48)
}

func (d *doc) xlsxFindings(f *excelize.File, st *xlsxStyles) error {
	l := d.l
	cols := []xlsxColumn{{l.No, 6}, {l.Severity, 9}, {l.Rule, 16}, {l.Finding, 36}, {l.Detail, 60},
		{l.Objects, 30}, {l.Clauses, 22}, {l.Fix, 60}, {l.File, 28}, {l.Line, 7}}
	ds, err := startSheet(f, SheetFindings, cols, st)
	if err != nil {
		return err
	}
	for i := range d.findings {
		fd := &d.findings[i]
		sevStyle := st.text
		if fd.Severity >= check.Info && fd.Severity <= check.Critical {
			sevStyle = st.sev[fd.Severity]
		}
		var line any
		if fd.Line > 0 {
			line = fd.Line
		}
		if err := ds.add([]any{
			ds.n(i + 1), excelize.Cell{StyleID: sevStyle, Value: sevLabel(fd.Severity, d.lang)}, ds.s(fd.Rule),
			ds.w(fd.Title.In(d.lang)), ds.w(fd.Message.In(d.lang)), ds.w(strings.Join(fd.Objects, "\n")),
			ds.w(strings.Join(cites(fd.Clauses, d.lang), "\n")), ds.w(fd.Remediation.In(d.lang)),
			ds.s(fd.File), excelize.Cell{StyleID: st.num, Value: line},
		}); err != nil {
			return err
		}
	}
	return ds.finish("Findings", len(cols))
}

func (d *doc) xlsxConnections(f *excelize.File, st *xlsxStyles) error {
	l := d.l
	cols := []xlsxColumn{{l.FromZone, 16}, {l.To, 24}, {l.ToKind, 14}, {l.Mechanism, 16}, {l.Ports, 24},
		{l.FlowCount, 11}, {l.Verdict, 8}, {l.Rules, 28}}
	ds, err := startSheet(f, SheetConnections, cols, st)
	if err != nil {
		return err
	}
	for i := range d.res.Connections {
		c := &d.res.Connections[i]
		if err := ds.add([]any{ds.s(c.FromZone), ds.s(c.To), ds.s(kindLabel(c.ToKind, d.lang)),
			ds.s(mechLabel(c.Mechanism, d.lang)), ds.list(c.Ports), ds.n(c.Flows), ds.verdict(c.Verdict),
			ds.list(c.Rules)}); err != nil {
			return err
		}
	}
	return ds.finish("NetworkConnections", len(cols))
}

func (d *doc) xlsxPairs(f *excelize.File, st *xlsxStyles, sheet, table string, rows []check.PairRow, terminals bool) error {
	l := d.l
	var cols []xlsxColumn
	if terminals {
		cols = []xlsxColumn{{l.FlowID, 14}, {l.Terminal, 20}, {l.TermZone, 14}, {l.TermRole, 18}, {l.TermCount, 7},
			{l.To, 20}, {l.ToZone, 14}, {l.ToRole, 18}, {l.Ports, 20}, {l.Mechanism, 14}, {l.Verdict, 8}, {l.Rules, 24}}
	} else {
		cols = []xlsxColumn{{l.FlowID, 14}, {l.From, 20}, {l.FromZone, 14}, {l.FromRole, 18},
			{l.To, 20}, {l.ToZone, 14}, {l.ToRole, 18}, {l.Ports, 20}, {l.Mechanism, 14}, {l.Verdict, 8}, {l.Rules, 24}}
	}
	ds, err := startSheet(f, sheet, cols, st)
	if err != nil {
		return err
	}
	cells := make([]any, 0, len(cols))
	for i := range rows {
		p := &rows[i]
		cells = append(cells[:0], ds.s(p.Flow), ds.s(p.From), ds.s(p.FromZone), ds.s(p.FromRole))
		if terminals {
			cells = append(cells, ds.n(p.Count))
		}
		cells = append(cells, ds.s(p.To), ds.s(p.ToZone), ds.s(p.ToRole), ds.list(p.Ports),
			ds.s(mechLabel(p.Mechanism, d.lang)), ds.verdict(p.Verdict), ds.list(p.Rules))
		if err := ds.add(cells); err != nil {
			return err
		}
	}
	return ds.finish(table, len(cols))
}
