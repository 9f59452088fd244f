package incident

import (
	"fmt"
	"slices"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/catalog"
)

// CorrectiveActions turns the review actions of incs into the improvement
// plan items of package assess (改善計画, clause 9.1(7)), so that what an
// incident taught enters the next self-assessment (PDCA; seed 003 lists
// "evaluate and improve through audit" among the lessons of the incidents).
func CorrectiveActions(incs []*Incident) []assess.CorrectiveAction {
	var out []assess.CorrectiveAction
	for _, inc := range incs {
		for _, a := range inc.Review.Actions {
			ca := assess.CorrectiveAction{ID: a.ID, Requirements: slices.Clone(a.Clauses), Action: a.Action, Owner: a.Owner,
				Due: assess.Date{Time: a.Due}, Status: assess.ActionOpen,
				Notes: fmt.Sprintf("インシデント %s「%s」の事後レビューによる（原因: %s）", inc.Ref, inc.Title, inc.Review.Cause)}
			if a.Done {
				ca.Status = assess.ActionDone
			}
			out = append(out, ca)
		}
	}
	return out
}

// MergeActions appends to a the corrective actions it does not hold yet
// (by id), so that exporting twice does not duplicate them. It returns how
// many were added.
func MergeActions(a *assess.Assessment, actions []assess.CorrectiveAction) int {
	n := 0
	for _, ca := range actions {
		if slices.ContainsFunc(a.Audit.CorrectiveActions, func(x assess.CorrectiveAction) bool { return x.ID == ca.ID }) {
			continue
		}
		a.Audit.CorrectiveActions = append(a.Audit.CorrectiveActions, ca)
		n++
	}
	return n
}

// ActionsFile is an assessment file holding only the corrective actions of
// incs, for fiscal year fy: it can be reviewed and merged into the year's
// file (kyojin assess reads it like any assessment file).
func ActionsFile(cat *catalog.Catalog, incs []*Incident, fy assess.FiscalYear) []byte {
	a := &assess.Assessment{APIVersion: "kyojin/v1", Kind: assess.Kind, FiscalYear: fy}
	a.Audit.CorrectiveActions = CorrectiveActions(incs)
	return assess.Encode(cat, a)
}

// FiscalYearOf is the fiscal year (April to March) of t in Japan.
func FiscalYearOf(t time.Time) assess.FiscalYear {
	t = t.In(jst)
	if t.Month() < time.April {
		return assess.FiscalYear(t.Year() - 1)
	}
	return assess.FiscalYear(t.Year())
}
