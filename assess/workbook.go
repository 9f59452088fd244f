package assess

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/model"
)

// Workbook layout. The answer sheet keeps the requirement in locked columns
// A-D and the answer in unlocked columns E-J; the very hidden meta sheet
// holds the format version, the department and a SHA-256 of the locked
// content. The checksum catches edits made after lifting the protection
// (which has no secret: Excel's sheet password is not a security boundary);
// on import the rows are also compared with the requirements recomputed from
// the catalog and the model, so a forged checksum does not help either.
const (
	SheetAnswers      = "自己点検"
	SheetMeta         = "_kyojin"
	workbookVersion   = "kyojin-workbook/1"
	OrgWide           = "_organization" // workbook of the organization-wide roles
	firstRow          = 2
	maxWorkbookSize   = 16 << 20
	maxWorkbookRows   = 5000
	sheetPasswordHint = "kyojin"
)

var answerHead = []string{"ID", "区分", "要件", "要件の概要", "状態", "理由（該当なしの場合）", "証跡", "担当", "期限（YYYY-MM-DD）", "備考"}

// orgWideRoles are answered once for the whole body (the 統括 workbook).
var orgWideRoles = []string{catalog.RoleCISO, catalog.RoleChiefOfficer, catalog.RoleCommittee, catalog.RoleCSIRT, catalog.RoleAuditor, catalog.RoleVendorCompany}

// Unit is a department (or the organization-wide unit) and its requirements.
type Unit struct {
	ID, Name     string
	Requirements []*catalog.Entry
}

// Units assigns the applicable requirements to departments by role
// (authority table, guideline part 3 appendix): organization-wide roles to
// the 全庁 unit; 情報セキュリティ責任者・管理者 and 職員等 to every department;
// 情報システム管理者・担当者 to the departments that own systems (or to the
// 全庁 unit when the model assigns systems to none).
func Units(cat *catalog.Catalog, m *model.Model) []Unit {
	prof := ProfileOf(m)
	owners := map[string]bool{}
	for _, s := range m.Systems {
		if s.Department != "" {
			owners[s.Department] = true
		}
	}
	org := Unit{ID: OrgWide, Name: "全庁（統括情報セキュリティ責任者）"}
	var depts []Unit
	if m.Org != nil {
		for _, d := range m.Org.Departments {
			depts = append(depts, Unit{ID: d.ID, Name: d.Name})
		}
	}
	for _, e := range Requirements(cat) {
		if ok, _ := cat.AppliesTo(e, prof); !ok {
			continue
		}
		toOrg, toAll, toSys := false, false, false
		for _, r := range e.Roles {
			switch {
			case slices.Contains(orgWideRoles, r):
				toOrg = true
			case r == catalog.RoleSysAdmin || r == catalog.RoleSysOperator:
				toSys = true
			default:
				toAll = true
			}
		}
		if len(e.Roles) == 0 {
			toOrg = true
		}
		if toSys && len(owners) == 0 {
			toOrg = true
		}
		if toOrg {
			org.Requirements = append(org.Requirements, e)
		}
		for i := range depts {
			if toAll || (toSys && owners[depts[i].ID]) {
				depts[i].Requirements = append(depts[i].Requirements, e)
			}
		}
	}
	return append([]Unit{org}, depts...)
}

// checksum covers what the workbook must not change: unit, body and the
// locked columns of every row.
func checksum(unit, code string, rows [][4]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00", workbookVersion, unit, code)
	for _, r := range rows {
		for _, c := range r {
			io.WriteString(h, c)
			h.Write([]byte{0})
		}
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func lockedRow(e *catalog.Entry) [4]string {
	return [4]string{e.ID, catalog.ObligationName(e.Obligation, "ja"), strings.TrimSpace(e.Title.JA), strings.TrimSpace(e.Summary.JA)}
}

// WriteWorkbook writes the self-inspection workbook of one unit. prefill
// (may be nil) supplies current answers.
func WriteWorkbook(w io.Writer, cat *catalog.Catalog, m *model.Model, u Unit, year FiscalYear, prefill *Assessment) error {
	f := excelize.NewFile()
	defer f.Close()
	if err := f.SetSheetName("Sheet1", SheetAnswers); err != nil {
		return err
	}
	locked, err := f.NewStyle(&excelize.Style{Protection: &excelize.Protection{Locked: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"F3F5F8"}}, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true}})
	if err != nil {
		return err
	}
	open, err := f.NewStyle(&excelize.Style{Protection: &excelize.Protection{Locked: false}, Alignment: &excelize.Alignment{Vertical: "top", WrapText: true},
		Border: []excelize.Border{{Type: "bottom", Color: "BFBFBF", Style: 1}}})
	if err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true, Color: "FFFFFF"}, Protection: &excelize.Protection{Locked: true},
		Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"1F4E78"}}})
	if err != nil {
		return err
	}
	widths := []float64{14, 6, 30, 60, 10, 30, 30, 16, 14, 30}
	for i, h := range answerHead {
		cell, _ := excelize.CoordinatesToCellName(i+1, 1)
		_ = f.SetCellStr(SheetAnswers, cell, h)
		col, _ := excelize.ColumnNumberToName(i + 1)
		_ = f.SetColWidth(SheetAnswers, col, col, widths[i])
	}
	_ = f.SetCellStyle(SheetAnswers, "A1", "J1", head)
	var answers map[string]*Answer
	if prefill != nil {
		answers = normalizedAnswers(prefill)
	}
	code := ""
	if m.Org != nil {
		code = string(m.Org.Code)
	}
	rows := make([][4]string, 0, len(u.Requirements))
	for i, e := range u.Requirements {
		r := firstRow + i
		lr := lockedRow(e)
		rows = append(rows, lr)
		for c, v := range lr {
			cell, _ := excelize.CoordinatesToCellName(c+1, r)
			_ = f.SetCellStr(SheetAnswers, cell, v)
		}
		for _, anc := range lineage(cat, e) {
			if ans, ok := answers[anc.ID]; ok {
				vals := []string{ans.Status.Label("ja"), ans.Reason, strings.Join(ans.Evidence, "\n"), ans.Owner, "", ans.Notes}
				if ans.Due != nil {
					vals[4] = ans.Due.Format(time.DateOnly)
				}
				for c, v := range vals {
					cell, _ := excelize.CoordinatesToCellName(c+5, r)
					_ = f.SetCellStr(SheetAnswers, cell, cellText(v))
				}
				break
			}
		}
	}
	last := firstRow + len(u.Requirements) - 1
	if len(u.Requirements) > 0 {
		_ = f.SetCellStyle(SheetAnswers, "A2", fmt.Sprintf("D%d", last), locked)
		_ = f.SetCellStyle(SheetAnswers, "E2", fmt.Sprintf("J%d", last), open)
		dv := excelize.NewDataValidation(false)
		dv.Sqref = fmt.Sprintf("E2:E%d", last)
		if err := dv.SetDropList([]string{"実施", "一部実施", "未実施", "該当なし"}); err != nil {
			return err
		}
		dv.SetError(excelize.DataValidationErrorStyleStop, "状態", "実施・一部実施・未実施・該当なし から選んでください")
		if err := f.AddDataValidation(SheetAnswers, dv); err != nil {
			return err
		}
	}
	_ = f.SetPanes(SheetAnswers, &excelize.Panes{Freeze: true, XSplit: 1, YSplit: 1, TopLeftCell: "B2", ActivePane: "bottomRight"})
	if err := f.ProtectSheet(SheetAnswers, &excelize.SheetProtectionOptions{Password: sheetPasswordHint,
		SelectLockedCells: true, SelectUnlockedCells: true, FormatColumns: true, FormatRows: true}); err != nil {
		return err
	}
	if _, err := f.NewSheet(SheetMeta); err != nil {
		return err
	}
	meta := [][2]string{{"version", workbookVersion}, {"unit", u.ID}, {"unit_name", u.Name}, {"organization", code},
		{"fiscal_year", fmt.Sprint(int(year))}, {"rows", fmt.Sprint(len(rows))}, {"checksum", checksum(u.ID, code, rows)}}
	for i, kv := range meta {
		_ = f.SetCellStr(SheetMeta, fmt.Sprintf("A%d", i+1), kv[0])
		_ = f.SetCellStr(SheetMeta, fmt.Sprintf("B%d", i+1), kv[1])
	}
	if err := f.ProtectSheet(SheetMeta, &excelize.SheetProtectionOptions{Password: sheetPasswordHint}); err != nil {
		return err
	}
	if err := f.SetSheetVisible(SheetMeta, false, true); err != nil {
		return err
	}
	f.SetActiveSheet(0)
	// No password on the structure lock: it would cost 100,000 SHA-512 rounds
	// per workbook and, being published, protect nothing.
	if err := f.ProtectWorkbook(&excelize.WorkbookProtectionOptions{LockStructure: true}); err != nil {
		return err
	}
	_, err = f.WriteTo(w)
	return err
}

// WorkbookName is the file name of a unit's workbook.
func WorkbookName(u Unit, year FiscalYear) string {
	return fmt.Sprintf("自己点検_%s_%s.xlsx", year.Label("ja"), u.ID)
}

// CellError is a problem at a cell of a workbook.
type CellError struct {
	File, Cell string // Cell as sheet!A12
	Msg        string
}

func (e CellError) Error() string {
	if e.Cell == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Cell, e.Msg)
}

// CellErrors lists every problem of an import.
type CellErrors []CellError

func (es CellErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// UnitAnswers is what one workbook contributed.
type UnitAnswers struct {
	Unit    string
	Year    FiscalYear
	Answers map[string]Answer
}

// ReadWorkbook reads a filled workbook of one unit and checks it against the
// catalog and the model. It returns every problem found; the answers are nil
// when there is any.
func ReadWorkbook(name string, r io.Reader, cat *catalog.Catalog, m *model.Model) (ua *UnitAnswers, errs CellErrors) {
	defer func() {
		// A hostile workbook must not crash the importer: fail closed.
		if p := recover(); p != nil {
			ua, errs = nil, CellErrors{{File: name, Msg: "ワークブックを解釈できません（破損しているか形式が異なります）"}}
		}
	}()
	fail := func(cell, format string, args ...any) {
		errs = append(errs, CellError{File: name, Cell: cell, Msg: fmt.Sprintf(format, args...)})
	}
	f, err := excelize.OpenReader(io.LimitReader(r, maxWorkbookSize+1), excelize.Options{UnzipSizeLimit: 64 << 20, UnzipXMLSizeLimit: 32 << 20})
	if err != nil {
		fail("", "XLSX として開けません: %v", err)
		return nil, errs
	}
	defer f.Close()
	meta := map[string]string{}
	metaRows, err := f.GetRows(SheetMeta)
	if err != nil {
		fail("", "kyojin が書き出したワークブックではありません（%s シートがありません）", SheetMeta)
		return nil, errs
	}
	for _, row := range metaRows {
		if len(row) >= 2 {
			meta[row[0]] = row[1]
		}
	}
	if meta["version"] != workbookVersion {
		fail(SheetMeta+"!B1", "形式 %q は読めません（%s が必要です）", meta["version"], workbookVersion)
		return nil, errs
	}
	units := Units(cat, m)
	var unit *Unit
	for i := range units {
		if units[i].ID == meta["unit"] {
			unit = &units[i]
		}
	}
	code := ""
	if m.Org != nil {
		code = string(m.Org.Code)
	}
	if unit == nil {
		fail(SheetMeta+"!B2", "部局 %q はモデルにありません", meta["unit"])
		return nil, errs
	}
	if meta["organization"] != code {
		fail(SheetMeta+"!B4", "団体コード %q はモデルの団体（%s）と異なります", meta["organization"], code)
	}
	var year FiscalYear
	if err := year.UnmarshalText([]byte(meta["fiscal_year"])); err != nil {
		fail(SheetMeta+"!B5", "年度 %q を解釈できません", meta["fiscal_year"])
	}
	rows, err := f.GetRows(SheetAnswers, excelize.Options{RawCellValue: true})
	if err != nil {
		fail("", "%s シートがありません", SheetAnswers)
		return nil, errs
	}
	if len(rows) > maxWorkbookRows {
		fail(SheetAnswers, "行が多すぎます（%d 行）", len(rows))
		return nil, errs
	}
	cell := func(row, col int) string {
		if row < len(rows) && col < len(rows[row]) {
			v := strings.TrimSpace(rows[row][col])
			// Undo the formula-injection guard of cellText on the answer columns.
			if col >= 4 && len(v) > 1 && v[0] == '\'' && strings.ContainsRune("=+-@", rune(v[1])) {
				v = v[1:]
			}
			return v
		}
		return ""
	}
	ref := func(col, row int) string {
		c, _ := excelize.CoordinatesToCellName(col+1, row+1)
		return SheetAnswers + "!" + c
	}
	for c, h := range answerHead {
		if cell(0, c) != h {
			fail(ref(c, 0), "見出し %q が %q に変わっています", h, cell(0, c))
		}
	}
	// Rows as they are now, compared with what the unit must contain.
	var got [][4]string
	for i := 1; i < len(rows); i++ {
		var lr [4]string
		empty := true
		for c := range 4 {
			lr[c] = cell(i, c)
			empty = empty && lr[c] == ""
		}
		if empty && strings.Join(rows[i], "") == "" {
			continue
		}
		got = append(got, lr)
	}
	if checksum(meta["unit"], meta["organization"], got) != meta["checksum"] {
		fail(SheetMeta+"!B7", "保護された列（ID・要件）の内容がチェックサムと一致しません（改変されています）")
	}
	ua = &UnitAnswers{Unit: unit.ID, Year: year, Answers: map[string]Answer{}}
	for i, e := range unit.Requirements {
		row := firstRow - 1 + i
		want := lockedRow(e)
		if row-1 >= len(got) {
			fail(ref(0, row), "要件 %s の行がありません（行が削除されています）", e.ID)
			continue
		}
		for c := range 4 {
			if got[row-1][c] != want[c] {
				fail(ref(c, row), "保護されたセルが変更されています（%q のはずが %q）", want[c], got[row-1][c])
			}
		}
		if got[row-1][0] != e.ID {
			continue
		}
		stText := cell(row, 4)
		if stText == "" {
			continue // unanswered
		}
		st, ok := ParseStatus(stText)
		if !ok {
			fail(ref(4, row), "状態 %q は使えません（実施・一部実施・未実施・該当なし）", stText)
			continue
		}
		ans := Answer{Status: st, Reason: cell(row, 5), Owner: cell(row, 7), Notes: cell(row, 9)}
		if st == NotApplicable && ans.Reason == "" {
			fail(ref(5, row), "「該当なし」には理由が必要です")
		}
		for _, ev := range strings.Split(cell(row, 6), "\n") {
			if ev = strings.TrimSpace(ev); ev != "" {
				ans.Evidence = append(ans.Evidence, ev)
			}
		}
		if d := cell(row, 8); d != "" {
			t, err := parseCellDate(d)
			if err != nil {
				fail(ref(8, row), "期限 %q を解釈できません（YYYY-MM-DD）", d)
			} else {
				ans.Due = &Date{Time: t}
			}
		}
		ua.Answers[e.ID] = ans
	}
	if len(got) > len(unit.Requirements) {
		fail(ref(0, len(unit.Requirements)+1), "余分な行があります（%d 行）", len(got)-len(unit.Requirements))
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return ua, nil
}

// parseCellDate reads YYYY-MM-DD, or an Excel serial date when the user let
// the spreadsheet turn the text into a date.
func parseCellDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006/1/2", s); err == nil {
		return t, nil
	}
	var serial float64
	if _, err := fmt.Sscan(s, &serial); err == nil && serial > 20000 && serial < 80000 {
		t, err := excelize.ExcelDateToTime(serial, false)
		if err == nil {
			return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}

// Merge folds the answers of all units into base (which keeps its exceptions
// and audit records). A requirement answered by several departments gets the
// worst status; owners and notes are joined with the department name.
func Merge(base *Assessment, units []*UnitAnswers, names map[string]string) *Assessment {
	out := *base
	out.Requirements = map[string]Answer{}
	for id, a := range base.Requirements {
		out.Requirements[id] = a
	}
	slices.SortFunc(units, func(a, b *UnitAnswers) int { return strings.Compare(a.Unit, b.Unit) })
	merged := map[string]*Answer{}
	var order []string
	for _, u := range units {
		ids := make([]string, 0, len(u.Answers))
		for id := range u.Answers {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			a := u.Answers[id]
			label := names[u.Unit]
			cur, ok := merged[id]
			if !ok {
				c := a
				if u.Unit != OrgWide {
					c.Reason, c.Notes = prefixed(label, a.Reason), prefixed(label, a.Notes)
				}
				merged[id] = &c
				order = append(order, id)
				continue
			}
			if a.Status.rank() < cur.Status.rank() {
				cur.Status = a.Status
			}
			cur.Reason = joinNonEmpty(cur.Reason, prefixed(label, a.Reason))
			cur.Owner = joinNonEmpty(cur.Owner, a.Owner)
			cur.Notes = joinNonEmpty(cur.Notes, prefixed(label, a.Notes))
			for _, ev := range a.Evidence {
				cur.Evidence = appendUnique(cur.Evidence, ev)
			}
			if a.Due != nil && (cur.Due == nil || a.Due.After(cur.Due.Time)) {
				cur.Due = a.Due
			}
		}
	}
	for _, id := range order {
		out.Requirements[id] = *merged[id]
	}
	return &out
}

func prefixed(label, s string) string {
	if s == "" || label == "" {
		return s
	}
	return "［" + label + "］" + s
}

func joinNonEmpty(a, b string) string {
	switch {
	case a == "" || a == b:
		return b
	case b == "" || strings.Contains(a, b):
		return a
	}
	return a + "／" + b
}

// FiscalYearOf returns the fiscal year containing t (April to March).
func FiscalYearOf(t time.Time) FiscalYear {
	if t.Month() < time.April {
		return FiscalYear(t.Year() - 1)
	}
	return FiscalYear(t.Year())
}

// ImportWorkbooks reads every workbook and merges them into base (nil =
// a new assessment). All or nothing: when any workbook has a problem, the
// result is nil and every problem of every workbook is returned.
func ImportWorkbooks(cat *catalog.Catalog, m *model.Model, base *Assessment, files []string) (*Assessment, CellErrors) {
	var errs CellErrors
	var units []*UnitAnswers
	seen := map[string]string{}
	names := map[string]string{}
	for _, u := range Units(cat, m) {
		names[u.ID] = u.Name
	}
	for _, path := range files {
		fh, err := os.Open(path)
		if err != nil {
			errs = append(errs, CellError{File: path, Msg: "開けません: " + err.Error()})
			continue
		}
		ua, e := ReadWorkbook(path, fh, cat, m)
		fh.Close()
		errs = append(errs, e...)
		if ua == nil {
			continue
		}
		if prev, dup := seen[ua.Unit]; dup {
			errs = append(errs, CellError{File: path, Cell: SheetMeta + "!B2", Msg: fmt.Sprintf("部局 %s のワークブックが %s と重複しています", ua.Unit, prev)})
			continue
		}
		seen[ua.Unit] = path
		if base != nil && ua.Year != base.FiscalYear {
			errs = append(errs, CellError{File: path, Cell: SheetMeta + "!B5", Msg: fmt.Sprintf("年度 %s は取り込み先（%s）と異なります", ua.Year.Label("ja"), base.FiscalYear.Label("ja"))})
		}
		if len(units) > 0 && ua.Year != units[0].Year {
			errs = append(errs, CellError{File: path, Cell: SheetMeta + "!B5", Msg: fmt.Sprintf("年度 %s が他のワークブック（%s）と異なります", ua.Year.Label("ja"), units[0].Year.Label("ja"))})
		}
		units = append(units, ua)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if base == nil {
		base = &Assessment{APIVersion: "kyojin/v1", Kind: Kind, FiscalYear: units[0].Year}
		if m.Org != nil {
			base.Organization = string(m.Org.Code)
		}
	}
	return Merge(base, units, names), nil
}
