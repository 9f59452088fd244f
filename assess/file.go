package assess

import (
	"fmt"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/strictyaml"
	"github.com/kyojin/kyojin/wareki"
)

// Kind is the document kind of an assessment file.
const Kind = "Assessment"

// maxFileSize bounds an assessment file: it comes from users and workbooks.
const maxFileSize = 8 << 20

// Status is the self-declared (or effective) state of one requirement.
type Status string

// Statuses, in the order of the guideline's self-inspection sheets.
const (
	Implemented    Status = "implemented"     // 実施
	Partial        Status = "partial"         // 一部実施
	NotImplemented Status = "not-implemented" // 未実施
	NotApplicable  Status = "not-applicable"  // 該当なし
	Unanswered     Status = ""                // 未回答 (not in the file)
)

// Statuses lists the statuses a user may write, in display order.
var Statuses = []Status{Implemented, Partial, NotImplemented, NotApplicable}

var statusJA = map[Status]string{Implemented: "実施", Partial: "一部実施", NotImplemented: "未実施", NotApplicable: "該当なし", Unanswered: "未回答"}
var statusEN = map[Status]string{Implemented: "implemented", Partial: "partial", NotImplemented: "not implemented", NotApplicable: "not applicable", Unanswered: "unanswered"}

// Label returns the display name of s in lang.
func (s Status) Label(lang string) string {
	if lang == "en" {
		return statusEN[s]
	}
	return statusJA[s]
}

// ParseStatus accepts the Japanese labels and the English names.
func ParseStatus(s string) (Status, bool) {
	s = strings.TrimSpace(s)
	for _, st := range Statuses {
		if s == string(st) || s == statusJA[st] || strings.EqualFold(s, statusEN[st]) {
			return st, true
		}
	}
	return "", false
}

// UnmarshalText implements encoding.TextUnmarshaler for strictyaml.
func (s *Status) UnmarshalText(b []byte) error {
	st, ok := ParseStatus(string(b))
	if !ok {
		return &strictyaml.ValueError{
			Msg:  diag.T(fmt.Sprintf("状態 %q は使えません", string(b)), fmt.Sprintf("unknown status %q", string(b))),
			Hint: diag.T("実施・一部実施・未実施・該当なし（implemented, partial, not-implemented, not-applicable）のいずれかを書いてください", "use 実施, 一部実施, 未実施, 該当なし (implemented, partial, not-implemented, not-applicable)")}
	}
	*s = st
	return nil
}

// score is the weight of a status in the scores.
func (s Status) score() float64 {
	switch s {
	case Implemented:
		return 1
	case Partial:
		return 0.5
	}
	return 0
}

// rank orders statuses from worst to best (used to combine department answers).
func (s Status) rank() int {
	switch s {
	case Unanswered:
		return 0
	case NotImplemented:
		return 1
	case Partial:
		return 2
	case Implemented:
		return 3
	}
	return 4 // not applicable
}

// Date is a calendar date written YYYY-MM-DD (the model's date type).
type Date = model.Date

// FiscalYear is a Japanese fiscal year (年度), April to March, stored as the
// Gregorian year it starts in.
type FiscalYear int

var fyPattern = regexp.MustCompile(`^(?:令和|R)(元|[0-9]{1,2})(?:年度)?$`)

// UnmarshalText accepts 2026, 令和8年度, 令和8, R8.
func (y *FiscalYear) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if n, err := strconv.Atoi(s); err == nil && n >= 2000 && n <= 2200 {
		*y = FiscalYear(n)
		return nil
	}
	if m := fyPattern.FindStringSubmatch(s); m != nil {
		n := 1
		if m[1] != "元" {
			n, _ = strconv.Atoi(m[1])
		}
		if n >= 1 {
			*y = FiscalYear(2018 + n)
			return nil
		}
	}
	return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("年度 %q を解釈できません", s), fmt.Sprintf("cannot parse fiscal year %q", s)),
		Hint: diag.T("2026 または 令和8年度 のように書いてください", "write 2026 or 令和8年度")}
}

// Label is the 和暦 fiscal year, e.g. 令和8年度 (FY2026 in English).
func (y FiscalYear) Label(lang string) string {
	if lang == "en" {
		return fmt.Sprintf("FY%d", int(y))
	}
	d, err := wareki.Of(time.Date(int(y), time.April, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return fmt.Sprintf("%d年度", int(y))
	}
	return strings.TrimSuffix(d.YearString(), "年") + "年度"
}

// Start and End bound the fiscal year (End is the first day of the next one).
func (y FiscalYear) Start() time.Time { return time.Date(int(y), time.April, 1, 0, 0, 0, 0, time.UTC) }

// Severity of an audit finding; the scale of check findings.
type Severity struct{ check.Severity }

// UnmarshalText accepts info..critical or 情報..重大.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := check.ParseSeverity(strings.TrimSpace(string(b)))
	if err != nil {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("重大度 %q は使えません", string(b)), err.Error()),
			Hint: diag.T("重大・高・中・低・情報（critical, high, medium, low, info）のいずれか", "critical, high, medium, low or info")}
	}
	s.Severity = v
	return nil
}

// ActionStatus is the progress of a corrective action.
type ActionStatus string

// Action statuses.
const (
	ActionOpen       ActionStatus = "open"        // 未着手
	ActionInProgress ActionStatus = "in-progress" // 対応中
	ActionDone       ActionStatus = "done"        // 完了
)

var actionJA = map[ActionStatus]string{ActionOpen: "未着手", ActionInProgress: "対応中", ActionDone: "完了"}

// Label returns the display name in lang.
func (a ActionStatus) Label(lang string) string {
	if lang == "en" {
		return string(a)
	}
	return actionJA[a]
}

// UnmarshalText accepts the English names and the Japanese labels.
func (a *ActionStatus) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	for k, ja := range actionJA {
		if s == string(k) || s == ja {
			*a = k
			return nil
		}
	}
	return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("対応状況 %q は使えません", s), fmt.Sprintf("unknown action status %q", s)),
		Hint: diag.T("未着手・対応中・完了（open, in-progress, done）のいずれか", "open, in-progress or done")}
}

// Answer is the self-assessment of one requirement.
type Answer struct {
	strictyaml.Meta `yaml:"-"`
	Status          Status   `yaml:"status,required"`
	Reason          string   `yaml:"reason"` // mandatory for 該当なし
	Evidence        []string `yaml:"evidence"`
	Owner           string   `yaml:"owner"`
	Due             *Date    `yaml:"due"`
	Notes           string   `yaml:"notes"`
}

// Exception is an approved deviation (例外措置, standards 9.2(3)).
type Exception struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Requirements    []string `yaml:"requirements,required"`
	Reason          string   `yaml:"reason,required"`
	ApprovedBy      string   `yaml:"approved_by"`
	Approved        *Date    `yaml:"approved"`
	Expires         Date     `yaml:"expires,required"`
	Measures        string   `yaml:"measures"` // compensating measures
}

// AuditFinding is a finding of an internal or external audit (9.1).
type AuditFinding struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Date            *Date    `yaml:"date"`
	Auditor         string   `yaml:"auditor"`
	Severity        Severity `yaml:"severity,required"`
	Requirements    []string `yaml:"requirements,required"`
	Title           string   `yaml:"title,required"`
	Detail          string   `yaml:"detail"`
}

// CorrectiveAction is an item of the improvement plan (改善計画, 9.1(7)).
type CorrectiveAction struct {
	strictyaml.Meta `yaml:"-"`
	ID              string       `yaml:"id,required"`
	Finding         string       `yaml:"finding"` // audit finding id, possibly of an earlier year
	Requirements    []string     `yaml:"requirements"`
	Action          string       `yaml:"action,required"`
	Owner           string       `yaml:"owner,required"`
	Due             Date         `yaml:"due,required"`
	Status          ActionStatus `yaml:"status,required"`
	Completed       *Date        `yaml:"completed"`
	Notes           string       `yaml:"notes"`
}

// Audit groups the audit results of the year.
type Audit struct {
	strictyaml.Meta   `yaml:"-"`
	Findings          []AuditFinding     `yaml:"findings"`
	CorrectiveActions []CorrectiveAction `yaml:"corrective_actions"`
}

// Assessment is one fiscal year's assessment file.
type Assessment struct {
	strictyaml.Meta `yaml:"-"`
	APIVersion      string            `yaml:"apiVersion,required"`
	Kind            string            `yaml:"kind,required"`
	FiscalYear      FiscalYear        `yaml:"fiscal_year,required"`
	Organization    string            `yaml:"organization"` // body code, checked against the model
	AssessedAt      *Date             `yaml:"assessed_at"`
	Assessor        string            `yaml:"assessor"`
	OptIn           []string          `yaml:"opt_in"` // recommended (【推奨事項】) entries the body adopts
	Requirements    map[string]Answer `yaml:"requirements"`
	Exceptions      []Exception       `yaml:"exceptions"`
	Audit           Audit             `yaml:"audit"`

	// File is the path the assessment was read from.
	File string `yaml:"-"`
}

// LoadFile reads and decodes an assessment file strictly. Semantic checks
// against the catalog are done by Validate.
func LoadFile(path string) (*Assessment, diag.List) {
	var diags diag.List
	st, err := os.Stat(path)
	if err == nil && st.Size() > maxFileSize {
		err = fmt.Errorf("file larger than %d bytes", maxFileSize)
	}
	var data []byte
	if err == nil {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		diags.Add(diag.Diagnostic{File: path, Severity: diag.Error, Code: "read",
			Msg: diag.T("評価ファイルを読み込めません: "+err.Error(), "cannot read the assessment file: "+err.Error())})
		return nil, diags
	}
	return Parse(path, data)
}

// Parse decodes an assessment from data. The result is nil when diags hold errors.
func Parse(file string, data []byte) (a *Assessment, diags diag.List) {
	defer func() {
		// Hostile input must never take the process down: fail closed.
		if r := recover(); r != nil {
			a = nil
			diags.Add(diag.Diagnostic{File: file, Line: 1, Col: 1, Severity: diag.Error, Code: "internal",
				Msg: diag.T("評価ファイルを解釈できません", "the assessment file cannot be decoded")})
		}
	}()
	if len(data) > maxFileSize {
		diags.Add(diag.Diagnostic{File: file, Severity: diag.Error, Code: "size", Msg: diag.T("ファイルが大きすぎます", "file too large")})
		return nil, diags
	}
	a = &Assessment{File: file}
	strictyaml.DecodeBytes(file, data, a, &diags)
	if diags.HasErrors() {
		return nil, diags
	}
	if a.APIVersion != "kyojin/v1" {
		diags.Add(a.Diag(diag.Error, "", "apiVersion", "api-version",
			diag.T(fmt.Sprintf("apiVersion %q は読めません", a.APIVersion), fmt.Sprintf("unsupported apiVersion %q", a.APIVersion)),
			diag.T("apiVersion: kyojin/v1 と書いてください", "write apiVersion: kyojin/v1")))
	}
	if a.Kind != Kind {
		diags.Add(a.Diag(diag.Error, "", "kind", "kind",
			diag.T(fmt.Sprintf("kind %q は評価ファイルではありません", a.Kind), fmt.Sprintf("kind %q is not an assessment", a.Kind)),
			diag.T("kind: Assessment と書いてください", "write kind: Assessment")))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return a, diags
}

// LoadFiles loads many assessment files (a prefecture's bodies) in parallel
// over GOMAXPROCS workers. Results are in the order of paths; an entry is nil
// when its file has errors, which are all in the returned list.
func LoadFiles(paths []string) ([]*Assessment, diag.List) {
	out := make([]*Assessment, len(paths))
	lists := make([]diag.List, len(paths))
	parallel(len(paths), func(i int) { out[i], lists[i] = LoadFile(paths[i]) })
	return out, concat(lists)
}

// Body is one body of a set assessed together (a prefecture's municipalities).
type Body struct {
	Model *model.Model
	Check *check.Result
	File  string
}

// EvaluateSet loads, validates and evaluates every body's assessment file in
// parallel over GOMAXPROCS workers. Results are in input order; a result is
// nil when its file has errors, which are all in the returned list.
func EvaluateSet(cat *catalog.Catalog, bodies []Body, now time.Time) ([]*Result, diag.List) {
	out := make([]*Result, len(bodies))
	lists := make([]diag.List, len(bodies))
	parallel(len(bodies), func(i int) {
		b := bodies[i]
		a, d := LoadFile(b.File)
		if a != nil {
			d.Append(Validate(cat, b.Model, a, nil))
		}
		lists[i] = d
		if a != nil && !d.HasErrors() {
			out[i] = Evaluate(Input{Catalog: cat, Model: b.Model, Check: b.Check, Assessment: a, Now: now})
		}
	})
	return out, concat(lists)
}

// parallel runs f(0..n-1) over GOMAXPROCS workers.
func parallel(n int, f func(i int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				f(i)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
}

func concat(lists []diag.List) diag.List {
	var all diag.List
	for _, l := range lists {
		all.Append(l)
	}
	return all
}
