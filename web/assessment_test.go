package web

import (
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
)

// withKakuuAssessment loads the bundled example city and its R8
// assessment (R7 as previous year), evaluated on a fixed date.
func withKakuuAssessment(t *testing.T) func(*Options) {
	t.Helper()
	dir := filepath.Join("..", "examples")
	m, diags := model.Load(filepath.Join(dir, "kakuu-city"))
	if m == nil {
		t.Fatalf("kakuu-city: %v", diags.Err())
	}
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	prev, d := assess.LoadFile(filepath.Join(dir, "kakuu-city-assessment", "r7.yaml"))
	if prev == nil || d.HasErrors() {
		t.Fatalf("r7: %v", d.Err())
	}
	a, d := assess.LoadFile(filepath.Join(dir, "kakuu-city-assessment", "r8.yaml"))
	if a == nil || d.HasErrors() {
		t.Fatalf("r8: %v", d.Err())
	}
	res := check.Run(m)
	r := assess.Evaluate(assess.Input{Catalog: cat, Model: m, Check: res, Assessment: a, Previous: prev,
		Now: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)})
	return func(o *Options) { o.Model, o.Result, o.Assessment = m, res, r }
}

func TestAssessmentOnDashboardAndRequirements(t *testing.T) {
	opt := withKakuuAssessment(t)
	e := newEnv(t, opt)
	av := e.web.av
	if av == nil || av.V.Trend == nil || av.MandatoryGaps == 0 || av.Overdue == 0 {
		t.Fatalf("the example assessment should have a trend, mandatory gaps and overdue actions: %+v", av)
	}
	roleUsers(e) // one user per role, named after it
	for _, u := range []string{"ciso", "auditor"} {
		b := e.browser()
		b.login(u)
		code, body := b.get("/")
		if code != 200 {
			t.Fatalf("%s dashboard: %d", u, code)
		}
		for _, want := range []string{
			`<dd id="assess-overall">` + fmt.Sprintf("%.1f", av.V.Overall.Percent) + `%</dd>`,
			`<dd id="assess-trend">` + strings.ReplaceAll(av.V.Trend.Delta, "+", "&#43;") + ` pt</dd>`,
			`<dd id="assess-gaps">` + strconv.Itoa(av.MandatoryGaps) + `</dd>`,
			`<dd id="assess-overdue">` + strconv.Itoa(av.Overdue) + `</dd>`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("%s dashboard lacks %s", u, want)
			}
		}
		// Section scores on the requirements index, answers in the section
		// and in the drill-down.
		_, body = b.get("/catalog")
		if !strings.Contains(body, "<th scope=\"col\">評点</th>") || !strings.Contains(body, "期限超過の改善計画") {
			t.Errorf("%s: requirements index without scores", u)
		}
		_, body = b.get("/catalog/section?kind=guideline&id=1")
		if !strings.Contains(body, "副市長（CISO）") || !strings.Contains(body, "情報セキュリティ対策基準（令和6年改定） 1(1)") {
			t.Errorf("%s: section 1 lacks owner and evidence of 1(1)", u)
		}
		// 1(1) is answered through its sub-items.
		_, body = b.get("/catalog/entry?id=1(1)")
		if !strings.Contains(body, "下位の項目で評価されます") {
			t.Errorf("%s: entry 1(1) does not point to its sub-items", u)
		}
		gap := av.Gaps[0]
		_, body = b.get("/catalog/entry?id=" + url.QueryEscape(gap.ID))
		if !strings.Contains(body, `<dd id="item-status">`+gap.Status) {
			t.Errorf("%s: gap %s not shown as %s", u, gap.ID, gap.Status)
		}
	}
	// Every role sees the assessment exactly as the permission matrix says
	// (scoped roles and staff do not: answers are not tagged by department).
	for _, ri := range auth.Roles {
		b := e.browser()
		b.login(strings.ReplaceAll(string(ri.Role), "-", ""))
		_, body := b.get("/")
		want := auth.RoleHas(ri.Role, auth.PermAssessmentView)
		if got := strings.Contains(body, "assess-overall"); got != want {
			t.Errorf("%s: assessment on the dashboard %v, want %v", ri.Role, got, want)
		}
		if auth.RoleHas(ri.Role, auth.PermFindingsView) {
			_, body = b.get("/catalog/section?kind=guideline&id=1")
			if got := strings.Contains(body, "副市長（CISO）"); got != want {
				t.Errorf("%s: answers on the requirements page %v, want %v", ri.Role, got, want)
			}
		}
	}
}

// Without an assessment the pages render as before.
func TestNoAssessmentLoaded(t *testing.T) {
	e := newEnv(t)
	e.user("ciso", true, store.Grant{Role: "ciso"})
	b := e.browser()
	b.login("ciso")
	for _, p := range []string{"/", "/catalog", "/catalog/section?kind=guideline&id=1", "/catalog/entry?id=1(1)"} {
		code, body := b.get(p)
		if code != 200 || strings.Contains(body, "assess-overall") || strings.Contains(body, "自己点検の回答") {
			t.Errorf("%s: %d", p, code)
		}
	}
}
