package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// Profile describes a body for applicability decisions. Empty NetworkModel or OrgKind means
// "unknown" and is not checked. Features and Zones are checked only when non-nil: a nil
// slice means "unknown", an empty non-nil slice means "none".
type Profile struct {
	NetworkModel string
	OrgKind      string
	Features     []string
	Zones        []string
}

// Reason explains why an entry does not apply to a profile.
type Reason struct {
	Entry string // the entry whose condition failed (the entry itself or an ancestor)
	Field string // network_models, org_kinds, features or zones
	Text  Text
}

// String returns the Japanese explanation.
func (r Reason) String() string { return r.Text.JA }

// AppliesTo reports whether e applies to p. When it does not, the reasons list every failed
// condition of the entry and of its ancestors (a sub-clause never applies where its clause
// does not).
func (c *Catalog) AppliesTo(e *Entry, p Profile) (bool, []Reason) {
	var reasons []Reason
	for cur := e; cur != nil; {
		reasons = append(reasons, check(cur, p, cur != e)...)
		if cur.Parent == "" {
			break
		}
		cur = c.byID[cur.Parent]
	}
	return len(reasons) == 0, dedupe(reasons)
}

func check(e *Entry, p Profile, inherited bool) []Reason {
	var out []Reason
	via := Text{}
	if inherited {
		via = Text{JA: fmt.Sprintf("（上位項目 %s の条件）", e.ID), EN: fmt.Sprintf(" (condition of %s)", e.ID)}
	}
	a := e.Applies
	if p.NetworkModel != "" && len(a.NetworkModels) > 0 && !slices.Contains(a.NetworkModels, p.NetworkModel) {
		out = append(out, Reason{Entry: e.ID, Field: "network_models", Text: Text{
			JA: fmt.Sprintf("ネットワークモデル %s: この項目は %s のみに適用%s", p.NetworkModel, strings.Join(a.NetworkModels, ", "), via.JA),
			EN: fmt.Sprintf("network model %s: entry applies only to %s%s", p.NetworkModel, strings.Join(a.NetworkModels, ", "), via.EN),
		}})
	}
	if p.OrgKind != "" && len(a.OrgKinds) > 0 && !slices.Contains(a.OrgKinds, p.OrgKind) {
		out = append(out, Reason{Entry: e.ID, Field: "org_kinds", Text: Text{
			JA: fmt.Sprintf("団体の種類 %s: この項目は %s のみに適用%s", p.OrgKind, strings.Join(a.OrgKinds, ", "), via.JA),
			EN: fmt.Sprintf("organization kind %s: entry applies only to %s%s", p.OrgKind, strings.Join(a.OrgKinds, ", "), via.EN),
		}})
	}
	if p.Features != nil {
		for _, f := range a.Features {
			if !slices.Contains(p.Features, f) {
				out = append(out, Reason{Entry: e.ID, Field: "features", Text: Text{
					JA: fmt.Sprintf("機能 %s を利用していない: この項目は %s を利用する団体に適用%s", f, f, via.JA),
					EN: fmt.Sprintf("feature %s not used: entry applies only to bodies using %s%s", f, f, via.EN),
				}})
			}
		}
	}
	if p.Zones != nil && len(a.Zones) > 0 && !slices.ContainsFunc(a.Zones, func(z string) bool { return slices.Contains(p.Zones, z) }) {
		out = append(out, Reason{Entry: e.ID, Field: "zones", Text: Text{
			JA: fmt.Sprintf("領域 %s を持たない: この項目は %s の領域に適用%s", strings.Join(a.Zones, ", "), strings.Join(a.Zones, ", "), via.JA),
			EN: fmt.Sprintf("no %s zone: entry applies only to the %s zone%s", strings.Join(a.Zones, ", "), strings.Join(a.Zones, ", "), via.EN),
		}})
	}
	return out
}

// dedupe drops an ancestor's reason when a descendant already reported the same condition
// (inherited applies are copied, so they would otherwise be reported twice).
func dedupe(rs []Reason) []Reason {
	var out []Reason
	for _, r := range rs {
		if !slices.ContainsFunc(out, func(o Reason) bool {
			return o.Field == r.Field && strings.HasPrefix(r.Text.EN, strings.SplitN(o.Text.EN, " (", 2)[0])
		}) {
			out = append(out, r)
		}
	}
	return out
}
