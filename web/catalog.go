package web

import (
	"net/http"
	"strings"

	"github.com/kyojin/kyojin/catalog"
)

// The requirements pages show the guideline's control catalog by section
// with a drill-down to each requirement, and whether each applies to the
// loaded body (its network model, kind, features and zones). Recording
// assessment answers and scoring them is not part of the console yet.

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
}

func (s *Server) catalogPage(w http.ResponseWriter, r *http.Request) error {
	c := s.o.Catalog
	if c == nil {
		return errNotFound
	}
	return s.renderCached(w, r, "catalog", "要求事項（ガイドライン）", "index", func() any {
		prof := s.profile()
		var rows []sectionRow
		for _, sec := range c.Sections() {
			all := c.Select(catalog.Filter{Catalog: sec.Catalog, Section: sec.ID})
			row := sectionRow{Kind: sec.Catalog, KindName: catalog.KindName(sec.Catalog, "ja"), Section: sec, Title: sec.Title.In("ja"),
				Total: len(all), Top: !strings.Contains(sec.ID, ".")}
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
		return map[string]any{"Rows": rows, "Profile": prof}
	})
}

type entryRow struct {
	E       *catalog.Entry
	Applies bool
	Reasons []string
	Roles   []string
	Checks  []string
	Depth   int
}

func (s *Server) entryRow(e *catalog.Entry) entryRow {
	row := entryRow{E: e, Applies: true, Depth: strings.Count(e.ID, "(") + strings.Count(e.ID, "①")}
	if p := s.profile(); p != nil {
		ok, reasons := s.o.Catalog.AppliesTo(e, *p)
		row.Applies = ok
		for _, r := range reasons {
			row.Reasons = append(row.Reasons, r.String())
		}
	}
	for _, role := range e.Roles {
		row.Roles = append(row.Roles, catalog.RoleName(role, "ja"))
	}
	for _, v := range e.Verification {
		row.Checks = append(row.Checks, catalog.VerificationName(v, "ja"))
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
	return s.renderCached(w, r, "catalog_section", catalog.KindName(kind, "ja")+" "+id+" "+title.In("ja"), string(kind)+"|"+id, func() any {
		var rows []entryRow
		for _, e := range c.Select(catalog.Filter{Catalog: kind, Section: id}) {
			rows = append(rows, s.entryRow(e))
		}
		return map[string]any{"Rows": rows, "Kind": kind}
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
	return s.renderCached(w, r, "catalog_entry", e.ID+" "+e.Title.In("ja"), string(e.Catalog)+"|"+e.ID, func() any {
		var children []entryRow
		for _, id := range e.Children() {
			if ch, ok := c.Lookup(id); ok {
				children = append(children, s.entryRow(ch))
			}
		}
		return map[string]any{"Row": s.entryRow(e), "Children": children, "Obligation": catalog.ObligationName(e.Obligation, "ja")}
	})
}
