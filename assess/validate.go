package assess

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/strictyaml"
)

// Validate checks an assessment against the catalog and (optionally) the
// model: every requirement ID exists, 該当なし has a reason, opt-ins are
// recommended entries, ids are unique, corrective actions refer to known
// findings, and the body code matches. prev supplies audit findings of the
// previous year that this year's corrective actions may still refer to.
func Validate(cat *catalog.Catalog, m *model.Model, a, prev *Assessment) diag.List {
	var diags diag.List
	unknown := func(meta *strictyaml.Meta, path, field, id string) bool {
		if _, ok := cat.Lookup(id); ok {
			return false
		}
		diags.Add(meta.DiagAt(diag.Error, path, field, "unknown-requirement",
			diag.T(fmt.Sprintf("要件 %q はカタログにありません", id), fmt.Sprintf("requirement %q is not in the catalog", id)),
			diag.T("kyojin catalog list で ID を確認してください（例: 6.1(14)③）", "see kyojin catalog list for the IDs (e.g. 6.1(14)③)")))
		return true
	}
	ids := make([]string, 0, len(a.Requirements))
	for id := range a.Requirements {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	seen := map[string]string{}
	for _, id := range ids {
		ans := a.Requirements[id]
		path := "requirements." + id
		if unknown(&ans.Meta, path, "", id) {
			continue
		}
		n := catalog.NormalizeID(id)
		if other, dup := seen[n]; dup {
			diags.Add(ans.DiagAt(diag.Error, path, "", "duplicate-requirement",
				diag.T(fmt.Sprintf("要件 %s は %q としても書かれています", n, other), fmt.Sprintf("requirement %s is also written as %q", n, other)), diag.Text{}))
		}
		seen[n] = id
		if ans.Status == NotApplicable && strings.TrimSpace(ans.Reason) == "" {
			diags.Add(ans.DiagAt(diag.Error, path+".reason", "status", "reason-required",
				diag.T("「該当なし」には理由が必要です", "not-applicable needs a reason"),
				diag.T("reason: に該当しない理由を書いてください", "write why it does not apply under reason:")))
		}
	}
	for i, id := range a.OptIn {
		path := fmt.Sprintf("opt_in[%d]", i)
		if unknown(&a.Meta, path, "opt_in", id) {
			continue
		}
		if e, _ := cat.Lookup(id); e.Obligation != catalog.Recommended {
			diags.Add(a.DiagAt(diag.Warning, path, "opt_in", "opt-in-mandatory",
				diag.T(fmt.Sprintf("%s は推奨事項ではなく必須です（opt_in は不要）", id), fmt.Sprintf("%s is mandatory already; opt_in is not needed", id)), diag.Text{}))
		}
	}
	uniq := func(kind diag.Text, meta *strictyaml.Meta, path, id string, set map[string]bool) {
		if set[id] {
			diags.Add(meta.DiagAt(diag.Error, path+".id", "id", "duplicate-id",
				diag.T(fmt.Sprintf("%sの ID %q が重複しています", kind.JA, id), fmt.Sprintf("duplicate %s id %q", kind.EN, id)), diag.Text{}))
		}
		set[id] = true
	}
	exIDs := map[string]bool{}
	for i := range a.Exceptions {
		x := &a.Exceptions[i]
		path := fmt.Sprintf("exceptions[%d]", i)
		uniq(diag.T("例外措置", "exception"), &x.Meta, path, x.ID, exIDs)
		for j, id := range x.Requirements {
			unknown(&x.Meta, fmt.Sprintf("%s.requirements[%d]", path, j), "requirements", id)
		}
		if x.Approved != nil && x.Expires.Before(x.Approved.Time) {
			diags.Add(x.DiagAt(diag.Error, path+".expires", "expires", "expiry-before-approval",
				diag.T("有効期限が承認日より前です", "the exception expires before it was approved"), diag.Text{}))
		}
	}
	fIDs := map[string]bool{}
	for i := range a.Audit.Findings {
		f := &a.Audit.Findings[i]
		path := fmt.Sprintf("audit.findings[%d]", i)
		uniq(diag.T("監査指摘", "audit finding"), &f.Meta, path, f.ID, fIDs)
		for j, id := range f.Requirements {
			unknown(&f.Meta, fmt.Sprintf("%s.requirements[%d]", path, j), "requirements", id)
		}
	}
	known := maps(fIDs)
	if prev != nil {
		for _, f := range prev.Audit.Findings {
			known[f.ID] = true
		}
	}
	caIDs := map[string]bool{}
	for i := range a.Audit.CorrectiveActions {
		ca := &a.Audit.CorrectiveActions[i]
		path := fmt.Sprintf("audit.corrective_actions[%d]", i)
		uniq(diag.T("改善計画", "corrective action"), &ca.Meta, path, ca.ID, caIDs)
		for j, id := range ca.Requirements {
			unknown(&ca.Meta, fmt.Sprintf("%s.requirements[%d]", path, j), "requirements", id)
		}
		if ca.Finding != "" && !known[ca.Finding] {
			sev := diag.Warning
			if prev != nil {
				sev = diag.Error
			}
			diags.Add(ca.DiagAt(sev, path+".finding", "finding", "unknown-finding",
				diag.T(fmt.Sprintf("監査指摘 %q が見つかりません", ca.Finding), fmt.Sprintf("audit finding %q not found", ca.Finding)),
				diag.T("前年度の指摘なら --previous で前年度の評価ファイルを指定してください", "for last year's finding, pass last year's file with --previous")))
		}
		if ca.Status == ActionDone && ca.Completed == nil {
			diags.Add(ca.DiagAt(diag.Warning, path+".completed", "status", "completed-date",
				diag.T("完了した改善計画には completed: に完了日を書いてください", "a done action should record its completion date"), diag.Text{}))
		}
	}
	if m != nil && m.Org != nil && a.Organization != "" && a.Organization != string(m.Org.Code) {
		diags.Add(a.DiagAt(diag.Error, "organization", "organization", "organization-mismatch",
			diag.T(fmt.Sprintf("団体コード %s はモデルの団体（%s %s）と一致しません", a.Organization, m.Org.Code, m.Org.Name),
				fmt.Sprintf("body code %s does not match the model (%s %s)", a.Organization, m.Org.Code, m.Org.Name)), diag.Text{}))
	}
	return diags
}

func maps(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
