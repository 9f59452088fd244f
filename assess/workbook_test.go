package assess

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/kyojin/kyojin/model"
)

func smallTown(t testing.TB) *model.Model {
	t.Helper()
	m, d := model.Load("../examples/small-town")
	if m == nil {
		t.Fatal(d.Err())
	}
	return m
}

// exportAll writes every unit's workbook into dir, each row answered by fill.
func exportAll(t *testing.T, dir string, m *model.Model, fill func(f *excelize.File, row int, id string)) map[string]string {
	t.Helper()
	cat := mustCatalog(t)
	paths := map[string]string{}
	for _, u := range Units(cat, m) {
		var buf bytes.Buffer
		if err := WriteWorkbook(&buf, cat, m, u, 2026, nil); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range u.Requirements {
			fill(f, firstRow+i, e.ID)
		}
		path := filepath.Join(dir, WorkbookName(u, 2026))
		if err := f.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		f.Close()
		paths[u.ID] = path
	}
	return paths
}

func answerAll(f *excelize.File, row int, id string) {
	st := "実施"
	if strings.HasPrefix(id, "6.1(6)") {
		st = "一部実施"
	}
	_ = f.SetCellStr(SheetAnswers, cellName(5, row), st)
	_ = f.SetCellStr(SheetAnswers, cellName(8, row), "情報係")
	_ = f.SetCellStr(SheetAnswers, cellName(9, row), "2027-03-31")
}

func cellName(col, row int) string {
	c, _ := excelize.CoordinatesToCellName(col, row)
	return c
}

func TestWorkbookStructure(t *testing.T) {
	cat := mustCatalog(t)
	m := smallTown(t)
	units := Units(cat, m)
	if units[0].ID != OrgWide || len(units) != len(m.Org.Departments)+1 {
		t.Fatalf("units: %d", len(units))
	}
	prof := ProfileOf(m)
	for _, u := range units {
		for _, e := range u.Requirements {
			if ok, _ := cat.AppliesTo(e, prof); !ok {
				t.Errorf("%s: %s does not apply to the body", u.ID, e.ID)
			}
		}
	}
	var buf bytes.Buffer
	if err := WriteWorkbook(&buf, cat, m, units[1], 2026, nil); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if vis, _ := f.GetSheetVisible(SheetMeta); vis {
		t.Error("meta sheet visible")
	}
	dvs, err := f.GetDataValidations(SheetAnswers)
	if err != nil || len(dvs) != 1 || !strings.Contains(dvs[0].Formula1, "該当なし") {
		t.Errorf("status dropdown missing: %v %+v", err, dvs)
	}
	for col, wantLocked := range map[int]bool{1: true, 3: true, 5: false, 10: false} {
		sid, _ := f.GetCellStyle(SheetAnswers, cellName(col, 2))
		st, _ := f.GetStyle(sid)
		if st.Protection == nil || st.Protection.Locked != wantLocked {
			t.Errorf("column %d locked=%v, want %v", col, st.Protection, wantLocked)
		}
	}
	if err := f.UnprotectSheet(SheetAnswers, "wrong"); err == nil {
		t.Error("sheet not protected (or any password accepted)")
	}
}

func TestWorkbookRoundTrip(t *testing.T) {
	cat := mustCatalog(t)
	m := smallTown(t)
	dir := t.TempDir()
	exportAll(t, dir, m, answerAll)
	files, _ := filepath.Glob(filepath.Join(dir, "*.xlsx"))
	a, errs := ImportWorkbooks(cat, m, nil, files)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if a.FiscalYear != 2026 || a.Organization != string(m.Org.Code) {
		t.Errorf("header: %d %s", a.FiscalYear, a.Organization)
	}
	// Encode → Parse → Validate must accept what the import produced.
	data := Encode(cat, a)
	back, d := Parse("imported.yaml", data)
	if back == nil {
		t.Fatalf("%v\n%s", d.Err(), data)
	}
	if d := Validate(cat, m, back, nil); d.HasErrors() {
		t.Fatal(d.Err())
	}
	r := Evaluate(Input{Catalog: cat, Model: m, Assessment: back, Now: now})
	if r.Overall.Unanswered != 0 || r.Overall.Implemented == 0 {
		t.Errorf("after import: %+v", r.Overall)
	}
	if ans := back.Requirements["6.1(6)①"]; ans.Status != Partial || ans.Due == nil || ans.Due.Format("2006-01-02") != "2027-03-31" {
		t.Errorf("6.1(6)①: %+v", ans)
	}
}

// Every tampering is reported at its cell, and nothing is imported.
func TestWorkbookTampering(t *testing.T) {
	cat := mustCatalog(t)
	m := smallTown(t)
	units := Units(cat, m)
	dept := units[1]
	pristine := t.TempDir()
	exportAll(t, pristine, m, answerAll)
	names, _ := filepath.Glob(filepath.Join(pristine, "*.xlsx"))
	for _, tc := range []struct {
		name string
		edit func(f *excelize.File)
		want string
	}{
		{"changed ID", func(f *excelize.File) { _ = f.SetCellStr(SheetAnswers, "A3", "1(1)①") }, "自己点検!A3: 保護されたセルが変更されています"},
		{"edited requirement", func(f *excelize.File) { _ = f.SetCellStr(SheetAnswers, "C5", "なし") }, "自己点検!C5: 保護されたセルが変更されています"},
		{"checksum", func(f *excelize.File) { _ = f.SetCellStr(SheetAnswers, "D4", "x") }, "_kyojin!B7: 保護された列"},
		{"invalid status", func(f *excelize.File) { _ = f.SetCellStr(SheetAnswers, "E12", "たぶん") }, "自己点検!E12: 状態 \"たぶん\" は使えません"},
		{"missing reason", func(f *excelize.File) {
			_ = f.SetCellStr(SheetAnswers, "E7", "該当なし")
			_ = f.SetCellStr(SheetAnswers, "F7", "")
		}, "自己点検!F7: 「該当なし」には理由が必要です"},
		{"wrong department", func(f *excelize.File) { _ = f.SetCellStr(SheetMeta, "B2", "no-such-dept") }, "_kyojin!B2: 部局 \"no-such-dept\" はモデルにありません"},
		{"other department's rows", func(f *excelize.File) { _ = f.SetCellStr(SheetMeta, "B2", OrgWide) }, "保護されたセルが変更されています"},
		{"wrong body", func(f *excelize.File) { _ = f.SetCellStr(SheetMeta, "B4", "131016") }, "_kyojin!B4: 団体コード"},
		{"bad due date", func(f *excelize.File) { _ = f.SetCellStr(SheetAnswers, "I9", "来年") }, "自己点検!I9: 期限 \"来年\""},
		{"deleted row", func(f *excelize.File) { _ = f.RemoveRow(SheetAnswers, firstRow+len(dept.Requirements)-1) }, "行がありません"},
		{"extra row", func(f *excelize.File) {
			_ = f.SetCellStr(SheetAnswers, cellName(1, firstRow+len(dept.Requirements)), "9.9(9)")
		}, "余分な行があります"},
		{"version", func(f *excelize.File) { _ = f.SetCellStr(SheetMeta, "B1", "other/9") }, "_kyojin!B1: 形式"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, n := range names {
				b, err := os.ReadFile(n)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			target := filepath.Join(dir, WorkbookName(dept, 2026))
			f, err := excelize.OpenFile(target)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(f)
			if err := f.Save(); err != nil {
				t.Fatal(err)
			}
			f.Close()
			files, _ := filepath.Glob(filepath.Join(dir, "*.xlsx"))
			a, errs := ImportWorkbooks(cat, m, nil, files)
			if a != nil {
				t.Fatal("partial import: an assessment was returned despite errors")
			}
			if !strings.Contains(errs.Error(), tc.want) {
				t.Errorf("errors do not mention %q:\n%v", tc.want, errs)
			}
			if !strings.Contains(errs.Error(), filepath.Base(target)) {
				t.Errorf("errors do not name the file: %v", errs)
			}
		})
	}
}

func TestWorkbookNotXLSX(t *testing.T) {
	cat := mustCatalog(t)
	m := smallTown(t)
	dir := t.TempDir()
	exportAll(t, dir, m, answerAll)
	bad := filepath.Join(dir, "zz.xlsx")
	if err := os.WriteFile(bad, []byte("PK\x03\x04 not really a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.xlsx"))
	a, errs := ImportWorkbooks(cat, m, nil, files)
	if a != nil || len(errs) != 1 || !strings.Contains(errs[0].Error(), "zz.xlsx") {
		t.Fatalf("want one error for zz.xlsx, got %v", errs)
	}
}

func FuzzReadWorkbook(f *testing.F) {
	cat := mustCatalog(f)
	m := smallTown(f)
	u := Units(cat, m)[1]
	var buf bytes.Buffer
	if err := WriteWorkbook(&buf, cat, m, u, 2026, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ua, errs := ReadWorkbook("fuzz.xlsx", bytes.NewReader(data), cat, m)
		if ua == nil && len(errs) == 0 {
			t.Fatal("no answers and no error")
		}
	})
}

// An answer written for a clause prefills its sub-clauses in the workbook.
func TestWorkbookPrefill(t *testing.T) {
	cat := mustCatalog(t)
	m := smallTown(t)
	org := Units(cat, m)[0]
	prefill := &Assessment{FiscalYear: 2026, Requirements: map[string]Answer{"1(1)": {Status: NotApplicable, Reason: "=HYPERLINK(\"x\")", Owner: "総務課"}}}
	var buf bytes.Buffer
	if err := WriteWorkbook(&buf, cat, m, org, 2026, prefill); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	found := false
	for i, e := range org.Requirements {
		if e.ID != "1(1)①" {
			continue
		}
		found = true
		st, _ := f.GetCellValue(SheetAnswers, cellName(5, firstRow+i))
		reason, _ := f.GetCellValue(SheetAnswers, cellName(6, firstRow+i))
		formula, _ := f.GetCellFormula(SheetAnswers, cellName(6, firstRow+i))
		if st != "該当なし" || formula != "" || !strings.HasPrefix(reason, "'=") {
			t.Errorf("prefill of 1(1)①: status %q reason %q formula %q", st, reason, formula)
		}
	}
	if !found {
		t.Fatal("1(1)① not in the organization workbook")
	}
}
