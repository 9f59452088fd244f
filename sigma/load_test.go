package sigma

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDir is the third-party data folder (see /work/shared/data/README.md).
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	if d := sharedDirOrEmpty(sub); d != "" {
		return d
	}
	t.Skipf("shared data logs/%s absent (../shared/data next to the repo); skipping", sub)
	return ""
}

// mapEvent is a map-backed Event for tests.
type mapEvent map[string]string

func (m mapEvent) Get(f string) (string, bool) { v, ok := m[f]; return v, ok }
func (m mapEvent) Range(fn func(f, v string) bool) {
	for k, v := range m {
		if !fn(k, v) {
			return
		}
	}
}

func TestLoadSharedRules(t *testing.T) {
	dir := sharedDir(t, "sigma")
	set, errs, err := LoadDir(filepath.Join(dir, "rules"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range errs {
		t.Errorf("rules/: %v", e)
	}
	// 78 rule files under rules/ (SigmaHQ @ 8eaafff1); every one must load.
	if len(set.Rules) != 78 {
		t.Errorf("loaded %d rules from rules/, want 78", len(set.Rules))
	}
	for _, r := range set.Rules {
		if r.ID == "" || r.Author == "" || r.Level == "" {
			t.Errorf("%s: metadata lost: id=%q author=%q level=%q", r.File, r.ID, r.Author, r.Level)
		}
		if !strings.Contains(r.Credit(), r.Author) {
			t.Errorf("%s: credit %q lacks the author", r.File, r.Credit())
		}
	}
	uset, uerrs, err := LoadDir(filepath.Join(dir, "unsupported"), nil)
	if err != nil {
		t.Fatal(err)
	}
	agg := 0
	for _, r := range uset.Rules {
		if r.Aggregation != nil {
			agg++
		}
	}
	for _, e := range uerrs {
		if !errors.Is(e, ErrUnsupported) {
			t.Errorf("unsupported/: %v is not reported as unsupported", e)
		}
		t.Logf("reported: %v", e)
	}
	t.Logf("unsupported/: %d loaded (%d with aggregation), %d reported", len(uset.Rules), agg, len(uerrs))
	// 13 files: 9 aggregation rules load as correlations (and fire, see
	// TestUnsupportedAggregationsFire); 4 are reported unsupported.
	if len(uset.Rules) != 9 || agg != 9 || len(uerrs) != 4 {
		t.Errorf("unsupported/: %d loaded (%d aggregations) + %d reported, want 9 (9) + 4", len(uset.Rules), agg, len(uerrs))
	}
}

func errorsIsUnsupported(err error) bool { return errors.Is(err, ErrUnsupported) }

func TestLoadDirDuplicateID(t *testing.T) {
	dir := t.TempDir()
	rule := "title: t\nid: same\nlogsource: {category: proxy}\ndetection: {s: {f: a}, condition: s}\n"
	for _, n := range []string{"a.yml", "b.yaml"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(rule), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a rule"), 0o644)
	set, errs, err := LoadDir(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Rules) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "b.yaml: duplicate id same (already loaded from") {
		t.Fatalf("rules %d, errs %v", len(set.Rules), errs)
	}
}
