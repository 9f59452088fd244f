package assess

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
)

// OperationsKind is the kind of an operations summary.
const OperationsKind = "Operations"

// Operations is evidence "automatic from operations" (issue 8 §3): what the
// prefecture security cloud's model rules saw for one tenant over a period
// — for each rule, the events it examined and its hits. kyojin cloud
// operations writes it; kyojin assess --operations reads it. A hit
// disproves the clauses of the rule like a check finding does; a rule that
// examined events and stayed silent over the period is recorded as evidence
// of compliance for them (it supports a declaration, it never raises one).
type Operations struct {
	APIVersion   string          `json:"apiVersion"`
	Kind         string          `json:"kind"`
	Tenant       string          `json:"tenant"`
	Organization string          `json:"organization,omitempty"` // body code (団体コード) of the tenant's model
	From         time.Time       `json:"from"`
	To           time.Time       `json:"to"` // exclusive
	Rules        []OperationRule `json:"rules"`
}

// OperationRule is one rule's result over the period.
type OperationRule struct {
	Rule      string           `json:"rule"`
	Title     string           `json:"title"`
	Level     string           `json:"level"`   // of a hit that passed: critical, high, medium, low
	Clauses   []string         `json:"clauses"` // catalog IDs the rule evidences
	Evaluated int64            `json:"evaluated"`
	Hits      int64            `json:"hits"`    // violations that passed
	Blocked   int64            `json:"blocked"` // attempts the device refused
	FirstHit  *time.Time       `json:"first_hit,omitempty"`
	LastHit   *time.Time       `json:"last_hit,omitempty"`
	Alerts    []OperationAlert `json:"alerts,omitempty"` // the first hits, as evidence
}

// OperationAlert is one alert kept as evidence.
type OperationAlert struct {
	Time    time.Time `json:"time"`
	Title   string    `json:"title"`
	Level   string    `json:"level"`
	Source  string    `json:"source"`
	Host    string    `json:"host,omitempty"`
	Raw     string    `json:"raw"`
	Blocked bool      `json:"blocked,omitempty"`
}

// maxOperationsSize bounds an operations file (it is read from users).
const maxOperationsSize = 16 << 20

// ReadOperations reads and checks an operations summary against the catalog.
func ReadOperations(path string, cat *catalog.Catalog) (*Operations, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("運用の記録を開けません / cannot open the operations summary: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOperationsSize+1))
	if err != nil {
		return nil, fmt.Errorf("運用の記録を読めません / cannot read the operations summary: %w", err)
	}
	return ParseOperations(data, cat)
}

// ParseOperations decodes and checks an operations summary: unknown fields,
// wrong kind, an empty or inverted period, negative counts and clauses the
// catalog does not know are errors.
func ParseOperations(data []byte, cat *catalog.Catalog) (*Operations, error) {
	if len(data) > maxOperationsSize {
		return nil, fmt.Errorf("運用の記録が大きすぎます（上限 %d バイト） / operations summary larger than %d bytes", maxOperationsSize, maxOperationsSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var o Operations
	if err := dec.Decode(&o); err != nil {
		return nil, fmt.Errorf("運用の記録の JSON が不正です / invalid operations JSON: %w", err)
	}
	var errs []error
	if o.Kind != OperationsKind || o.APIVersion != "kyojin/v1" {
		errs = append(errs, fmt.Errorf("kind: %s / apiVersion: kyojin/v1 ではありません (got %q %q)", OperationsKind, o.Kind, o.APIVersion))
	}
	if o.From.IsZero() || !o.To.After(o.From) {
		errs = append(errs, errors.New("期間（from < to）が不正です / from must be before to"))
	}
	for _, r := range o.Rules {
		if r.Rule == "" || r.Evaluated < 0 || r.Hits < 0 || r.Blocked < 0 {
			errs = append(errs, fmt.Errorf("rule %q: 規則名か件数が不正です / bad rule id or negative count", r.Rule))
		}
		if _, err := check.ParseSeverity(r.Level); err != nil {
			errs = append(errs, fmt.Errorf("rule %s: level %q: %w", r.Rule, r.Level, err))
		}
		for _, c := range r.Clauses {
			if cat != nil {
				if _, ok := cat.Lookup(catalog.NormalizeID(c)); !ok {
					errs = append(errs, fmt.Errorf("rule %s: 条項 %q はカタログにありません / clause not in the catalog", r.Rule, c))
				}
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &o, nil
}

// OperationEvidence is what one rule's period says about an item.
type OperationEvidence struct {
	Rule      string
	From, To  time.Time
	Evaluated int64
	Hits      int64
	Blocked   int64
	Alerts    []OperationAlert
}

// Compliant reports whether the period supports the clause: events were
// examined and none passed.
func (e OperationEvidence) Compliant() bool { return e.Evaluated > 0 && e.Hits == 0 }

// Text describes the evidence in both languages.
func (e OperationEvidence) Text() diag.Text {
	period := e.From.Format(time.DateOnly) + "〜" + e.To.Add(-time.Nanosecond).Format(time.DateOnly)
	periodEN := e.From.Format(time.DateOnly) + " to " + e.To.Add(-time.Nanosecond).Format(time.DateOnly)
	switch {
	case e.Hits > 0:
		first := ""
		if len(e.Alerts) > 0 {
			a := e.Alerts[0]
			first = fmt.Sprintf(" 最初: %s %s %s", a.Time.Format(time.RFC3339), a.Host, a.Raw)
		}
		return diag.T(fmt.Sprintf("運用監視（%s）: %s が %d 件検知（%s、%d 件を検査）%s", "自治体情報セキュリティクラウド", e.Rule, e.Hits, period, e.Evaluated, first),
			fmt.Sprintf("operations (security cloud): %s fired %d times (%s, %d events examined)%s", e.Rule, e.Hits, periodEN, e.Evaluated, first))
	case e.Evaluated > 0:
		blocked := ""
		blockedEN := ""
		if e.Blocked > 0 {
			blocked = fmt.Sprintf("、遮断された試行 %d 件", e.Blocked)
			blockedEN = fmt.Sprintf(", %d attempts blocked", e.Blocked)
		}
		return diag.T(fmt.Sprintf("運用監視: %s は %s に %d 件を検査して検知なし（適合の証跡）%s", e.Rule, period, e.Evaluated, blocked),
			fmt.Sprintf("operations: %s examined %d events over %s with no hit (evidence of compliance)%s", e.Rule, e.Evaluated, periodEN, blockedEN))
	}
	return diag.T(fmt.Sprintf("運用監視: %s は %s に検査対象のログがなく、証跡になりません", e.Rule, period),
		fmt.Sprintf("operations: %s had no events to examine over %s; no evidence", e.Rule, periodEN))
}

// operationsByEntry indexes the operations evidence by catalog ID, and
// turns each rule that fired into check findings for applyFindings.
func operationsByEntry(o *Operations) (map[string][]OperationEvidence, map[string][]check.Finding) {
	ev := map[string][]OperationEvidence{}
	fs := map[string][]check.Finding{}
	if o == nil {
		return ev, fs
	}
	for _, r := range o.Rules {
		e := OperationEvidence{Rule: r.Rule, From: o.From, To: o.To, Evaluated: r.Evaluated, Hits: r.Hits, Blocked: r.Blocked, Alerts: r.Alerts}
		sev, _ := check.ParseSeverity(r.Level)
		txt := e.Text()
		for _, c := range r.Clauses {
			id := catalog.NormalizeID(c)
			ev[id] = append(ev[id], e)
			if r.Hits > 0 {
				fs[id] = append(fs[id], check.Finding{Rule: r.Rule, Severity: sev, Title: diag.T(r.Title, r.Title),
					Message: txt, Clauses: slices.Clone(r.Clauses), Objects: []string{"tenant/" + o.Tenant}})
			}
		}
	}
	return ev, fs
}

// operationLines renders an item's operations evidence in lang.
func operationLines(evs []OperationEvidence, lang string) []string {
	var out []string
	for _, e := range evs {
		t := e.Text()
		out = append(out, strings.TrimSpace(t.In(lang)))
	}
	return out
}
