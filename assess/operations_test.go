package assess

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/check"
	"github.com/xuri/excelize/v2"
)

func opsFixture() *Operations {
	from := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	hit := time.Date(2026, 10, 3, 1, 2, 3, 0, time.UTC)
	return &Operations{APIVersion: "kyojin/v1", Kind: OperationsKind, Tenant: "kakuu", From: from, To: from.AddDate(0, 7, 21),
		Rules: []OperationRule{
			{Rule: "MODEL-MN-SEEN", Level: "critical", Title: "My Number address at the Internet connection", Clauses: []string{"3(1)①", "R5-02①"},
				Evaluated: 5_000_000, Hits: 2, FirstHit: &hit, LastHit: &hit,
				Alerts: []OperationAlert{{Time: hit, Level: "critical", Source: "squid", Host: "proxy1", Raw: "1700000000.000 5 10.10.20.7 TCP_MISS/200 500 GET http://x.example/"}}},
			{Rule: "MODEL-LG-DIRECT", Level: "high", Clauses: []string{"3(2)①", "R5-06②"}, Evaluated: 4_000_000, Blocked: 3},
			{Rule: "MODEL-MAIL-UNSANITIZED", Level: "critical", Clauses: []string{"3(2)①(ア)"}},
		}}
}

// TestOperationsEvidence: a firing MODEL-MN-SEEN turns the items it
// evidences to 未実施 (NG) with the alert as evidence, overriding the
// declared 実施; a rule silent over the period leaves 実施 and is listed as
// evidence of compliance; a rule with nothing examined is no evidence.
func TestOperationsEvidence(t *testing.T) {
	cat := mustCatalog(t)
	m, r8 := loadExample(t, "r8.yaml")
	base := Evaluate(Input{Catalog: cat, Model: m, Check: check.Run(m), Assessment: r8, Now: now})
	res := Evaluate(Input{Catalog: cat, Model: m, Check: check.Run(m), Assessment: r8, Now: now, Operations: opsFixture()})
	item := func(r *Result, id string) *Item {
		for _, it := range r.Items {
			if it.Entry.ID == id {
				return it
			}
		}
		t.Fatalf("no item %s", id)
		return nil
	}
	for _, id := range []string{"3(1)①", "R5-02①"} {
		b, it := item(base, id), item(res, id)
		if b.Status != Implemented {
			t.Fatalf("%s: fixture expects a declared 実施, got %s", id, b.Status)
		}
		if it.Status != NotImplemented || !strings.Contains(it.Override.JA, "MODEL-MN-SEEN") {
			t.Errorf("%s: status %s override %q, want 未実施 by MODEL-MN-SEEN", id, it.Status, it.Override.JA)
		}
		if len(it.Operations) != 1 || it.Operations[0].Compliant() || !strings.Contains(it.Operations[0].Text().JA, "10.10.20.7") {
			t.Errorf("%s: operations evidence %+v lacks the alert", id, it.Operations)
		}
	}
	silent := item(res, "R5-06②")
	if silent.Status != item(base, "R5-06②").Status || silent.Override.JA != "" {
		t.Errorf("R5-06②: silence changed the status to %s (%s)", silent.Status, silent.Override.JA)
	}
	if len(silent.Operations) != 1 || !silent.Operations[0].Compliant() || !strings.Contains(silent.Operations[0].Text().JA, "適合の証跡") ||
		!strings.Contains(silent.Operations[0].Text().JA, "遮断された試行 3 件") {
		t.Errorf("R5-06②: evidence %+v", silent.Operations)
	}
	// 3(2)①(ア) inherits MODEL-LG-DIRECT (on its parent 3(2)①) and has MAIL with nothing examined.
	mailItem := item(res, "3(2)①(ア)")
	var noData bool
	for _, e := range mailItem.Operations {
		if e.Rule == "MODEL-MAIL-UNSANITIZED" && !e.Compliant() && strings.Contains(e.Text().JA, "証跡になりません") {
			noData = true
		}
	}
	if !noData {
		t.Errorf("3(2)①(ア): %+v", mailItem.Operations)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "text", res, "ja"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "運用による自動確認") || !strings.Contains(buf.String(), "MODEL-MN-SEEN が 2 件検知") {
		t.Errorf("text report lacks the operations section:\n%.3000s", buf.String())
	}
	buf.Reset()
	if err := Write(&buf, "html", res, "ja"); err != nil || !strings.Contains(buf.String(), "MODEL-MN-SEEN が 2 件検知") {
		t.Errorf("HTML report lacks the operations evidence of the gaps (%v)", err)
	}
	buf.Reset()
	if err := Write(&buf, "xlsx", res, "ja"); err != nil {
		t.Fatal(err)
	}
	if !xlsxContains(t, buf.Bytes(), "MODEL-MN-SEEN が 2 件検知") {
		t.Error("XLSX report lacks the operations evidence in the evidence column")
	}
	buf.Reset()
	if err := Write(&buf, "json", res, "en"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"operations": [`) || !strings.Contains(buf.String(), "evidence of compliance") {
		t.Error("JSON report lacks the operations evidence")
	}
}

func TestParseOperationsBad(t *testing.T) {
	cat := mustCatalog(t)
	good := `{"apiVersion":"kyojin/v1","kind":"Operations","tenant":"t","from":"2026-04-01T00:00:00Z","to":"2026-05-01T00:00:00Z","rules":[%s]}`
	cases := []struct{ name, data, want string }{
		{"not json", `{`, "invalid operations JSON"},
		{"unknown field", `{"apiVersion":"kyojin/v1","kind":"Operations","extra":1}`, "unknown field"},
		{"wrong kind", `{"apiVersion":"kyojin/v1","kind":"Assessment","from":"2026-04-01T00:00:00Z","to":"2026-05-01T00:00:00Z"}`, "kind: Operations"},
		{"inverted period", `{"apiVersion":"kyojin/v1","kind":"Operations","from":"2026-05-01T00:00:00Z","to":"2026-04-01T00:00:00Z"}`, "from must be before to"},
		{"negative count", strings.Replace(good, "%s", `{"rule":"X","level":"high","hits":-1}`, 1), "negative count"},
		{"bad level", strings.Replace(good, "%s", `{"rule":"X","level":"urgent"}`, 1), "unknown severity"},
		{"unknown clause", strings.Replace(good, "%s", `{"rule":"X","level":"high","clauses":["99(9)"]}`, 1), "not in the catalog"},
	}
	for _, c := range cases {
		_, err := ParseOperations([]byte(c.data), cat)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := ParseOperations([]byte(strings.Replace(good, "%s", `{"rule":"X","level":"high","clauses":["3(1)①"],"evaluated":3}`, 1)), cat); err != nil {
		t.Errorf("good file: %v", err)
	}
}

// xlsxContains reports whether any cell of any sheet contains s.
func xlsxContains(t *testing.T, data []byte, s string) bool {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, sh := range f.GetSheetList() {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			for _, c := range r {
				if strings.Contains(c, s) {
					return true
				}
			}
		}
	}
	return false
}

// FuzzParseOperations: an operations file is read from a user's path; no
// input panics, and an accepted summary evaluates.
func FuzzParseOperations(f *testing.F) {
	cat := mustCatalog(f)
	good, _ := json.Marshal(opsFixture())
	f.Add(good)
	f.Add([]byte(`{"apiVersion":"kyojin/v1","kind":"Operations","from":"2026-04-01T00:00:00Z","to":"2026-05-01T00:00:00Z","rules":[{"rule":"X","level":"high","clauses":["3(1)①"],"hits":1}]}`))
	f.Add([]byte(`{`))
	m, a := loadExample(f, "r8.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := ParseOperations(data, cat)
		if err != nil {
			return
		}
		res := Evaluate(Input{Catalog: cat, Model: m, Assessment: a, Now: now, Operations: o})
		for _, it := range res.Items {
			for _, e := range it.Operations {
				_ = e.Text()
			}
		}
	})
}
