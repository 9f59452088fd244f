package assess

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/kyojin/kyojin/catalog"
)

// Encode writes a as an assessment file. Strings are written as
// double-quoted scalars (JSON string syntax is valid YAML), so any text a
// user typed into a workbook round-trips without being interpreted.
func Encode(cat *catalog.Catalog, a *Assessment) []byte {
	var b bytes.Buffer
	q := func(s string) string {
		j, _ := json.Marshal(s)
		return string(j)
	}
	list := func(l []string) string {
		out := "["
		for i, s := range l {
			if i > 0 {
				out += ", "
			}
			out += q(s)
		}
		return out + "]"
	}
	date := func(d time.Time) string { return d.Format(time.DateOnly) }
	fmt.Fprintf(&b, "apiVersion: kyojin/v1\nkind: %s\nfiscal_year: %d  # %s\n", Kind, int(a.FiscalYear), a.FiscalYear.Label("ja"))
	if a.Organization != "" {
		fmt.Fprintf(&b, "organization: %s\n", q(a.Organization))
	}
	if a.AssessedAt != nil {
		fmt.Fprintf(&b, "assessed_at: %s\n", date(a.AssessedAt.Time))
	}
	if a.Assessor != "" {
		fmt.Fprintf(&b, "assessor: %s\n", q(a.Assessor))
	}
	if len(a.OptIn) > 0 {
		fmt.Fprintf(&b, "opt_in: %s\n", list(a.OptIn))
	}
	ids := make([]string, 0, len(a.Requirements))
	for id := range a.Requirements {
		ids = append(ids, id)
	}
	order := map[string]int{}
	for i, e := range cat.Entries() {
		order[e.ID] = i
	}
	slices.SortFunc(ids, func(x, y string) int { return order[catalog.NormalizeID(x)] - order[catalog.NormalizeID(y)] })
	if len(ids) > 0 {
		b.WriteString("requirements:\n")
	}
	for _, id := range ids {
		ans := a.Requirements[id]
		fmt.Fprintf(&b, "  %s:\n    status: %s\n", q(id), ans.Status)
		if ans.Reason != "" {
			fmt.Fprintf(&b, "    reason: %s\n", q(ans.Reason))
		}
		if len(ans.Evidence) > 0 {
			fmt.Fprintf(&b, "    evidence: %s\n", list(ans.Evidence))
		}
		if ans.Owner != "" {
			fmt.Fprintf(&b, "    owner: %s\n", q(ans.Owner))
		}
		if ans.Due != nil {
			fmt.Fprintf(&b, "    due: %s\n", date(ans.Due.Time))
		}
		if ans.Notes != "" {
			fmt.Fprintf(&b, "    notes: %s\n", q(ans.Notes))
		}
	}
	if len(a.Exceptions) > 0 {
		b.WriteString("exceptions:\n")
	}
	for _, x := range a.Exceptions {
		fmt.Fprintf(&b, "  - id: %s\n    requirements: %s\n    reason: %s\n", q(x.ID), list(x.Requirements), q(x.Reason))
		if x.ApprovedBy != "" {
			fmt.Fprintf(&b, "    approved_by: %s\n", q(x.ApprovedBy))
		}
		if x.Approved != nil {
			fmt.Fprintf(&b, "    approved: %s\n", date(x.Approved.Time))
		}
		fmt.Fprintf(&b, "    expires: %s\n", date(x.Expires.Time))
		if x.Measures != "" {
			fmt.Fprintf(&b, "    measures: %s\n", q(x.Measures))
		}
	}
	if len(a.Audit.Findings)+len(a.Audit.CorrectiveActions) > 0 {
		b.WriteString("audit:\n")
	}
	if len(a.Audit.Findings) > 0 {
		b.WriteString("  findings:\n")
	}
	for _, f := range a.Audit.Findings {
		fmt.Fprintf(&b, "    - id: %s\n", q(f.ID))
		if f.Date != nil {
			fmt.Fprintf(&b, "      date: %s\n", date(f.Date.Time))
		}
		if f.Auditor != "" {
			fmt.Fprintf(&b, "      auditor: %s\n", q(f.Auditor))
		}
		fmt.Fprintf(&b, "      severity: %s\n      requirements: %s\n      title: %s\n", f.Severity.String(), list(f.Requirements), q(f.Title))
		if f.Detail != "" {
			fmt.Fprintf(&b, "      detail: %s\n", q(f.Detail))
		}
	}
	if len(a.Audit.CorrectiveActions) > 0 {
		b.WriteString("  corrective_actions:\n")
	}
	for _, ca := range a.Audit.CorrectiveActions {
		fmt.Fprintf(&b, "    - id: %s\n", q(ca.ID))
		if ca.Finding != "" {
			fmt.Fprintf(&b, "      finding: %s\n", q(ca.Finding))
		}
		if len(ca.Requirements) > 0 {
			fmt.Fprintf(&b, "      requirements: %s\n", list(ca.Requirements))
		}
		fmt.Fprintf(&b, "      action: %s\n      owner: %s\n      due: %s\n      status: %s\n", q(ca.Action), q(ca.Owner), date(ca.Due.Time), ca.Status)
		if ca.Completed != nil {
			fmt.Fprintf(&b, "      completed: %s\n", date(ca.Completed.Time))
		}
		if ca.Notes != "" {
			fmt.Fprintf(&b, "      notes: %s\n", q(ca.Notes))
		}
	}
	return b.Bytes()
}
