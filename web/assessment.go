package web

import (
	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/catalog"
)

// assessView is the loaded assessment resolved in one language once at start:
// the assessment does not change while the server runs. It is shown only
// with auth.PermAssessmentView (organisation-wide roles; see
// docs/permissions.md).
type assessView struct {
	V        *assess.View
	Items    map[string]*assess.ItemView  // by requirement id
	Sections map[string]*assess.ScoreView // by catalog kind|section
	// MandatoryGaps counts mandatory requirements short of 実施 (the
	// guideline's 【必須事項】); Overdue counts corrective actions past due
	// (standards 9.1(7) improvement plan).
	MandatoryGaps, Overdue int
	Gaps                   []assess.ItemView // mandatory gaps, at most a screenful
}

func newAssessView(r *assess.Result, lang string) *assessView {
	if r == nil {
		return nil
	}
	v := assess.ViewOf(r, lang)
	av := &assessView{V: v, Items: map[string]*assess.ItemView{}, Sections: map[string]*assess.ScoreView{}}
	for i := range v.Items {
		av.Items[v.Items[i].ID] = &v.Items[i]
	}
	for i, s := range r.Sections {
		av.Sections[string(s.Catalog)+"|"+s.Section] = &v.Sections[i]
	}
	for i, it := range r.Gaps {
		if it.Entry.Obligation == catalog.Mandatory {
			av.MandatoryGaps++
			if len(av.Gaps) < 10 {
				av.Gaps = append(av.Gaps, v.Gaps[i])
			}
		}
	}
	for _, a := range v.Actions {
		if a.Overdue {
			av.Overdue++
		}
	}
	return av
}
