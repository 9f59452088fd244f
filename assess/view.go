package assess

import (
	"fmt"
	"math"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/wareki"
)

// View is the language-resolved, serializable form of a Result that every
// output format renders (JSON writes it as is).
type View struct {
	Lang          string        `json:"lang"`
	Organization  string        `json:"organization"`
	Code          string        `json:"code"`
	NetworkModel  string        `json:"network_model"`
	FiscalYear    int           `json:"fiscal_year"`
	YearLabel     string        `json:"fiscal_year_label"`
	Date          string        `json:"date"`
	DateLabel     string        `json:"date_label"`
	Overall       ScoreView     `json:"overall"`
	Sections      []ScoreView   `json:"sections"`
	Gaps          []ItemView    `json:"gaps"`
	Overrides     []ItemView    `json:"overridden"`
	Actions       []ActionRow   `json:"corrective_actions"`
	Exceptions    []ExcRow      `json:"exceptions"`
	AuditFindings []AuditRow    `json:"audit_findings"`
	Trend         *TrendView    `json:"trend,omitempty"`
	Items         []ItemView    `json:"items"`
	Excluded      []ExcludedRow `json:"excluded"`
	CheckFindings int           `json:"check_findings"`
}

// ScoreView is a score line.
type ScoreView struct {
	Catalog     string   `json:"catalog,omitempty"`
	Section     string   `json:"section,omitempty"`
	Title       string   `json:"title"`
	Scored      int      `json:"scored"`
	Implemented int      `json:"implemented"`
	Partial     int      `json:"partial"`
	NotImpl     int      `json:"not_implemented"`
	Unanswered  int      `json:"unanswered"`
	NA          int      `json:"not_applicable"`
	Percent     float64  `json:"percent"`
	Previous    *float64 `json:"previous,omitempty"`
	Delta       string   `json:"delta,omitempty"`
}

// ItemView is a requirement line.
type ItemView struct {
	ID         string   `json:"id"`
	Title      string   `json:"title"`
	Obligation string   `json:"obligation"`
	Declared   string   `json:"declared"`
	Status     string   `json:"status"`
	StatusKey  Status   `json:"status_key"`
	Override   string   `json:"override,omitempty"`
	Rules      []string `json:"rules,omitempty"`
	Owner      string   `json:"owner,omitempty"`
	Due        string   `json:"due,omitempty"`
	Evidence   []string `json:"evidence,omitempty"`
	Reason     string   `json:"reason,omitempty"`
	Notes      string   `json:"notes,omitempty"`
	Exceptions []string `json:"exceptions,omitempty"`
	Audit      []string `json:"audit_findings,omitempty"`
	// Operations: evidence from the security cloud's model rules.
	Operations []string `json:"operations,omitempty"`
	Scored     bool     `json:"scored"`
}

// ActionRow is a corrective action line.
type ActionRow struct {
	ID           string   `json:"id"`
	Year         string   `json:"fiscal_year"`
	Finding      string   `json:"finding,omitempty"`
	Requirements []string `json:"requirements,omitempty"`
	Action       string   `json:"action"`
	Owner        string   `json:"owner"`
	Due          string   `json:"due"`
	Status       string   `json:"status"`
	CarriedOver  bool     `json:"carried_over"`
	Overdue      bool     `json:"overdue"`
	DaysOverdue  int      `json:"days_overdue,omitempty"`
}

// ExcRow is an exception line.
type ExcRow struct {
	ID           string   `json:"id"`
	Requirements []string `json:"requirements"`
	Reason       string   `json:"reason"`
	ApprovedBy   string   `json:"approved_by,omitempty"`
	Expires      string   `json:"expires"`
	Expired      bool     `json:"expired"`
	DaysLeft     int      `json:"days_left"`
	Measures     string   `json:"measures,omitempty"`
}

// AuditRow is an audit finding line.
type AuditRow struct {
	ID           string   `json:"id"`
	Date         string   `json:"date,omitempty"`
	Auditor      string   `json:"auditor,omitempty"`
	Severity     string   `json:"severity"`
	Requirements []string `json:"requirements"`
	Title        string   `json:"title"`
	Detail       string   `json:"detail,omitempty"`
}

// TrendView compares with last year.
type TrendView struct {
	Year      string       `json:"previous_fiscal_year"`
	Overall   float64      `json:"previous_overall"`
	Delta     string       `json:"delta"`
	Improved  []ChangeView `json:"improved"`
	Regressed []ChangeView `json:"regressed"`
}

// ChangeView is a status change.
type ChangeView struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// ExcludedRow is a requirement that does not apply.
type ExcludedRow struct {
	ID      string   `json:"id"`
	Title   string   `json:"title"`
	Reasons []string `json:"reasons"`
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

func delta(cur float64, prev *float64) string {
	if prev == nil {
		return ""
	}
	return fmt.Sprintf("%+.1f", round1(cur)-round1(*prev))
}

// dateLabel is the 和暦 form in Japanese and ISO in English.
func dateLabel(t time.Time, lang string) string {
	if t.IsZero() {
		return ""
	}
	if lang == "en" {
		return t.Format(time.DateOnly)
	}
	return wareki.Format(t)
}

func optDate(d *Date, lang string) string {
	if d == nil || d.IsZero() {
		return ""
	}
	return dateLabel(d.Time, lang)
}

// ViewOf resolves r in lang.
func ViewOf(r *Result, lang string) *View {
	v := &View{Lang: lang, Organization: r.Organization, Code: r.Code, NetworkModel: r.NetworkModel,
		FiscalYear: int(r.Year), YearLabel: r.Year.Label(lang), Date: r.Now.Format(time.DateOnly), DateLabel: dateLabel(r.Now, lang),
		CheckFindings: r.CheckFindings}
	overall := catalog.Text{JA: "全体", EN: "Overall"}
	v.Overall = scoreView(&r.Overall, overall, lang)
	for _, s := range r.Sections {
		t := s.Title
		if t.JA == "" {
			t = catalog.Text{JA: s.Section, EN: s.Section}
		}
		sv := scoreView(s, t, lang)
		sv.Catalog = catalog.KindName(s.Catalog, lang)
		sv.Section = s.Section
		v.Sections = append(v.Sections, sv)
	}
	for _, it := range r.Gaps {
		v.Gaps = append(v.Gaps, itemView(it, lang))
	}
	for _, it := range r.Items {
		iv := itemView(it, lang)
		v.Items = append(v.Items, iv)
		if iv.Override != "" {
			v.Overrides = append(v.Overrides, iv)
		}
	}
	for _, a := range r.Actions {
		v.Actions = append(v.Actions, ActionRow{ID: a.ID, Year: a.Year.Label(lang), Finding: a.Finding, Requirements: a.Requirements,
			Action: a.Action, Owner: a.Owner, Due: dateLabel(a.Due.Time, lang), Status: a.Status.Label(lang),
			CarriedOver: a.CarriedOver, Overdue: a.Overdue, DaysOverdue: a.DaysOverdue})
	}
	for _, x := range r.Exceptions {
		v.Exceptions = append(v.Exceptions, ExcRow{ID: x.ID, Requirements: x.Requirements, Reason: x.Reason, ApprovedBy: x.ApprovedBy,
			Expires: dateLabel(x.Expires.Time, lang), Expired: x.Expired, DaysLeft: x.DaysLeft, Measures: x.Measures})
	}
	for _, f := range r.AuditFindings {
		v.AuditFindings = append(v.AuditFindings, AuditRow{ID: f.ID, Date: optDate(f.Date, lang), Auditor: f.Auditor,
			Severity: f.Severity.Label(lang), Requirements: f.Requirements, Title: f.Title, Detail: f.Detail})
	}
	if t := r.Trend; t != nil {
		tv := &TrendView{Year: t.Year.Label(lang), Overall: round1(t.Overall), Delta: delta(r.Overall.Percent, &t.Overall)}
		for _, c := range t.Improved {
			tv.Improved = append(tv.Improved, ChangeView{c.ID, c.Title.In(lang), c.From.Label(lang), c.To.Label(lang)})
		}
		for _, c := range t.Regressed {
			tv.Regressed = append(tv.Regressed, ChangeView{c.ID, c.Title.In(lang), c.From.Label(lang), c.To.Label(lang)})
		}
		v.Trend = tv
	}
	for _, x := range r.Excluded {
		row := ExcludedRow{ID: x.Entry.ID, Title: x.Entry.Title.In(lang)}
		for _, rs := range x.Reasons {
			row.Reasons = append(row.Reasons, rs.Text.In(lang))
		}
		v.Excluded = append(v.Excluded, row)
	}
	return v
}

func scoreView(s *Score, title catalog.Text, lang string) ScoreView {
	sv := ScoreView{Title: title.In(lang), Scored: s.Scored, Implemented: s.Implemented, Partial: s.Partial,
		NotImpl: s.NotImpl, Unanswered: s.Unanswered, NA: s.NA, Percent: round1(s.Percent)}
	if s.Previous != nil {
		p := round1(*s.Previous)
		sv.Previous = &p
		sv.Delta = delta(s.Percent, s.Previous)
	}
	return sv
}

func itemView(it *Item, lang string) ItemView {
	e := it.Entry
	iv := ItemView{ID: e.ID, Title: e.Title.In(lang), Obligation: catalog.ObligationName(e.Obligation, lang),
		Declared: it.Declared.Label(lang), Status: it.Status.Label(lang), StatusKey: it.Status,
		Override: it.Override.In(lang), Audit: it.Audit, Scored: it.Scored, Operations: operationLines(it.Operations, lang)}
	for _, f := range it.Findings {
		iv.Rules = appendUnique(iv.Rules, f.Rule)
	}
	if a := it.Answer; a != nil {
		iv.Owner, iv.Due, iv.Evidence, iv.Reason, iv.Notes = a.Owner, optDate(a.Due, lang), a.Evidence, a.Reason, a.Notes
	}
	for _, x := range it.Exceptions {
		iv.Exceptions = appendUnique(iv.Exceptions, x.ID)
	}
	return iv
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
