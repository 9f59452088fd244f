package catalog

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

func mustDefault(t testing.TB) *Catalog {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatalf("embedded catalog does not load:\n%v", err)
	}
	return c
}

// TestAllClausesPresent fails if any clause or sub-clause of sections 1-9 (the list compiled
// from the seed text) is missing, and if the catalog has a baseline ID the text lacks.
func TestAllClausesPresent(t *testing.T) {
	c := mustDefault(t)
	want := readList(t, clausesFile)
	if len(want) < 400 {
		t.Fatalf("%s has only %d IDs; it should hold every clause of sections 1-9", clausesFile, len(want))
	}
	for _, id := range want {
		e, ok := c.Lookup(id)
		if !ok {
			t.Errorf("clause %s is missing from the catalog", id)
			continue
		}
		if e.Catalog != Guideline || e.Introduced() != "H30.9" {
			t.Errorf("clause %s: want a guideline entry from the H30.9 baseline, got %s/%s", id, e.Catalog, e.Introduced())
		}
	}
	for _, e := range c.Select(Filter{Catalog: Guideline}) {
		if !strings.Contains(e.ID, "@") && !slices.Contains(want, e.ID) {
			t.Errorf("catalog entry %s is not a clause of the H30.9 text (later additions need an @edition suffix)", e.ID)
		}
	}
	// Every (n) clause number per section is contiguous from 1: a gap means a lost clause.
	last := map[string]int{}
	for _, id := range want {
		info, _ := parseID(Guideline, id)
		if !info.clause || !strings.HasSuffix(id, ")") {
			continue
		}
		sec := info.section
		if info.subsection != "" {
			sec = info.subsection
		}
		var n int
		for _, r := range id[strings.LastIndex(id, "(")+1 : len(id)-1] {
			n = n*10 + int(r-'0')
		}
		if n != last[sec]+1 {
			t.Errorf("clause numbering of %s jumps from %d to %d", sec, last[sec], n)
		}
		last[sec] = n
	}
}

func TestRecommendedMatchesText(t *testing.T) {
	c := mustDefault(t)
	want := readList(t, recommendedFile)
	for _, e := range c.Select(Filter{Catalog: Guideline}) {
		if strings.Contains(e.ID, "@") {
			continue
		}
		marked := slices.Contains(want, e.ID)
		// A clause whose every sub-clause is recommended is itself recommended.
		allKids := len(e.children) > 0
		for _, k := range e.children {
			if kid, _ := c.Lookup(k); kid.Obligation != Recommended {
				allKids = false
			}
		}
		if got := e.Obligation == Recommended; got != (marked || allKids) {
			t.Errorf("%s: obligation %s, but the text marks it 【推奨事項】=%v", e.ID, e.Obligation, marked)
		}
	}
}

func TestEntriesComplete(t *testing.T) {
	c := mustDefault(t)
	seen := map[string]bool{}
	for _, e := range c.Entries() {
		if seen[e.ID] {
			t.Errorf("duplicate ID %s", e.ID)
		}
		seen[e.ID] = true
		if e.Parent != "" {
			p, ok := c.Lookup(e.Parent)
			if !ok {
				t.Errorf("%s: parent %s does not exist", e.ID, e.Parent)
			} else if !slices.Contains(p.Children(), e.ID) {
				t.Errorf("%s: parent %s does not list it as a child", e.ID, e.Parent)
			}
		}
		if strings.TrimSpace(e.Title.JA) == "" || strings.TrimSpace(e.Summary.JA) == "" {
			t.Errorf("%s: missing Japanese title or summary", e.ID)
		}
		if e.Title.EN == "" || e.Summary.EN == "" {
			t.Errorf("%s: missing English title or summary", e.ID)
		}
		if len(e.Roles) == 0 {
			t.Errorf("%s: no responsible role", e.ID)
		}
		if len(e.Verification) == 0 {
			t.Errorf("%s: no verification method", e.ID)
		}
		if e.Section == "" {
			t.Errorf("%s: no section", e.ID)
		}
		if strings.Contains(e.ID, "@") {
			ed := e.ID[strings.Index(e.ID, "@")+1:]
			if e.Introduced() != ed {
				t.Errorf("%s: introduced in %s, but the ID says %s", e.ID, e.Introduced(), ed)
			}
			if !slices.ContainsFunc(e.Editions, func(c EditionChange) bool { return c.Note != "" }) {
				t.Errorf("%s: a later-edition entry must explain its placement in a note", e.ID)
			}
		}
	}
}

func TestCounts(t *testing.T) {
	c := mustDefault(t)
	want := map[Kind]int{Ransomware: 11}
	for k, n := range want {
		if got := len(c.Select(Filter{Catalog: k})); got != n {
			t.Errorf("%s: %d entries, want %d", k, got, n)
		}
	}
	// Reference 5 has categories No.1-11.
	var r5 int
	for _, e := range c.Select(Filter{Catalog: Resilience}) {
		if e.Parent == "" {
			r5++
		}
	}
	if r5 != 11 {
		t.Errorf("resilience: %d categories, want 11", r5)
	}
	// Later editions named by seeds 001 and 003 are all present.
	for _, id := range []string{"3(1)@R2.12", "3(2)@R2.12", "6.2(2)@R2.12", "6.1(13)@R2.12",
		"5.1(1)④@R4.3", "6.1@R4.3", "8.2@R4.3", "8.2@R6.10", "6.3(1)@R6.10", "6.2(1)@R6.10",
		"6.1(8)@R6.10", "6.1(6)@R6.10", "3@R7.3", "3(1)@R7.3", "6.1(13)@R7.3"} {
		if _, ok := c.Lookup(id); !ok {
			t.Errorf("later-edition entry %s missing", id)
		}
	}
}

func TestLookupNormalizes(t *testing.T) {
	c := mustDefault(t)
	for _, in := range []string{"6.1(14)③", "６．１（１４）③", " 6.1(14)③ "} {
		e, ok := c.Lookup(in)
		if !ok || e.ID != "6.1(14)③" {
			t.Errorf("Lookup(%q) = %v, %v", in, e, ok)
		}
	}
	if _, ok := c.Lookup("6.1(99)"); ok {
		t.Error("Lookup of an unknown ID succeeded")
	}
}

func TestSelect(t *testing.T) {
	c := mustDefault(t)
	tests := []struct {
		name  string
		f     Filter
		check func(*Entry) bool
		min   int
	}{
		{"section 6 includes subsections", Filter{Section: "6"}, func(e *Entry) bool { return e.Section == "6" }, 150},
		{"subsection 6.1 only", Filter{Section: "6.1"}, func(e *Entry) bool { return e.Subsection == "6.1" }, 60},
		{"recommended", Filter{Obligation: Recommended}, func(e *Entry) bool { return e.Obligation == Recommended }, 16},
		{"vendor", Filter{Catalog: Vendor}, func(e *Entry) bool { return e.Catalog == Vendor }, 10},
		{"edition H30.9 has no additions", Filter{Catalog: Guideline, Edition: "H30.9"}, func(e *Entry) bool { return !strings.Contains(e.ID, "@") }, 434},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Select(tt.f)
			if len(got) < tt.min {
				t.Errorf("%d entries, want at least %d", len(got), tt.min)
			}
			for _, e := range got {
				if !tt.check(e) {
					t.Errorf("entry %s should not match", e.ID)
				}
			}
		})
	}
	if n := len(c.Select(Filter{Catalog: Guideline, Edition: "R7.3"})); n != len(c.Select(Filter{Catalog: Guideline})) {
		t.Errorf("R7.3 edition: %d entries, want all guideline entries", n)
	}
}

func TestAppliesTo(t *testing.T) {
	c := mustDefault(t)
	none := []string{}
	tests := []struct {
		id      string
		p       Profile
		applies bool
		reason  string // substring of the English reason
	}{
		{"3(2)@R2.12", Profile{NetworkModel: "alpha"}, false, "network model alpha: entry applies only to beta, beta-prime"},
		{"3(2)@R2.12", Profile{NetworkModel: "beta-prime"}, true, ""},
		{"3@R7.3", Profile{NetworkModel: "beta"}, false, "entry applies only to alpha-prime"},
		{"3(3)②", Profile{OrgKind: "prefecture"}, false, "organization kind prefecture"},
		{"3(3)②", Profile{OrgKind: "town"}, true, ""},
		{"8.3①(ア)", Profile{Features: none}, false, "feature social-media not used"},
		{"8.3①(ア)", Profile{Features: []string{"social-media"}}, true, ""},
		{"8.3①(ア)", Profile{}, true, ""}, // features unknown: not checked
		{"6.2(2)@R2.12", Profile{Features: []string{"telework"}, Zones: []string{"mynumber", "internet"}}, false, "no lgwan zone"},
		{"6.2(2)@R2.12", Profile{Features: []string{"telework", "wireless-lan"}, Zones: Zones}, true, ""},
		{"1(1)①", Profile{NetworkModel: "alpha", OrgKind: "village", Features: none, Zones: Zones}, true, ""},
		// Sub-clauses inherit: 6.2(2)⑤ states its own features; its clause 6.2(2) needs telework.
		{"6.2(2)⑤", Profile{Features: []string{"mobile-devices"}}, false, "feature telework not used"},
		{"R5-01①", Profile{Zones: []string{"lgwan", "internet"}}, false, "no mynumber zone"},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			e, ok := c.Lookup(tt.id)
			if !ok {
				t.Fatalf("no entry %s", tt.id)
			}
			got, reasons := c.AppliesTo(e, tt.p)
			if got != tt.applies {
				t.Fatalf("AppliesTo = %v (reasons %v), want %v", got, reasons, tt.applies)
			}
			if tt.reason == "" {
				if len(reasons) != 0 {
					t.Errorf("unexpected reasons %v", reasons)
				}
				return
			}
			var all []string
			for _, r := range reasons {
				all = append(all, r.Text.EN)
				if r.Text.JA == "" {
					t.Errorf("reason %q has no Japanese text", r.Text.EN)
				}
			}
			if !strings.Contains(strings.Join(all, "\n"), tt.reason) {
				t.Errorf("reasons %q do not mention %q", all, tt.reason)
			}
		})
	}
	// An α body is never asked β' requirements.
	alpha := c.Select(Filter{Profile: &Profile{NetworkModel: "alpha"}})
	for _, e := range alpha {
		if len(e.Applies.NetworkModels) > 0 && !slices.Contains(e.Applies.NetworkModels, "alpha") {
			t.Errorf("%s selected for an alpha body but applies to %v", e.ID, e.Applies.NetworkModels)
		}
	}
}

// TestBadFiles loads each testdata/*.bad.yaml on its own and checks that the loader reports
// exactly the errors listed in the file's "# want:" comment lines, all at once.
func TestBadFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.bad.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var wants []string
			for _, l := range strings.Split(string(b), "\n") {
				if w, ok := strings.CutPrefix(l, "# want: "); ok {
					wants = append(wants, w)
				}
			}
			if len(wants) == 0 {
				t.Fatal("bad file has no '# want:' lines")
			}
			_, err = Load([]string{f}, map[string][]byte{f: b})
			if err == nil {
				t.Fatal("loaded without error")
			}
			var les LoadErrors
			if !asLoadErrors(err, &les) {
				t.Fatalf("error is %T, want LoadErrors", err)
			}
			for _, w := range wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
			if len(les) != len(wants) {
				t.Errorf("%d errors, want %d:\n%v", len(les), len(wants), err)
			}
		})
	}
}

func asLoadErrors(err error, les *LoadErrors) bool {
	v, ok := err.(LoadErrors)
	if ok {
		*les = v
	}
	return ok
}

func FuzzLoad(f *testing.F) {
	// Small seeds only: the fuzzer minimises every interesting input, which is slow for the
	// 60 KB data files.
	seeds, _ := filepath.Glob("testdata/*.bad.yaml")
	for _, p := range seeds {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("catalog: guideline\nentries: [&a {id: x}, *a]\n"))
	f.Add([]byte("{"))
	f.Add([]byte("catalog: guideline\nsections: [{id: \"1\", title: {ja: 組織}}]\nentries:\n" +
		"  - {id: 1(1), title: {ja: 題, en: T}, summary: {ja: 要}, role: ciso, verification: [evidence]}\n" +
		"  - {id: 1(1)①, title: {ja: 題}, summary: {ja: 要}, applies: {zones: [lgwan]}}\n" +
		"  - {id: 1(1)@R4.3, title: {ja: 題}, summary: {ja: 要}, role: ciso, verification: [model], editions: [{edition: R4.3, change: added}]}\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		const name = "fuzz.yaml"
		c, err := Load([]string{name}, map[string][]byte{name: b})
		if err != nil {
			if _, ok := err.(LoadErrors); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		for _, e := range c.Entries() {
			if e.ID == "" || e.Title.JA == "" || len(e.Roles) == 0 || len(e.Verification) == 0 {
				t.Fatalf("loaded an incomplete entry %+v", e)
			}
			if got, ok := c.Lookup(e.ID); !ok || got != e {
				t.Fatalf("entry %s not found by Lookup", e.ID)
			}
		}
	})
}

func BenchmarkLoadEmbedded(b *testing.B) {
	for b.Loop() {
		if _, err := LoadFS(dataFS, "data"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineUnmarshal is the baseline for BenchmarkLoadEmbedded: plain, non-strict
// decoding of the same files into generic values with goccy/go-yaml.
func BenchmarkBaselineUnmarshal(b *testing.B) {
	names, _ := fs.Glob(dataFS, "data/*.yaml")
	files := make([][]byte, len(names))
	for i, n := range names {
		files[i], _ = fs.ReadFile(dataFS, n)
	}
	for b.Loop() {
		for _, f := range files {
			var v any
			if err := yaml.Unmarshal(f, &v); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func BenchmarkSelectProfile(b *testing.B) {
	c := mustDefault(b)
	p := &Profile{NetworkModel: "alpha", OrgKind: "town", Features: []string{"telework"}, Zones: Zones}
	for b.Loop() {
		if len(c.Select(Filter{Profile: p})) == 0 {
			b.Fatal("nothing selected")
		}
	}
}
