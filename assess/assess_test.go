package assess

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/internal/goldenfile"
	"github.com/kyojin/kyojin/model"
	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

var now = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

func mustCatalog(t testing.TB) *catalog.Catalog {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func loadExample(t testing.TB, name string) (*model.Model, *Assessment) {
	t.Helper()
	m, d := model.Load("../examples/kakuu-city")
	if m == nil {
		t.Fatalf("model: %v", d.Err())
	}
	a, d := LoadFile(filepath.Join("../examples/kakuu-city-assessment", name))
	if a == nil {
		t.Fatalf("%s: %v", name, d.Err())
	}
	return m, a
}

func exampleResult(t testing.TB) *Result {
	t.Helper()
	cat := mustCatalog(t)
	m, r8 := loadExample(t, "r8.yaml")
	_, r7 := loadExample(t, "r7.yaml")
	if d := Validate(cat, m, r8, r7); d.HasErrors() {
		t.Fatalf("r8 does not validate: %v", d.Err())
	}
	return Evaluate(Input{Catalog: cat, Model: m, Check: check.Run(m), Assessment: r8, Previous: r7, Now: now})
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, "assess", name, got, *update)
}

func TestExampleGolden(t *testing.T) {
	r := exampleResult(t)
	for _, tc := range []struct{ format, lang, file string }{
		{"text", "ja", "example.txt"}, {"text", "en", "example.en.txt"},
		{"json", "ja", "example.json"}, {"html", "ja", "example.html"},
	} {
		var buf bytes.Buffer
		if err := Write(&buf, tc.format, r, tc.lang); err != nil {
			t.Fatal(err)
		}
		golden(t, tc.file, buf.Bytes())
		if tc.format == "html" && (bytes.Contains(buf.Bytes(), []byte("http://")) || bytes.Contains(buf.Bytes(), []byte("https://")) || bytes.Contains(buf.Bytes(), []byte("<script"))) {
			t.Error("the HTML report references external resources or scripts")
		}
	}
}

// Text from assessment files is escaped in the HTML report.
func TestHTMLEscapesInput(t *testing.T) {
	cat := mustCatalog(t)
	m := smallTown(t)
	a := &Assessment{FiscalYear: 2026, Requirements: map[string]Answer{
		"1(1)": {Status: Partial, Owner: "<script>alert(1)</script>", Notes: "<img src=x onerror=alert(1)>"}}}
	var buf bytes.Buffer
	if err := Write(&buf, "html", Evaluate(Input{Catalog: cat, Model: m, Assessment: a, Now: now}), "ja"); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("<script>alert")) || bytes.Contains(buf.Bytes(), []byte("<img src=x")) {
		t.Error("assessment text reached the HTML unescaped")
	}
	if !bytes.Contains(buf.Bytes(), []byte("&lt;script&gt;")) {
		t.Error("owner not shown escaped")
	}
}

func TestExampleSemantics(t *testing.T) {
	r := exampleResult(t)
	// The example model passes every check; a medium finding of MODEL-001
	// (as the model had before its terminals were placed per β') lowers the
	// declared 実施 of 3(2)①'s sub-clauses to 一部実施.
	cat := mustCatalog(t)
	m, r8 := loadExample(t, "r8.yaml")
	res := check.Run(m)
	res.Findings = append(res.Findings, check.Finding{Rule: "MODEL-001", Severity: check.Medium,
		Message: check.RuleByID("MODEL-001").Title})
	withFinding := Evaluate(Input{Catalog: cat, Model: m, Check: res, Assessment: r8, Now: now})
	var overridden *Item
	for _, it := range withFinding.Items {
		if it.Entry.ID == "3(2)①(ア)" {
			overridden = it
		}
	}
	if withFinding.Overall.Percent >= r.Overall.Percent {
		t.Errorf("the finding did not lower the score: %.1f vs %.1f", withFinding.Overall.Percent, r.Overall.Percent)
	}
	if overridden == nil || overridden.Declared != Implemented || overridden.Status != Partial || !strings.Contains(overridden.Override.JA, "MODEL-001") {
		t.Fatalf("3(2)①(ア) should be overridden to partial by MODEL-001, got %+v", overridden)
	}
	// Mandatory gaps come before recommended ones.
	seenRec := false
	for _, g := range r.Gaps {
		if g.Entry.Obligation == catalog.Recommended {
			seenRec = true
		} else if seenRec {
			t.Errorf("mandatory gap %s listed after a recommended one", g.Entry.ID)
		}
	}
	if !seenRec {
		t.Error("the opted-in recommendation 6.2(3) should be a gap")
	}
	// CA-R7-02 is open in last year's file and absent from this year's: carried over and overdue.
	var carried, overdue int
	for _, a := range r.Actions {
		if a.CarriedOver {
			carried++
			if a.ID != "CA-R7-02" || !a.Overdue || a.DaysOverdue != 145 {
				t.Errorf("carried-over action: %+v", a)
			}
		}
		if a.Overdue {
			overdue++
		}
	}
	if carried != 1 || overdue != 2 {
		t.Errorf("carried %d, overdue %d; want 1 and 2", carried, overdue)
	}
	if r.Trend == nil || len(r.Trend.Improved) == 0 || r.Overall.Previous == nil {
		t.Fatal("trend against 令和7年度 missing")
	}
	if got := r.Year.Label("ja"); got != "令和8年度" {
		t.Errorf("year label %q", got)
	}
}

// An α town without cloud use is not asked β/β' or cloud clauses, and every
// exclusion carries a reason.
func TestApplicabilityFromModel(t *testing.T) {
	cat := mustCatalog(t)
	m, d := model.Load("../examples/small-town")
	if m == nil {
		t.Fatal(d.Err())
	}
	a := &Assessment{FiscalYear: 2026}
	r := Evaluate(Input{Catalog: cat, Model: m, Assessment: a, Now: now})
	excluded := map[string]bool{}
	for _, x := range r.Excluded {
		excluded[x.Entry.ID] = true
		if len(x.Reasons) == 0 {
			t.Errorf("%s excluded without a reason", x.Entry.ID)
		}
	}
	if m.Org.NetworkModel == model.Alpha && !excluded["3(2)@R2.12"] {
		t.Error("an α body must not be asked the β/β' clause 3(2)@R2.12")
	}
	for _, it := range r.Items {
		if it.Entry.ID == "3(2)@R2.12" {
			t.Error("3(2)@R2.12 assessed for an α body")
		}
	}
	if r.Overall.Unanswered != r.Overall.Scored || r.Overall.Percent != 0 {
		t.Errorf("an empty assessment must score 0 with everything unanswered: %+v", r.Overall)
	}
}

func TestStatusOverrideTable(t *testing.T) {
	f := func(sev check.Severity) check.Finding {
		return check.Finding{Rule: "X-1", Severity: sev}
	}
	for _, tc := range []struct {
		declared Status
		sev      check.Severity
		want     Status
	}{
		{Implemented, check.Critical, NotImplemented},
		{Implemented, check.High, NotImplemented},
		{Implemented, check.Medium, Partial},
		{Implemented, check.Low, Partial},
		{Implemented, check.Info, Implemented},
		{Partial, check.Medium, Partial},
		{Partial, check.High, NotImplemented},
		{NotImplemented, check.Low, NotImplemented},
		{NotApplicable, check.Low, NotImplemented},
		{Unanswered, check.Medium, NotImplemented},
	} {
		it := &Item{Declared: tc.declared, Status: tc.declared, Findings: []check.Finding{f(tc.sev)}}
		applyFindings(it)
		if it.Status != tc.want {
			t.Errorf("%q + %v: got %q, want %q", tc.declared, tc.sev, it.Status, tc.want)
		}
		if (it.Status != tc.declared) != (it.Override.JA != "") {
			t.Errorf("%q + %v: override text %q", tc.declared, tc.sev, it.Override.JA)
		}
	}
}

func TestFiscalYearForms(t *testing.T) {
	for in, want := range map[string]int{"2026": 2026, "令和8年度": 2026, "R8": 2026, "令和元年度": 2019, "令和7": 2025} {
		var y FiscalYear
		if err := y.UnmarshalText([]byte(in)); err != nil || int(y) != want {
			t.Errorf("%q: %v %v", in, int(y), err)
		}
	}
	for _, in := range []string{"平成30年度", "1999", "R0", "abc"} {
		var y FiscalYear
		if err := y.UnmarshalText([]byte(in)); err == nil {
			t.Errorf("%q accepted as %d", in, int(y))
		}
	}
}

// testdata/*.bad.yaml must fail with the diagnostics in the matching .bad.txt.
func TestBadAssessments(t *testing.T) {
	cat := mustCatalog(t)
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			a, d := LoadFile(f)
			if a != nil {
				d.Append(Validate(cat, nil, a, nil))
			}
			var buf bytes.Buffer
			d.Write(&buf, "ja")
			if !d.HasErrors() {
				t.Fatalf("accepted:\n%s", buf.String())
			}
			golden(t, strings.TrimSuffix(filepath.Base(f), ".yaml")+".txt", buf.Bytes())
		})
	}
}

func TestXLSXReport(t *testing.T) {
	r := exampleResult(t)
	var buf bytes.Buffer
	if err := Write(&buf, "xlsx", r, "ja"); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("未達の要件")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Gaps)+1 || rows[1][0] != r.Gaps[0].Entry.ID {
		t.Errorf("gap sheet has %d rows (want %d), first %v", len(rows), len(r.Gaps)+1, rows[1])
	}
	acts, _ := f.GetRows("改善計画")
	if len(acts) != len(r.Actions)+1 || acts[1][0] != "CA-R7-02" {
		t.Errorf("actions sheet: %v", acts)
	}
	if v, _ := f.GetCellValue("概要", "B3"); v != "令和8年度" {
		t.Errorf("summary year %q", v)
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("../examples/kakuu-city-assessment/r7.yaml")
	f.Add(seed)
	f.Add([]byte("apiVersion: kyojin/v1\nkind: Assessment\nfiscal_year: 令和8年度\nrequirements: {\"1(1)\": {status: 該当なし}}\n"))
	f.Add([]byte("a: &x [*x]"))
	cat := mustCatalog(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		a, d := Parse("fuzz.yaml", data)
		if a == nil {
			if !d.HasErrors() {
				t.Fatal("nil assessment without an error")
			}
			return
		}
		Validate(cat, nil, a, nil)
		r := Evaluate(Input{Catalog: cat, Assessment: a, Now: now})
		_ = Write(&bytes.Buffer{}, "text", r, "ja")
	})
}
