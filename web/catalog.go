package web

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/catalog"
)

// The requirements pages show the guideline's control catalog by section
// with a drill-down to each requirement, and whether each applies to the
// loaded body (its network model, kind, features and zones). With an
// assessment loaded and auth.PermAssessmentView, they also show the
// section scores and each requirement's answer (status, evidence, owner,
// due date). Answers are edited in the assessment file, not here.

// profile describes the loaded model for applicability decisions.
func (s *Server) profile() *catalog.Profile {
	m := s.o.Model
	if m == nil {
		return nil
	}
	p := &catalog.Profile{NetworkModel: string(m.Org.NetworkModel), OrgKind: string(m.Org.Kind), Features: []string{}, Zones: []string{}}
	for _, f := range m.Org.Features {
		p.Features = append(p.Features, string(f))
	}
	seen := map[string]bool{}
	for _, z := range m.Zones {
		if !seen[string(z.Type)] {
			seen[string(z.Type)] = true
			p.Zones = append(p.Zones, string(z.Type))
		}
	}
	return p
}

type sectionRow struct {
	Kind                                catalog.Kind
	KindName                            string
	Section                             catalog.Section
	Title                               string
	Total, Applicable, MandatoryApplies int
	Top                                 bool // a section, not a subsection
	Score                               *assess.ScoreView
}

// assessFor returns the assessment when the viewer may see it.
func (s *Server) assessFor(r *http.Request) *assessView {
	if s.av != nil && state(r).subject.Can(auth.PermAssessmentView) {
		if state(r).lang == "en" && s.avEN != nil {
			return s.avEN
		}
		return s.av
	}
	return nil
}

func (s *Server) catalogPage(w http.ResponseWriter, r *http.Request) error {
	c := s.o.Catalog
	if c == nil {
		return errNotFound
	}
	av, lang := s.assessFor(r), state(r).lang
	return s.renderCached(w, r, "catalog", "要求事項（ガイドライン）", fmt.Sprintf("index|%v", av != nil), func() any {
		prof := s.profile()
		var rows []sectionRow
		for _, sec := range c.Sections() {
			all := c.Select(catalog.Filter{Catalog: sec.Catalog, Section: sec.ID})
			row := sectionRow{Kind: sec.Catalog, KindName: catalog.KindName(sec.Catalog, lang), Section: sec, Title: sec.Title.In(lang),
				Total: len(all), Top: !strings.Contains(sec.ID, ".")}
			if av != nil {
				row.Score = av.Sections[string(sec.Catalog)+"|"+sec.ID]
			}
			for _, e := range all {
				if prof == nil {
					continue
				}
				if ok, _ := c.AppliesTo(e, *prof); ok {
					row.Applicable++
					if e.Obligation == catalog.Mandatory {
						row.MandatoryApplies++
					}
				}
			}
			rows = append(rows, row)
		}
		return map[string]any{"Rows": rows, "Profile": prof, "Assess": av}
	})
}

type entryRow struct {
	E       *catalog.Entry
	Applies bool
	Reasons []string
	Roles   []string
	Checks  []string
	Depth   int
	Item    *assess.ItemView // the year's answer, when visible and applicable
}

func (s *Server) entryRow(e *catalog.Entry, av *assessView, lang string) entryRow {
	row := entryRow{E: e, Applies: true, Depth: strings.Count(e.ID, "(") + strings.Count(e.ID, "①")}
	if av != nil {
		row.Item = av.Items[e.ID]
	}
	if p := s.profile(); p != nil {
		ok, reasons := s.o.Catalog.AppliesTo(e, *p)
		row.Applies = ok
		for _, r := range reasons {
			row.Reasons = append(row.Reasons, r.String())
		}
	}
	for _, role := range e.Roles {
		row.Roles = append(row.Roles, catalog.RoleName(role, lang))
	}
	for _, v := range e.Verification {
		row.Checks = append(row.Checks, catalog.VerificationName(v, lang))
	}
	return row
}

func (s *Server) catalogSection(w http.ResponseWriter, r *http.Request) error {
	c := s.o.Catalog
	if c == nil {
		return errNotFound
	}
	kind, id := catalog.Kind(r.URL.Query().Get("kind")), r.URL.Query().Get("id")
	title, ok := c.SectionTitle(kind, id)
	if !ok {
		return errNotFound
	}
	av, lang := s.assessFor(r), state(r).lang
	return s.renderCached(w, r, "catalog_section", catalog.KindName(kind, lang)+" "+id+" "+title.In(lang), fmt.Sprintf("%s|%s|%v", kind, id, av != nil), func() any {
		var rows []entryRow
		for _, e := range c.Select(catalog.Filter{Catalog: kind, Section: id}) {
			rows = append(rows, s.entryRow(e, av, lang))
		}
		data := map[string]any{"Rows": rows, "Kind": kind, "Assess": av}
		if av != nil {
			data["Score"] = av.Sections[string(kind)+"|"+id]
		}
		return data
	})
}

func (s *Server) catalogEntry(w http.ResponseWriter, r *http.Request) error {
	c := s.o.Catalog
	if c == nil {
		return errNotFound
	}
	e, ok := c.Lookup(r.URL.Query().Get("id"))
	if !ok {
		return errNotFound
	}
	av, lang := s.assessFor(r), state(r).lang
	return s.renderCached(w, r, "catalog_entry", e.ID+" "+e.Title.In(lang), fmt.Sprintf("%s|%s|%v", e.Catalog, e.ID, av != nil), func() any {
		var children []entryRow
		for _, id := range e.Children() {
			if ch, ok := c.Lookup(id); ok {
				children = append(children, s.entryRow(ch, av, lang))
			}
		}
		data := map[string]any{"Row": s.entryRow(e, av, lang), "Children": children, "Obligation": catalog.ObligationName(e.Obligation, lang), "Assess": av}
		if av != nil {
			var acts []assess.ActionRow
			for _, a := range av.V.Actions {
				if slices.ContainsFunc(a.Requirements, func(id string) bool { return catalog.NormalizeID(id) == e.ID }) {
					acts = append(acts, a)
				}
			}
			data["Actions"] = acts
		}
		return data
	})
}
