package assess

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/model/modelgen"
)

// prefectureSet is a generated prefecture: models (from modelgen, at the
// minimum host and flow counts, since the assessment does not depend on the
// inventory size), their check results, and one full-year assessment file per
// body answering every applicable requirement.
type prefectureSet struct {
	models []*model.Model
	checks []*check.Result
	files  []string
}

// TestMain removes the generated prefecture after all benchmarks ran
// (b.TempDir would vanish after the first benchmark).
func TestMain(m *testing.M) {
	code := m.Run()
	if benchRoot != "" {
		os.RemoveAll(benchRoot)
	}
	os.Exit(code)
}

var (
	benchRoot  string
	benchBytes int64 // total size of the generated assessment files
	benchOnce  sync.Once
	benchSet   *prefectureSet
	benchErr   error
)

func prefecture(b *testing.B) *prefectureSet {
	b.Helper()
	benchOnce.Do(func() { benchSet, benchErr = generatePrefecture(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSet
}

func generatePrefecture(b *testing.B) (*prefectureSet, error) {
	orgs := modelgen.DefaultOrganizations
	if s := os.Getenv("KYOJIN_BENCH_ORGS"); s != "" {
		var err error
		if orgs, err = strconv.Atoi(s); err != nil {
			return nil, err
		}
	}
	root, err := os.MkdirTemp("", "kyojin-assess-bench-")
	if err != nil {
		return nil, err
	}
	benchRoot = root
	if err := modelgen.Generate(filepath.Join(root, "pref"), modelgen.Options{Seed: 1, Organizations: orgs,
		Hosts: modelgen.MinHostsPerOrg * orgs, Flows: modelgen.MinFlowsPerOrg * orgs, Issues: min(modelgen.DefaultIssues, orgs)}); err != nil {
		return nil, err
	}
	models, diags := model.LoadSet(filepath.Join(root, "pref"))
	if diags.HasErrors() {
		return nil, diags.Err()
	}
	cat, err := catalog.Default()
	if err != nil {
		return nil, err
	}
	set := &prefectureSet{models: models}
	statuses := []Status{Implemented, Implemented, Implemented, Implemented, Partial, NotImplemented}
	for i, m := range models {
		set.checks = append(set.checks, check.Run(m))
		a := &Assessment{APIVersion: "kyojin/v1", Kind: Kind, FiscalYear: 2026, Organization: string(m.Org.Code),
			Requirements: map[string]Answer{}}
		due := &Date{Time: time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC)}
		for j, u := range Units(cat, m) {
			for k, e := range u.Requirements {
				if _, dup := a.Requirements[e.ID]; dup {
					continue
				}
				st := statuses[(i+j+k)%len(statuses)]
				ans := Answer{Status: st, Owner: u.Name, Evidence: []string{fmt.Sprintf("規程集 %s 第%d条", e.ID, k+1)}}
				if st != Implemented {
					ans.Due, ans.Notes = due, "改善計画に計上"
				}
				a.Requirements[e.ID] = ans
			}
		}
		a.Exceptions = []Exception{{ID: "EX-1", Requirements: []string{"6.1(11)"}, Reason: "機器更新まで", Expires: *due}}
		a.Audit.Findings = []AuditFinding{{ID: "AF-1", Severity: Severity{check.High}, Requirements: []string{"6.5(2)"}, Title: "パッチ適用記録なし"}}
		a.Audit.CorrectiveActions = []CorrectiveAction{{ID: "CA-1", Finding: "AF-1", Action: "記録様式の整備", Owner: "情報政策課長",
			Due: Date{Time: time.Date(2026, 9, 30, 0, 0, 0, 0, time.UTC)}, Status: ActionInProgress}}
		path := filepath.Join(root, fmt.Sprintf("assessment-%03d.yaml", i))
		if err := os.WriteFile(path, Encode(cat, a), 0o644); err != nil {
			return nil, err
		}
		set.files = append(set.files, path)
		if st, err := os.Stat(path); err == nil {
			benchBytes += st.Size()
		}
	}
	return set, nil
}

// BenchmarkAssessPrefecture is the whole assessment of a prefecture: strict
// load of every body's assessment file, validation against the catalog and
// the model, and evaluation with the body's check results.
func BenchmarkAssessPrefecture(b *testing.B) {
	set := prefecture(b)
	cat, _ := catalog.Default()
	bodies := make([]Body, len(set.files))
	for i := range bodies {
		bodies[i] = Body{Model: set.models[i], Check: set.checks[i], File: set.files[i]}
	}
	cpu := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		gaps := 0
		rs, diags := EvaluateSet(cat, bodies, now)
		if diags.HasErrors() {
			b.Fatal(diags.Err())
		}
		for _, r := range rs {
			gaps += len(r.Gaps)
		}
		if gaps == 0 {
			b.Fatal("no gaps: the generated files were not evaluated")
		}
	}
	b.ReportMetric(float64(len(set.files)), "bodies")
	b.ReportMetric(float64(benchBytes)/1e6, "MB-yaml")
	b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkLoadAssessmentsOnly is the baseline: the same files, strictly
// decoded, nothing else.
func BenchmarkLoadAssessmentsOnly(b *testing.B) {
	set := prefecture(b)
	cpu := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if _, diags := LoadFiles(set.files); diags.HasErrors() {
			b.Fatal(diags.Err())
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// BenchmarkUnmarshalAssessments is a second baseline: goccy/go-yaml's plain
// Unmarshal of the same files into generic maps.
func BenchmarkUnmarshalAssessments(b *testing.B) {
	set := prefecture(b)
	cpu := cpuTime()
	b.ResetTimer()
	defer func() { b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op") }()
	for b.Loop() {
		for _, f := range set.files {
			data, err := os.ReadFile(f)
			if err != nil {
				b.Fatal(err)
			}
			var v map[string]any
			if err := yaml.Unmarshal(data, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEvaluateOnly isolates validation and evaluation of already
// loaded files (the part of the assessment that is kyojin's own work).
func BenchmarkEvaluateOnly(b *testing.B) {
	set := prefecture(b)
	cat, _ := catalog.Default()
	as, diags := LoadFiles(set.files)
	if diags.HasErrors() {
		b.Fatal(diags.Err())
	}
	cpu := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		for i, a := range as {
			Validate(cat, set.models[i], a, nil)
			Evaluate(Input{Catalog: cat, Model: set.models[i], Check: set.checks[i], Assessment: a, Now: now})
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu).Milliseconds())/float64(b.N), "cpu-ms/op")
}
