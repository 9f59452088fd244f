// Package oscal exports the catalog and assessment results as OSCAL 1.1.2
// JSON (NIST Open Security Controls Assessment Language), so that GRC tools
// can read them. The field names are written here from the OSCAL model
// reference; docs/oscal.md documents the mapping. UUIDs are version 5
// (name-based), so exports are reproducible.
package oscal

import (
	"crypto/sha1"
	"fmt"
	"strings"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/catalog"
)

// Version is the OSCAL version the documents declare.
const Version = "1.1.2"

// NS is the namespace of kyojin's own properties.
const NS = "https://github.com/kyojin/kyojin/ns/oscal"

// namespace of the version-5 UUIDs (itself a fixed random UUID).
var namespace = [16]byte{0x6b, 0x79, 0x6f, 0x6a, 0x69, 0x6e, 0x4f, 0x53, 0x83, 0x41, 0x4c, 0x2d, 0x4b, 0x59, 0x4f, 0x4a}

// UUID returns the RFC 4122 version-5 UUID of name.
func UUID(name string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(name))
	s := h.Sum(nil)
	s[6] = (s[6] & 0x0f) | 0x50
	s[8] = (s[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

var circled = strings.NewReplacer("①", "-1", "②", "-2", "③", "-3", "④", "-4", "⑤", "-5", "⑥", "-6", "⑦", "-7", "⑧", "-8", "⑨", "-9", "⑩", "-10",
	"⑪", "-11", "⑫", "-12", "⑬", "-13", "⑭", "-14", "⑮", "-15", "⑯", "-16", "⑰", "-17", "⑱", "-18", "⑲", "-19", "⑳", "-20",
	"(", "-", ")", "", "@", "-", "R", "r")

var prefixes = map[catalog.Kind]string{catalog.Guideline: "gl-", catalog.Ransomware: "rw-", catalog.Resilience: "r5-", catalog.Vendor: "vr-"}

// ControlID turns a catalog ID into an OSCAL token (letters, digits, . - _):
// 6.1(14)③ → gl-6.1-14-3, 3(2)@R2.12 → gl-3-2-r2.12, 3(1)②(ア) → gl-3-1-2-ア.
// The guideline's own number stays in the "label" property.
func ControlID(e *catalog.Entry) string {
	id := e.ID
	for _, p := range []string{"RW-", "R5-", "VR-"} {
		id = strings.TrimPrefix(id, p)
	}
	return prefixes[e.Catalog] + strings.ToLower(circled.Replace(id))
}

// Prop is an OSCAL property.
type Prop struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	NS    string `json:"ns,omitempty"`
	Class string `json:"class,omitempty"`
}

// Part is an OSCAL part.
type Part struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name"`
	Prose string `json:"prose,omitempty"`
	Props []Prop `json:"props,omitempty"`
}

// Control is an OSCAL control.
type Control struct {
	ID       string    `json:"id"`
	Class    string    `json:"class,omitempty"`
	Title    string    `json:"title"`
	Props    []Prop    `json:"props,omitempty"`
	Parts    []Part    `json:"parts,omitempty"`
	Controls []Control `json:"controls,omitempty"`
}

// Group is an OSCAL group.
type Group struct {
	ID       string    `json:"id"`
	Class    string    `json:"class,omitempty"`
	Title    string    `json:"title"`
	Props    []Prop    `json:"props,omitempty"`
	Controls []Control `json:"controls,omitempty"`
}

// Metadata is the OSCAL document metadata.
type Metadata struct {
	Title        string `json:"title"`
	LastModified string `json:"last-modified"`
	Version      string `json:"version"`
	OSCALVersion string `json:"oscal-version"`
	Props        []Prop `json:"props,omitempty"`
}

// CatalogModel is the "catalog" object.
type CatalogModel struct {
	UUID     string   `json:"uuid"`
	Metadata Metadata `json:"metadata"`
	Groups   []Group  `json:"groups"`
}

// CatalogDoc is the root of an OSCAL catalog file.
type CatalogDoc struct {
	Catalog CatalogModel `json:"catalog"`
}

func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Catalog exports all four catalogs: one group per catalog section, the
// clause tree as nested controls.
func Catalog(cat *catalog.Catalog, modified time.Time) *CatalogDoc {
	doc := &CatalogDoc{Catalog: CatalogModel{
		UUID: UUID("catalog"),
		Metadata: Metadata{Title: "地方公共団体における情報セキュリティポリシーに関するガイドライン 対策基準（kyojin カタログ）",
			LastModified: timestamp(modified), Version: catalog.Editions[len(catalog.Editions)-1], OSCALVersion: Version},
	}}
	groups := map[string]*Group{}
	var order []string
	var build func(e *catalog.Entry) Control
	build = func(e *catalog.Entry) Control {
		c := Control{ID: ControlID(e), Class: string(e.Obligation), Title: e.Title.JA,
			Props: []Prop{{Name: "label", Value: e.ID}, {Name: "obligation", Value: string(e.Obligation), NS: NS},
				{Name: "introduced", Value: e.Introduced(), NS: NS}}}
		for _, r := range e.Roles {
			c.Props = append(c.Props, Prop{Name: "responsible-role", Value: r, NS: NS})
		}
		for _, v := range e.Verification {
			c.Props = append(c.Props, Prop{Name: "verification", Value: v, NS: NS})
		}
		c.Parts = []Part{{ID: c.ID + "_smt", Name: "statement", Prose: e.Summary.JA}}
		if e.Summary.EN != "" {
			c.Parts = append(c.Parts, Part{ID: c.ID + "_smt.en", Name: "statement", Prose: e.Summary.EN, Props: []Prop{{Name: "lang", Value: "en", NS: NS}}})
		}
		if len(e.Evidence) > 0 {
			c.Parts = append(c.Parts, Part{ID: c.ID + "_evd", Name: "guidance", Prose: "証跡の例: " + strings.Join(e.Evidence, "、")})
		}
		for _, id := range e.Children() {
			if ch, ok := cat.Lookup(id); ok {
				c.Controls = append(c.Controls, build(ch))
			}
		}
		return c
	}
	for _, e := range cat.Entries() {
		if e.Parent != "" {
			continue
		}
		key := string(e.Catalog) + "/" + e.Section
		g := groups[key]
		if g == nil {
			t, _ := cat.SectionTitle(e.Catalog, e.Section)
			title := t.JA
			if title == "" {
				title = e.Section
			}
			g = &Group{ID: strings.TrimSuffix(prefixes[e.Catalog], "-") + "-s" + strings.ToLower(e.Section), Class: string(e.Catalog), Title: title,
				Props: []Prop{{Name: "label", Value: e.Section}}}
			groups[key] = g
			order = append(order, key)
		}
		g.Controls = append(g.Controls, build(e))
	}
	for _, k := range order {
		doc.Catalog.Groups = append(doc.Catalog.Groups, *groups[k])
	}
	return doc
}

// ResultsDoc is the root of an OSCAL assessment-results file.
type ResultsDoc struct {
	AssessmentResults AssessmentResults `json:"assessment-results"`
}

// AssessmentResults is the "assessment-results" object.
type AssessmentResults struct {
	UUID     string   `json:"uuid"`
	Metadata Metadata `json:"metadata"`
	ImportAP Href     `json:"import-ap"`
	Results  []Result `json:"results"`
}

// Href is a link object.
type Href struct {
	Href string `json:"href"`
}

// Result is one assessment (one fiscal year).
type Result struct {
	UUID             string           `json:"uuid"`
	Title            string           `json:"title"`
	Description      string           `json:"description"`
	Start            string           `json:"start"`
	End              string           `json:"end,omitempty"`
	Props            []Prop           `json:"props,omitempty"`
	ReviewedControls ReviewedControls `json:"reviewed-controls"`
	Observations     []Observation    `json:"observations,omitempty"`
	Risks            []Risk           `json:"risks,omitempty"`
	Findings         []Finding        `json:"findings,omitempty"`
}

// Risk carries a corrective action (改善計画) as its remediation.
type Risk struct {
	UUID         string        `json:"uuid"`
	Title        string        `json:"title"`
	Description  string        `json:"description"`
	Statement    string        `json:"statement"`
	Props        []Prop        `json:"props,omitempty"`
	Status       string        `json:"status"`
	Deadline     string        `json:"deadline,omitempty"`
	Remediations []Remediation `json:"remediations,omitempty"`
}

// Remediation is a planned response.
type Remediation struct {
	UUID        string `json:"uuid"`
	Lifecycle   string `json:"lifecycle"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Props       []Prop `json:"props,omitempty"`
}

// ReviewedControls lists the controls assessed.
type ReviewedControls struct {
	ControlSelections []ControlSelection `json:"control-selections"`
}

// ControlSelection includes and excludes controls.
type ControlSelection struct {
	Description     string       `json:"description,omitempty"`
	IncludeControls []ControlRef `json:"include-controls,omitempty"`
	ExcludeControls []ControlRef `json:"exclude-controls,omitempty"`
}

// ControlRef references a control ("control-id").
type ControlRef struct {
	ControlID string `json:"control-id"`
}

// Observation is evidence about one requirement.
type Observation struct {
	UUID        string   `json:"uuid"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description"`
	Props       []Prop   `json:"props,omitempty"`
	Methods     []string `json:"methods"`
	Types       []string `json:"types,omitempty"`
	Collected   string   `json:"collected"`
	Remarks     string   `json:"remarks,omitempty"`
}

// Finding states whether a requirement is satisfied.
type Finding struct {
	UUID                string       `json:"uuid"`
	Title               string       `json:"title"`
	Description         string       `json:"description"`
	Props               []Prop       `json:"props,omitempty"`
	Target              Target       `json:"target"`
	RelatedObservations []RelatedObs `json:"related-observations,omitempty"`
	Remarks             string       `json:"remarks,omitempty"`
}

// Target is what a finding is about.
type Target struct {
	Type     string       `json:"type"`
	TargetID string       `json:"target-id"`
	Status   TargetStatus `json:"status"`
}

// TargetStatus is satisfied or not-satisfied.
type TargetStatus struct {
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// RelatedObs links an observation.
type RelatedObs struct {
	ObservationUUID string `json:"observation-uuid"`
}

// AssessmentResultsOf exports an evaluated assessment: one observation and
// one finding per assessed requirement, audit findings as findings too.
func AssessmentResultsOf(cat *catalog.Catalog, r *assess.Result) *ResultsDoc {
	key := fmt.Sprintf("%s/%d", r.Code, int(r.Year))
	end := r.Year.Start().AddDate(1, 0, 0).Add(-time.Second)
	res := Result{UUID: UUID("result/" + key), Title: fmt.Sprintf("%s %s 情報セキュリティ自己点検", r.Organization, r.Year.Label("ja")),
		Description: fmt.Sprintf("kyojin assess による%sの自己点検結果（自動検査の指摘 %d 件を反映）。総合評点 %.1f%%。", r.Year.Label("ja"), r.CheckFindings, r.Overall.Percent),
		Start:       timestamp(r.Year.Start()), End: timestamp(end),
		Props: []Prop{{Name: "overall-score", Value: fmt.Sprintf("%.1f", r.Overall.Percent), NS: NS}, {Name: "network-model", Value: r.NetworkModel, NS: NS}},
	}
	sel := ControlSelection{Description: "団体のモデルから適用と判定された要件（適用外は exclude-controls）"}
	for _, it := range r.Items {
		sel.IncludeControls = append(sel.IncludeControls, ControlRef{ControlID(it.Entry)})
	}
	for _, x := range r.Excluded {
		sel.ExcludeControls = append(sel.ExcludeControls, ControlRef{ControlID(x.Entry)})
	}
	res.ReviewedControls.ControlSelections = []ControlSelection{sel}
	collected := timestamp(r.Now)
	for _, it := range r.Items {
		cid := ControlID(it.Entry)
		obs := Observation{UUID: UUID("obs/" + key + "/" + it.Entry.ID), Title: it.Entry.ID + " " + it.Entry.Title.JA,
			Description: "自己申告: " + it.Declared.Label("ja"), Methods: []string{"EXAMINE"}, Collected: collected,
			Props: []Prop{{Name: "declared-status", Value: string(orUnanswered(it.Declared)), NS: NS}}}
		if it.Answer != nil {
			if len(it.Answer.Evidence) > 0 {
				obs.Remarks = "証跡: " + strings.Join(it.Answer.Evidence, "、")
			}
			if it.Answer.Notes != "" {
				obs.Description += "。" + it.Answer.Notes
			}
		}
		if len(it.Findings) > 0 {
			obs.Methods = append(obs.Methods, "TEST")
			obs.Types = []string{"finding"}
		}
		res.Observations = append(res.Observations, obs)
		state := "not-satisfied"
		if it.Status == assess.Implemented || it.Status == assess.NotApplicable {
			state = "satisfied"
		}
		f := Finding{UUID: UUID("finding/" + key + "/" + it.Entry.ID), Title: it.Entry.ID + " " + it.Status.Label("ja"),
			Description:         it.Entry.Summary.JA,
			Props:               []Prop{{Name: "status", Value: string(orUnanswered(it.Status)), NS: NS}, {Name: "obligation", Value: string(it.Entry.Obligation), NS: NS}},
			Target:              Target{Type: "objective-id", TargetID: cid, Status: TargetStatus{State: state, Reason: string(orUnanswered(it.Status))}},
			RelatedObservations: []RelatedObs{{obs.UUID}}, Remarks: it.Override.JA}
		res.Findings = append(res.Findings, f)
	}
	for _, af := range r.AuditFindings {
		for _, id := range af.Requirements {
			e, ok := cat.Lookup(id)
			if !ok {
				continue
			}
			res.Findings = append(res.Findings, Finding{UUID: UUID("audit/" + key + "/" + af.ID + "/" + e.ID), Title: af.ID + " " + af.Title,
				Description: strings.TrimSpace(af.Title + " " + af.Detail),
				Props:       []Prop{{Name: "audit-finding", Value: af.ID, NS: NS}, {Name: "severity", Value: af.Severity.String(), NS: NS}},
				Target:      Target{Type: "objective-id", TargetID: ControlID(e), Status: TargetStatus{State: "not-satisfied", Reason: "audit"}}})
		}
	}
	for _, a := range r.Actions {
		status, lifecycle := "open", "planned"
		switch a.Status {
		case assess.ActionDone:
			status, lifecycle = "closed", "completed"
		case assess.ActionInProgress:
			status = "remediating"
		}
		risk := Risk{UUID: UUID("risk/" + key + "/" + a.ID), Title: a.ID + " " + a.Action,
			Description: fmt.Sprintf("改善計画 %s（%s）: 対象 %s", a.ID, a.Year.Label("ja"), strings.Join(a.Requirements, "、")),
			Statement:   a.Action, Status: status, Deadline: timestamp(a.Due.Time),
			Props: []Prop{{Name: "owner", Value: a.Owner, NS: NS}, {Name: "overdue", Value: fmt.Sprint(a.Overdue), NS: NS},
				{Name: "carried-over", Value: fmt.Sprint(a.CarriedOver), NS: NS}},
			Remediations: []Remediation{{UUID: UUID("remediation/" + key + "/" + a.ID), Lifecycle: lifecycle, Title: a.Action,
				Description: a.Action + "（担当: " + a.Owner + "）"}}}
		if a.Finding != "" {
			risk.Props = append(risk.Props, Prop{Name: "audit-finding", Value: a.Finding, NS: NS})
		}
		res.Risks = append(res.Risks, risk)
	}
	// Exceptions (例外措置) are approved deviations with an end date.
	for _, x := range r.Exceptions {
		res.Risks = append(res.Risks, Risk{UUID: UUID("exception/" + key + "/" + x.ID), Title: x.ID + " 例外措置",
			Description: fmt.Sprintf("例外措置 %s: 対象 %s", x.ID, strings.Join(x.Requirements, "、")), Statement: x.Reason,
			Status: "deviation-approved", Deadline: timestamp(x.Expires.Time),
			Props: []Prop{{Name: "expired", Value: fmt.Sprint(x.Expired), NS: NS}, {Name: "approved-by", Value: x.ApprovedBy, NS: NS}}})
	}
	return &ResultsDoc{AssessmentResults: AssessmentResults{
		UUID:     UUID("assessment-results/" + key),
		Metadata: Metadata{Title: res.Title, LastModified: collected, Version: r.Year.Label("ja"), OSCALVersion: Version},
		ImportAP: Href{Href: "urn:kyojin:assessment-plan:" + r.Code + ":" + fmt.Sprint(int(r.Year))},
		Results:  []Result{res},
	}}
}

func orUnanswered(s assess.Status) assess.Status {
	if s == assess.Unanswered {
		return "unanswered"
	}
	return s
}
