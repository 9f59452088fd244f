package assess

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/xuri/excelize/v2"
)

// table writes a header row and rows to a new sheet.
func table(f *excelize.File, sheet string, head []string, widths []float64, rows [][]any) error {
	if _, err := f.NewSheet(sheet); err != nil {
		return fmt.Errorf("sheet %s: %w", sheet, err)
	}
	hs, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}}})
	if err != nil {
		return err
	}
	for i, h := range head {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		if err := f.SetCellValue(sheet, cell, h); err != nil {
			return err
		}
		col, _ := excelize.ColumnNumberToName(i + 1)
		if i < len(widths) {
			_ = f.SetColWidth(sheet, col, col, widths[i])
		}
	}
	last, _ := excelize.CoordinatesToCellName(len(head), 1)
	_ = f.SetCellStyle(sheet, "A1", last, hs)
	for r, row := range rows {
		for c, val := range row {
			cell, _ := excelize.CoordinatesToCellName(c+1, r+2)
			if s, ok := val.(string); ok {
				val = cellText(s)
			}
			if err := f.SetCellValue(sheet, cell, val); err != nil {
				return err
			}
		}
	}
	return f.SetPanes(sheet, &excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"})
}

// cellText neutralises formula injection: a cell starting with = + - @ is
// prefixed with an apostrophe so spreadsheet programs show it as text.
func cellText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeXLSX(w io.Writer, v *View) error {
	L := func(ja, en string) string { return tr(v.Lang, ja, en) }
	f := excelize.NewFile()
	defer f.Close()
	sum := L("概要", "Summary")
	if err := f.SetSheetName("Sheet1", sum); err != nil {
		return err
	}
	rows := [][]any{
		{L("団体", "Body"), v.Organization}, {L("団体コード", "Code"), v.Code}, {L("年度", "Fiscal year"), v.YearLabel},
		{L("ネットワークモデル", "Network model"), v.NetworkModel}, {L("評価日", "Date"), v.DateLabel},
		{L("総合評点（%）", "Overall score (%)"), v.Overall.Percent},
		{L("実施", "Implemented"), v.Overall.Implemented}, {L("一部実施", "Partial"), v.Overall.Partial},
		{L("未実施", "Not implemented"), v.Overall.NotImpl}, {L("未回答", "Unanswered"), v.Overall.Unanswered},
		{L("該当なし", "Not applicable"), v.Overall.NA}, {L("自動検査の指摘", "Automatic findings"), v.CheckFindings},
	}
	if v.Trend != nil {
		rows = append(rows, []any{L("前年度評点（%）", "Previous score (%)"), v.Trend.Overall}, []any{L("前年度比", "Change"), v.Trend.Delta})
	}
	for i, r := range rows {
		_ = f.SetCellValue(sum, fmt.Sprintf("A%d", i+1), r[0])
		val := r[1]
		if s, ok := val.(string); ok {
			val = cellText(s)
		}
		_ = f.SetCellValue(sum, fmt.Sprintf("B%d", i+1), val)
	}
	_ = f.SetColWidth(sum, "A", "A", 24)
	_ = f.SetColWidth(sum, "B", "B", 40)

	var sec [][]any
	for _, s := range v.Sections {
		sec = append(sec, []any{s.Catalog, s.Section, s.Title, s.Scored, s.Implemented, s.Partial, s.NotImpl, s.Unanswered, s.NA, s.Percent, s.Delta})
	}
	if err := table(f, L("節別評点", "Sections"), []string{L("カタログ", "Catalog"), L("節", "Section"), L("見出し", "Title"), L("対象", "Scored"),
		L("実施", "Impl."), L("一部実施", "Partial"), L("未実施", "Not impl."), L("未回答", "Unanswered"), L("該当なし", "N/A"), L("評点", "Score"), L("前年度比", "Change")},
		[]float64{28, 10, 36, 8, 8, 8, 8, 8, 8, 8, 10}, sec); err != nil {
		return err
	}
	itemRows := func(items []ItemView) [][]any {
		var out [][]any
		for _, it := range items {
			out = append(out, []any{it.ID, it.Obligation, it.Title, it.Declared, it.Status, it.Owner, it.Due,
				strings.Join(append(slices.Clone(it.Evidence), it.Operations...), "\n"), it.Reason, it.Override, strings.Join(it.Exceptions, ", "), it.Notes})
		}
		return out
	}
	itemHead := []string{"ID", L("区分", "Obligation"), L("要件", "Requirement"), L("自己申告", "Declared"), L("判定", "Status"),
		L("担当", "Owner"), L("期限", "Due"), L("証跡", "Evidence"), L("理由", "Reason"), L("自動検査による変更", "Override"), L("例外措置", "Exceptions"), L("備考", "Notes")}
	itemW := []float64{14, 8, 36, 10, 10, 14, 14, 30, 24, 40, 12, 30}
	if err := table(f, L("未達の要件", "Gaps"), itemHead, itemW, itemRows(v.Gaps)); err != nil {
		return err
	}
	var acts [][]any
	for _, a := range v.Actions {
		acts = append(acts, []any{a.ID, a.Year, a.CarriedOver, a.Finding, strings.Join(a.Requirements, ", "), a.Action, a.Owner, a.Due, a.Status, a.Overdue, a.DaysOverdue})
	}
	if err := table(f, L("改善計画", "Corrective actions"), []string{"ID", L("年度", "Year"), L("前年度から継続", "Carried over"), L("監査指摘", "Finding"),
		L("要件", "Requirements"), L("内容", "Action"), L("担当", "Owner"), L("期限", "Due"), L("状況", "Status"), L("期限超過", "Overdue"), L("超過日数", "Days overdue")},
		[]float64{14, 12, 10, 14, 16, 40, 16, 16, 10, 8, 8}, acts); err != nil {
		return err
	}
	var excs [][]any
	for _, x := range v.Exceptions {
		excs = append(excs, []any{x.ID, strings.Join(x.Requirements, ", "), x.Reason, x.ApprovedBy, x.Expires, x.Expired, x.DaysLeft, x.Measures})
	}
	if err := table(f, L("例外措置", "Exceptions"), []string{"ID", L("要件", "Requirements"), L("理由", "Reason"), L("承認者", "Approved by"),
		L("有効期限", "Expires"), L("期限切れ", "Expired"), L("残日数", "Days left"), L("代替措置", "Measures")},
		[]float64{12, 16, 36, 16, 16, 8, 8, 30}, excs); err != nil {
		return err
	}
	var aud [][]any
	for _, a := range v.AuditFindings {
		aud = append(aud, []any{a.ID, a.Date, a.Auditor, a.Severity, strings.Join(a.Requirements, ", "), a.Title, a.Detail})
	}
	if err := table(f, L("監査指摘", "Audit findings"), []string{"ID", L("日付", "Date"), L("監査人", "Auditor"), L("重大度", "Severity"),
		L("要件", "Requirements"), L("指摘", "Finding"), L("詳細", "Detail")}, []float64{14, 16, 20, 8, 16, 36, 40}, aud); err != nil {
		return err
	}
	if err := table(f, L("全要件", "All requirements"), itemHead, itemW, itemRows(v.Items)); err != nil {
		return err
	}
	var exc [][]any
	for _, x := range v.Excluded {
		exc = append(exc, []any{x.ID, x.Title, strings.Join(x.Reasons, "\n")})
	}
	if err := table(f, L("適用外", "Not applicable"), []string{"ID", L("要件", "Requirement"), L("理由", "Reason")}, []float64{14, 36, 60}, exc); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	_, err := f.WriteTo(w)
	return err
}
