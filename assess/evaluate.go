package assess

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
)

// Edition is the guideline edition assessments are made against.
const Edition = "R7.3"

// ProfileOf derives the applicability profile of a body from its model: the
// network model, organization kind, declared features and the three zones
// present. Features is never nil, so a body that declares none is not asked
// feature-bound clauses.
func ProfileOf(m *model.Model) catalog.Profile {
	p := catalog.Profile{Features: []string{}, Zones: []string{}}
	if m == nil || m.Org == nil {
		return catalog.Profile{}
	}
	p.NetworkModel = string(m.Org.NetworkModel)
	p.OrgKind = string(m.Org.Kind)
	for _, f := range m.Org.Features {
		p.Features = append(p.Features, string(f))
	}
	for _, z := range catalog.Zones {
		if len(m.ZonesOfType(model.ZoneType(z))) > 0 {
			p.Zones = append(p.Zones, z)
		}
	}
	return p
}

// Requirements returns the entries that are assessed: the leaves of the
// catalog tree (a clause with sub-clauses is assessed through them) that are
// part of the current edition.
func Requirements(cat *catalog.Catalog) []*catalog.Entry {
	var out []*catalog.Entry
	for _, e := range cat.Entries() {
		if len(e.Children()) == 0 && cat.InEdition(e, Edition) {
			out = append(out, e)
		}
	}
	return out
}

// Item is the assessment of one applicable requirement.
type Item struct {
	Entry      *catalog.Entry
	Declared   Status  // as written (or inherited from a parent clause)
	Status     Status  // effective, after automatic findings
	Answer     *Answer // nil when unanswered
	AnsweredAt string  // ID of the entry the answer was written for
	Findings   []check.Finding
	Override   diag.Text // why the status was overridden
	Exceptions []*Exception
	Audit      []string            // audit finding ids
	Operations []OperationEvidence // model-rule results of the security cloud (operations.go)
	Scored     bool                // counts in the scores (mandatory, or an opted-in recommendation)
	OptedIn    bool
}

// Gap reports whether the item is short of 実施.
func (it *Item) Gap() bool {
	return it.Status == NotImplemented || it.Status == Partial || it.Status == Unanswered
}

// Excluded is an entry that does not apply to the body, with the reasons.
type Excluded struct {
	Entry   *catalog.Entry
	Reasons []catalog.Reason
}

// Score counts one section (or the whole).
type Score struct {
	Catalog     catalog.Kind
	Section     string
	Title       catalog.Text
	Scored      int // applicable, scored, not 該当なし
	Implemented int
	Partial     int
	NotImpl     int
	Unanswered  int
	NA          int
	Percent     float64
	Previous    *float64 // same section last year
}

func (s *Score) add(it *Item) {
	if !it.Scored {
		return
	}
	switch it.Status {
	case NotApplicable:
		s.NA++
		return
	case Implemented:
		s.Implemented++
	case Partial:
		s.Partial++
	case NotImplemented:
		s.NotImpl++
	default:
		s.Unanswered++
	}
	s.Scored++
}

func (s *Score) finish() {
	if s.Scored > 0 {
		s.Percent = 100 * (float64(s.Implemented) + 0.5*float64(s.Partial)) / float64(s.Scored)
	}
}

// ExceptionView is an exception with its state at "now".
type ExceptionView struct {
	*Exception
	Expired  bool
	DaysLeft int
}

// ActionView is a corrective action with its state at "now".
type ActionView struct {
	*CorrectiveAction
	Year        FiscalYear // year of the file that holds it
	CarriedOver bool       // open item from the previous year's file
	Overdue     bool
	DaysOverdue int
}

// Change is a requirement whose status moved since last year.
type Change struct {
	ID       string
	Title    catalog.Text
	From, To Status
}

// Trend compares with the previous year.
type Trend struct {
	Year      FiscalYear
	Overall   float64
	Improved  []Change
	Regressed []Change
}

// Result is the evaluated assessment.
type Result struct {
	Organization, Code, NetworkModel string
	Year                             FiscalYear
	Now                              time.Time
	Profile                          catalog.Profile
	Items                            []*Item
	Excluded                         []Excluded
	Sections                         []*Score
	Overall                          Score
	Gaps                             []*Item // mandatory first, then by severity of the status
	Exceptions                       []ExceptionView
	AuditFindings                    []AuditFinding
	Actions                          []ActionView
	Trend                            *Trend
	CheckFindings                    int
}

// Input is what Evaluate needs. Check and Previous may be nil.
type Input struct {
	Catalog    *catalog.Catalog
	Model      *model.Model
	Check      *check.Result
	Assessment *Assessment
	Previous   *Assessment
	// Operations is the security cloud's summary for the body (may be nil).
	Operations *Operations
	Now        time.Time // injectable for reproducible reports
}

// Evaluate joins the self-assessment, the automatic results and the
// applicability profile into scores, gaps and follow-ups.
func Evaluate(in Input) *Result {
	cat, a := in.Catalog, in.Assessment
	r := &Result{Year: a.FiscalYear, Now: in.Now, Profile: ProfileOf(in.Model)}
	if in.Model != nil && in.Model.Org != nil {
		r.Organization, r.Code, r.NetworkModel = in.Model.Org.Name, string(in.Model.Org.Code), string(in.Model.Org.NetworkModel)
	}
	findings := findingsByEntry(cat, in.Check)
	opsEvidence, opsFindings := operationsByEntry(in.Operations)
	if in.Check != nil {
		r.CheckFindings = len(in.Check.Findings)
	}
	exc := map[string][]*Exception{}
	for i := range a.Exceptions {
		x := &a.Exceptions[i]
		for _, id := range x.Requirements {
			exc[catalog.NormalizeID(id)] = append(exc[catalog.NormalizeID(id)], x)
		}
	}
	audit := map[string][]string{}
	for _, f := range a.Audit.Findings {
		for _, id := range f.Requirements {
			audit[catalog.NormalizeID(id)] = append(audit[catalog.NormalizeID(id)], f.ID)
		}
	}
	answers := normalizedAnswers(a)
	optIn := map[string]bool{}
	for _, id := range a.OptIn {
		optIn[catalog.NormalizeID(id)] = true
	}
	bySection := map[string]*Score{}
	for _, e := range Requirements(cat) {
		if ok, reasons := cat.AppliesTo(e, r.Profile); !ok {
			r.Excluded = append(r.Excluded, Excluded{Entry: e, Reasons: reasons})
			continue
		}
		it := &Item{Entry: e}
		for _, anc := range lineage(cat, e) {
			if it.Answer == nil {
				if ans, ok := answers[anc.ID]; ok {
					it.Answer, it.AnsweredAt, it.Declared = ans, anc.ID, ans.Status
				}
			}
			it.OptedIn = it.OptedIn || optIn[anc.ID]
			it.Exceptions = append(it.Exceptions, exc[anc.ID]...)
			it.Audit = append(it.Audit, audit[anc.ID]...)
			it.Findings = append(it.Findings, findings[anc.ID]...)
			it.Findings = append(it.Findings, opsFindings[anc.ID]...)
			it.Operations = append(it.Operations, opsEvidence[anc.ID]...)
		}
		it.Status = it.Declared
		it.Scored = e.Obligation == catalog.Mandatory || it.OptedIn
		applyFindings(it)
		r.Items = append(r.Items, it)
		key := string(e.Catalog) + "/" + e.Section
		sc := bySection[key]
		if sc == nil {
			title, _ := cat.SectionTitle(e.Catalog, e.Section)
			sc = &Score{Catalog: e.Catalog, Section: e.Section, Title: title}
			bySection[key] = sc
			r.Sections = append(r.Sections, sc)
		}
		sc.add(it)
		r.Overall.add(it)
		if it.Scored && it.Gap() {
			r.Gaps = append(r.Gaps, it)
		}
	}
	for _, s := range r.Sections {
		s.finish()
	}
	r.Overall.finish()
	slices.SortStableFunc(r.Gaps, func(x, y *Item) int {
		return cmp.Or(cmp.Compare(obligationRank(x.Entry), obligationRank(y.Entry)), cmp.Compare(x.Status.rank(), y.Status.rank()))
	})
	for i := range a.Exceptions {
		x := &a.Exceptions[i]
		days := int(x.Expires.Sub(day(in.Now)).Hours() / 24)
		r.Exceptions = append(r.Exceptions, ExceptionView{Exception: x, Expired: days < 0, DaysLeft: days})
	}
	slices.SortStableFunc(r.Exceptions, func(x, y ExceptionView) int { return x.Expires.Compare(y.Expires.Time) })
	r.AuditFindings = a.Audit.Findings
	r.Actions = actions(a, in.Previous, in.Now)
	if in.Previous != nil {
		r.Trend = trend(in, r)
	}
	return r
}

func obligationRank(e *catalog.Entry) int {
	if e.Obligation == catalog.Mandatory {
		return 0
	}
	return 1
}

// day truncates t to its calendar day in UTC.
func day(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// lineage returns e and its ancestors, nearest first.
func lineage(cat *catalog.Catalog, e *catalog.Entry) []*catalog.Entry {
	out := []*catalog.Entry{e}
	for cur := e; cur.Parent != ""; {
		p, ok := cat.Lookup(cur.Parent)
		if !ok {
			break
		}
		out = append(out, p)
		cur = p
	}
	return out
}

func normalizedAnswers(a *Assessment) map[string]*Answer {
	out := make(map[string]*Answer, len(a.Requirements))
	for id, ans := range a.Requirements {
		ans := ans
		out[catalog.NormalizeID(id)] = &ans
	}
	return out
}

// findingsByEntry indexes the check findings by the catalog IDs of RuleClauses.
func findingsByEntry(cat *catalog.Catalog, res *check.Result) map[string][]check.Finding {
	out := map[string][]check.Finding{}
	if res == nil {
		return out
	}
	for _, f := range res.Findings {
		for _, id := range RuleClauses[f.Rule] {
			out[id] = append(out[id], f)
		}
	}
	return out
}

// applyFindings lowers a declared status the model disproves: a high or
// critical finding means 未実施, a lower one 一部実施 (info findings do not
// count). An unanswered or 該当なし requirement with a finding is 未実施 too:
// the model shows the requirement applies and is not met.
func applyFindings(it *Item) {
	worst := check.Severity(-1)
	for _, f := range it.Findings {
		worst = max(worst, f.Severity)
	}
	if worst < check.Low {
		return
	}
	target := Partial
	if worst >= check.High || it.Declared == Unanswered || it.Declared == NotApplicable {
		target = NotImplemented
	}
	if it.Declared == Unanswered || it.Declared == NotApplicable || target.rank() < it.Declared.rank() {
		if it.Status == target {
			return
		}
		it.Status = target
		var rules []string
		for _, f := range it.Findings {
			if !slices.Contains(rules, f.Rule) {
				rules = append(rules, f.Rule)
			}
		}
		first := it.Findings[0]
		for _, f := range it.Findings {
			if f.Severity == worst {
				first = f
				break
			}
		}
		it.Override = diag.T(
			fmt.Sprintf("自動検査の指摘（%s）により「%s」を「%s」に変更: %s", strings.Join(rules, ", "), it.Declared.Label("ja"), target.Label("ja"), first.Message.JA),
			fmt.Sprintf("automatic check findings (%s) change %q to %q: %s", strings.Join(rules, ", "), it.Declared.Label("en"), target.Label("en"), first.Message.EN))
	}
}

// actions merges this year's corrective actions with the open ones of the
// previous year that this year's file does not restate (PDCA: an open action
// never silently disappears).
func actions(a, prev *Assessment, now time.Time) []ActionView {
	var out []ActionView
	seen := map[string]bool{}
	add := func(ca *CorrectiveAction, y FiscalYear, carried bool) {
		v := ActionView{CorrectiveAction: ca, Year: y, CarriedOver: carried}
		if ca.Status != ActionDone && day(now).After(ca.Due.Time) {
			v.Overdue = true
			v.DaysOverdue = int(day(now).Sub(ca.Due.Time).Hours() / 24)
		}
		out = append(out, v)
	}
	for i := range a.Audit.CorrectiveActions {
		ca := &a.Audit.CorrectiveActions[i]
		seen[ca.ID] = true
		add(ca, a.FiscalYear, false)
	}
	if prev != nil {
		for i := range prev.Audit.CorrectiveActions {
			ca := &prev.Audit.CorrectiveActions[i]
			if !seen[ca.ID] && ca.Status != ActionDone {
				add(ca, prev.FiscalYear, true)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y ActionView) int {
		return cmp.Or(-cmp.Compare(b2i(x.Overdue), b2i(y.Overdue)), x.Due.Compare(y.Due.Time), cmp.Compare(x.ID, y.ID))
	})
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// trend evaluates the previous year's file against the same catalog and
// profile (without automatic findings: last year's model is not at hand) and
// compares statuses requirement by requirement.
func trend(in Input, cur *Result) *Trend {
	prev := Evaluate(Input{Catalog: in.Catalog, Model: in.Model, Assessment: in.Previous, Now: in.Now})
	t := &Trend{Year: in.Previous.FiscalYear, Overall: prev.Overall.Percent}
	prevSec := map[string]float64{}
	for _, s := range prev.Sections {
		prevSec[string(s.Catalog)+"/"+s.Section] = s.Percent
	}
	for _, s := range cur.Sections {
		if p, ok := prevSec[string(s.Catalog)+"/"+s.Section]; ok {
			s.Previous = &p
		}
	}
	cur.Overall.Previous = &t.Overall
	prevStatus := make(map[string]Status, len(prev.Items))
	for _, it := range prev.Items {
		prevStatus[it.Entry.ID] = it.Status
	}
	for _, it := range cur.Items {
		ps, ok := prevStatus[it.Entry.ID]
		if !ok || ps == it.Status || !it.Scored {
			continue
		}
		c := Change{ID: it.Entry.ID, Title: it.Entry.Title, From: ps, To: it.Status}
		if it.Status.rank() > ps.rank() {
			t.Improved = append(t.Improved, c)
		} else {
			t.Regressed = append(t.Regressed, c)
		}
	}
	return t
}
