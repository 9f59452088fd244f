package incident

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/policy"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/wareki"
)

// When renders t in Japan time with a 和暦 date, e.g. 令和8年11月22日 09:05.
func When(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(jst)
	return wareki.Format(t) + " " + t.Format("15:04")
}

func escalationText(e Escalation, needed bool) string {
	switch {
	case e.Done():
		return When(e.At) + " " + e.By + " " + e.Comment
	case needed:
		return "未報告（影響度により必要）"
	}
	return "不要"
}

// ReportInput is what a report needs besides the incident.
type ReportInput struct {
	Org      string // body name shown under the title
	Incident *Incident
	Events   []store.IncidentEvent
	Evidence []store.IncidentEvidence
	Catalog  *catalog.Catalog
	Date     time.Time
}

// Report builds the incident report (報告書) for the CISO and the
// prefecture (clauses 5.3(3)②④ and 1(9)⑤). Rendered with the policy
// document renderer: DOCX directly, PDF through LibreOffice.
func Report(in ReportInput) *policy.Document {
	inc := in.Incident
	d := &policy.Document{Name: "incident-" + inc.Ref, Title: "情報セキュリティインシデント報告書", Org: in.Org, Date: in.Date.In(jst),
		DateNote: "作成", NoRevisions: true}
	add := func(b policy.Block) { d.Blocks = append(d.Blocks, b) }
	h1 := func(s string) { add(policy.Block{Kind: policy.Heading1, Text: s}) }
	p := func(s string) { add(policy.Block{Kind: policy.Para, Text: s}) }
	tbl := func(rows [][]string) { add(policy.Block{Kind: policy.Table, Rows: rows}) }

	h1("1 概要")
	tbl([][]string{
		{"項目", "内容"},
		{"整理番号", inc.Ref},
		{"件名", inc.Title},
		{"報告団体", cmp.Or(in.Org, inc.Tenant)},
		{"種別", inc.Type.Label().JA},
		{"報告の経路", inc.Source.Label().JA},
		{"影響度", inc.Impact.Label().JA},
		{"状態", inc.State.Label().JA},
		{"担当", cmp.Or(inc.Assignee, "—")},
		{"報告日時", When(inc.CreatedAt)},
		{"封じ込め完了", When(inc.ContainedAt)},
		{"完了日時", When(inc.ClosedAt)},
		{"都道府県への報告", escalationText(inc.Prefecture, inc.Impact.NeedsPrefecture())},
		{"総務省への報告", escalationText(inc.MIC, inc.Impact.NeedsMIC())},
	})
	if inc.Description != "" {
		p("事象の内容: " + inc.Description)
	}
	h1("2 対応の経緯")
	rows := [][]string{{"日時", "操作者", "内容"}}
	for _, e := range in.Events {
		what := e.Kind
		if e.To != "" {
			what = State(e.To).Label().JA
		}
		if e.Comment != "" {
			what += "：" + e.Comment
		}
		rows = append(rows, []string{When(e.At), e.Actor, what})
	}
	tbl(rows)
	if len(inc.Checklist) > 0 {
		h1("3 初動対応手順の実施状況")
		rows = [][]string{{"状況", "手順", "実施者・日時"}}
		for _, c := range inc.Checklist {
			st, who := "未実施", ""
			if c.Done {
				st, who = "実施済み", c.By+" "+When(c.At)
			}
			rows = append(rows, []string{st, c.JA, who})
		}
		tbl(rows)
	}
	h1("4 影響を受けた対象と関連する条項")
	if len(inc.Links) == 0 {
		p("モデル上の対象は登録されていません。")
	} else {
		rows = [][]string{{"種類", "ID", "名称"}}
		for _, l := range inc.Links {
			rows = append(rows, []string{linkKindJA[l.Kind], l.ID, l.Name})
		}
		tbl(rows)
	}
	if len(inc.Clauses) > 0 {
		rows = [][]string{{"条項", "要求事項"}}
		for _, c := range inc.Clauses {
			title := ""
			if in.Catalog != nil {
				if e, ok := in.Catalog.Lookup(c); ok {
					title = e.Title.In("ja")
				}
			}
			rows = append(rows, []string{c, title})
		}
		tbl(rows)
	}
	h1("5 証拠")
	if len(in.Evidence) == 0 {
		p("証拠は登録されていません。")
	} else {
		rows = [][]string{{"ファイル名", "サイズ（バイト）", "SHA-256", "登録者・日時"}}
		for _, e := range in.Evidence {
			rows = append(rows, []string{e.Name, fmt.Sprint(e.Size), e.SHA256, e.UploadedBy + " " + When(e.UploadedAt)})
		}
		tbl(rows)
	}
	if len(inc.Indicators) > 0 {
		h1("6 侵害の指標")
		rows = [][]string{{"種類", "値"}}
		for _, x := range inc.Indicators {
			rows = append(rows, []string{x.Kind, x.Value})
		}
		tbl(rows)
		if inc.Published.Done() {
			p("構成団体への共有: " + When(inc.Published.At) + " " + inc.Published.By)
		}
	}
	h1("7 原因と再発防止策")
	p("原因: " + cmp.Or(inc.Review.Cause, "（未記入）"))
	if inc.Review.Lessons != "" {
		p("教訓: " + inc.Review.Lessons)
	}
	if len(inc.Review.Actions) > 0 {
		rows = [][]string{{"番号", "改善策", "担当", "期限"}}
		for _, a := range inc.Review.Actions {
			rows = append(rows, []string{a.ID, a.Action, a.Owner, wareki.Format(a.Due)})
		}
		tbl(rows)
	}
	return d
}

var linkKindJA = map[string]string{"host": "ホスト", "system": "業務システム", "zone": "ゾーン", "asset": "情報資産"}

// WriteDOCX writes the report as DOCX.
func WriteDOCX(w io.Writer, d *policy.Document) error { return policy.WriteDOCX(w, d) }

// WritePDF writes the report as PDF (LibreOffice, like the policy documents).
func WritePDF(ctx context.Context, w io.Writer, d *policy.Document) error {
	return policy.WritePDF(ctx, w, d, 2*time.Minute)
}

// Count is one bar of a statistics chart.
type Count struct {
	Key   string
	Label Label
	N     int
}

// Stats are one tenant's figures for one month.
type Stats struct {
	Tenant        string
	Month         time.Time // first day, Japan time
	Alerts        int
	AlertsKnown   bool
	Incidents     int
	Open          int
	ByType        []Count
	ByImpact      []Count
	Contained     int
	MeanContain   time.Duration
	MedianContain time.Duration
	MaxContain    time.Duration
}

// Monthly computes the statistics of tenant for the month of year/month
// (Japan time): alerts (when an AlertSource is set), incidents by type and
// impact, and time to contain.
func (s *Service) Monthly(ctx context.Context, tenant string, year int, month time.Month) (*Stats, error) {
	start := time.Date(year, month, 1, 0, 0, 0, 0, jst)
	end := start.AddDate(0, 1, 0)
	incs, err := s.List(ctx, store.IncidentFilter{Tenants: []string{tenant}, Since: start, Until: end})
	if err != nil {
		return nil, err
	}
	st := &Stats{Tenant: tenant, Month: start, Incidents: len(incs)}
	if s.o.Alerts != nil {
		n, err := s.o.Alerts.CountAlerts(ctx, tenant, start, end)
		if err != nil {
			return nil, fmt.Errorf("count alerts: %w", err)
		}
		st.Alerts, st.AlertsKnown = n, true
	}
	byType := map[Type]int{}
	byImpact := map[Impact]int{}
	var contain []time.Duration
	for _, inc := range incs {
		byType[inc.Type]++
		byImpact[inc.Impact]++
		if inc.State != StateClosed {
			st.Open++
		}
		if d := inc.TimeToContain(); d > 0 {
			contain = append(contain, d)
		}
	}
	for _, t := range Types {
		st.ByType = append(st.ByType, Count{string(t), t.Label(), byType[t]})
	}
	for _, i := range append([]Impact{ImpactNone}, Impacts...) {
		st.ByImpact = append(st.ByImpact, Count{fmt.Sprint(int(i)), i.Label(), byImpact[i]})
	}
	if len(contain) > 0 {
		slices.Sort(contain)
		var sum time.Duration
		for _, d := range contain {
			sum += d
		}
		st.Contained = len(contain)
		st.MeanContain = sum / time.Duration(len(contain))
		st.MedianContain = contain[len(contain)/2]
		if len(contain)%2 == 0 {
			st.MedianContain = (contain[len(contain)/2-1] + contain[len(contain)/2]) / 2
		}
		st.MaxContain = contain[len(contain)-1]
	}
	return st, nil
}

// Hours renders a duration in hours with one decimal.
func Hours(d time.Duration) string { return fmt.Sprintf("%.1f", d.Hours()) }

// BarChart draws counts as a horizontal bar chart in SVG (no script, no
// external resources: the console's CSP allows it inline).
func BarChart(title string, counts []Count, lang string) template.HTML {
	const rowH, labelW, barW, pad = 22, 260, 300, 8
	maxN := 1
	for _, c := range counts {
		maxN = max(maxN, c.N)
	}
	hgt := pad*2 + rowH*(len(counts)+1)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" width="%d" height="%d" viewBox="0 0 %d %d"><title>%s</title>`,
		labelW+barW+60, hgt, labelW+barW+60, hgt, template.HTMLEscapeString(title))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold" font-size="13">%s</text>`, pad, pad+14, template.HTMLEscapeString(title))
	for i, c := range counts {
		y := pad + rowH*(i+1)
		w := c.N * barW / maxN
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12">%s</text>`, pad, y+15, template.HTMLEscapeString(c.Label.In(lang)))
		fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%d" height="%d" fill="#3a6ea5"><title>%d</title></rect>`, labelW, y+3, w, rowH-6, c.N)
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="12">%d</text>`, labelW+w+6, y+15, c.N)
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

// MonthlyReport is the statistics as a document (DOCX/PDF, tables).
func MonthlyReport(org string, st *Stats, now time.Time) *policy.Document {
	d := &policy.Document{Name: "incident-stats-" + st.Month.Format("2006-01"), Title: "情報セキュリティインシデント月次統計（" + monthLabel(st.Month) + "）",
		Org: org, Date: now.In(jst), DateNote: "作成", NoRevisions: true}
	alerts := "—（アラートの参照先なし）"
	if st.AlertsKnown {
		alerts = fmt.Sprint(st.Alerts)
	}
	rows := [][]string{{"項目", "件数・時間"}, {"アラート", alerts}, {"インシデント", fmt.Sprint(st.Incidents)}, {"うち未完了", fmt.Sprint(st.Open)},
		{"封じ込めまでの時間（平均・時間）", Hours(st.MeanContain)}, {"同（中央値）", Hours(st.MedianContain)}, {"同（最大）", Hours(st.MaxContain)}}
	d.Blocks = append(d.Blocks, policy.Block{Kind: policy.Heading1, Text: "1 概要"}, policy.Block{Kind: policy.Table, Rows: rows})
	for _, part := range []struct {
		title string
		c     []Count
	}{{"2 種別ごとの件数", st.ByType}, {"3 影響度ごとの件数", st.ByImpact}} {
		rows := [][]string{{"区分", "件数"}}
		for _, c := range part.c {
			rows = append(rows, []string{c.Label.JA, fmt.Sprint(c.N)})
		}
		d.Blocks = append(d.Blocks, policy.Block{Kind: policy.Heading1, Text: part.title}, policy.Block{Kind: policy.Table, Rows: rows},
			policy.Block{Kind: policy.Chart, Text: part.title[2:] + "（グラフ）", Rows: rows})
	}
	return d
}

func monthLabel(m time.Time) string {
	w, err := wareki.Of(m)
	if err != nil {
		return m.Format("2006-01")
	}
	return fmt.Sprintf("%s%d月", w.YearString(), int(w.Month))
}
