package catalog

import (
	"bufio"
	"flag"
	"index/suffixarray"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The expected clause list is compiled from the guideline text itself (seed 004, the example
// standards at lines 1295-3800), independently of the catalog data: run
//
//	go test ./catalog -run TestSeedClauseList -update-clauses
//
// with the seeds at ../../shared/seeds (or KYOJIN_SEEDS=dir) to regenerate
// testdata/clauses-h30.9.txt and testdata/recommended-h30.9.txt.
var updateClauses = flag.Bool("update-clauses", false, "regenerate testdata/clauses-h30.9.txt from the seed text")

const (
	seedFile        = "004_832736aab405b508.txt"
	standardsFirst  = 1295
	standardsLast   = 3800
	clausesFile     = "testdata/clauses-h30.9.txt"
	recommendedFile = "testdata/recommended-h30.9.txt"
)

// headings lists the section and subsection headings of the standards in document order. In
// the extracted text the heading numbers were lost; the numbers here come from the
// commentary part (lines 4381-11630, e.g. "6.1. コンピュータ及びネットワークの管理") and the
// authority table (lines 12191-13213). clauseless marks subsections without "(n)" clauses.
var headings = []struct {
	id, text   string
	clauseless bool
}{
	{"1", "組織体制", false},
	{"2", "情報資産の分類と管理", false},
	{"3", "情報システム全体の強靭性の向上", false},
	{"4", "物理的セキュリティ", false},
	{"4.1", "サーバ等の管理", false},
	{"4.2", "管理区域（情報システム室等）の管理", false},
	{"4.3", "通信回線及び通信回線装置の管理", true},
	{"4.4", "職員等の利用する端末や電磁的記録媒体等の管理", true},
	{"5", "人的セキュリティ", false},
	{"5.1", "職員等の遵守事項", false},
	{"5.2", "研修・訓練", false},
	{"5.3", "情報セキュリティインシデントの報告", false},
	{"5.4", "ID 及びパスワード等の管理", false},
	{"6", "技術的セキュリティ", false},
	{"6.1", "コンピュータ及びネットワークの管理", false},
	{"6.2", "アクセス制御", false},
	{"6.3", "システム開発、導入、保守等", false},
	{"6.4", "不正プログラム対策", false},
	{"6.5", "不正アクセス対策", false},
	{"6.6", "セキュリティ情報の収集", false},
	{"7", "運用", false},
	{"7.1", "情報システムの監視", true},
	{"7.2", "情報セキュリティポリシーの遵守状況の確認", false},
	{"7.3", "侵害時の対応等", false},
	{"7.4", "例外措置", false},
	{"7.5", "法令遵守", true},
	{"7.6", "懲戒処分等", false},
	{"8", "外部サービスの利用", false},
	{"8.1", "外部委託", false},
	{"8.2", "約款による外部サービスの利用", false},
	{"8.3", "ソーシャルメディアサービスの利用", true},
	{"9", "評価・見直し", false},
	{"9.1", "監査", false},
	{"9.2", "自己点検", false},
	{"9.3", "情報セキュリティポリシー及び関係規程等の見直し", true},
}

var (
	seedClause = regexp.MustCompile(`^[(（]([０-９0-9]+)[)）]`)
	seedCircle = regexp.MustCompile(`^([①-⑳])`)
	seedKana   = regexp.MustCompile(`^[(（]([ア-ン])[)）]`)
	fullDigits = strings.NewReplacer("０", "0", "１", "1", "２", "2", "３", "3", "４", "4", "５", "5", "６", "6", "７", "7", "８", "8", "９", "9")
)

func seedDir() string {
	if d := os.Getenv("KYOJIN_SEEDS"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "shared", "seeds")
}

// readSeedLines returns lines first..last (1-based) of the guideline seed, or skips.
func readSeedLines(t testing.TB, first, last int) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(seedDir(), seedFile))
	if err != nil {
		t.Skipf("seed text not available (%v); set KYOJIN_SEEDS to the seeds directory", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if n >= first && n <= last {
			out = append(out, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// extractClauses walks the standards text and returns every clause and sub-clause ID in
// document order, plus the IDs whose text carries 【推奨事項】.
func extractClauses(lines []string) (ids, recommended []string, missing []string) {
	hi := 0
	var section, clause, circle, cur string
	text := map[string]*strings.Builder{}
	add := func(id string) {
		ids = append(ids, id)
		cur = id
		text[id] = &strings.Builder{}
	}
	for _, raw := range lines {
		l := strings.TrimSpace(raw)
		if l == "" {
			continue
		}
		if hi < len(headings) && (l == headings[hi].text || (headings[hi].clauseless && strings.HasPrefix(l, headings[hi].text) && (headings[hi].id == "7.5" || headings[hi].id == "9.3"))) {
			h := headings[hi]
			hi++
			section, clause, circle, cur = h.id, "", "", ""
			if h.clauseless {
				clause = h.id
				add(h.id)
				text[h.id].WriteString(strings.TrimPrefix(l, h.text))
			}
			continue
		}
		switch {
		case seedClause.MatchString(l) && section != "":
			n := fullDigits.Replace(seedClause.FindStringSubmatch(l)[1])
			clause, circle = section+"("+n+")", ""
			add(clause)
		case seedCircle.MatchString(l) && clause != "":
			circle = clause + seedCircle.FindStringSubmatch(l)[1]
			add(circle)
		case seedKana.MatchString(l) && circle != "":
			add(circle + "(" + seedKana.FindStringSubmatch(l)[1] + ")")
		}
		if cur != "" {
			text[cur].WriteString(l)
		}
	}
	for _, h := range headings[hi:] {
		missing = append(missing, h.id)
	}
	for _, id := range ids {
		if strings.Contains(strings.Join(strings.Fields(text[id].String()), ""), "【推奨事項】") {
			recommended = append(recommended, id)
		}
	}
	return ids, recommended, missing
}

func readList(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestSeedClauseList re-derives the clause list from the seed (when present) and checks the
// committed testdata list matches it, so the list cannot drift from the source.
func TestSeedClauseList(t *testing.T) {
	lines := readSeedLines(t, standardsFirst, standardsLast)
	ids, rec, missing := extractClauses(lines)
	if len(missing) > 0 {
		t.Fatalf("headings not found in the seed text: %v", missing)
	}
	header := "# Clause and sub-clause IDs of the example standards (対策基準 例文), H30.9 edition,\n" +
		"# extracted from seed 004 lines 1295-3800 by TestSeedClauseList (-update-clauses).\n"
	if *updateClauses {
		must(t, os.WriteFile(clausesFile, []byte(header+strings.Join(ids, "\n")+"\n"), 0o644))
		must(t, os.WriteFile(recommendedFile, []byte("# IDs marked 【推奨事項】 in the H30.9 standards (seed 004).\n"+strings.Join(rec, "\n")+"\n"), 0o644))
	}
	if want := readList(t, clausesFile); !slices.Equal(ids, want) {
		t.Errorf("%s is stale: seed gives %d IDs, file has %d; run with -update-clauses", clausesFile, len(ids), len(want))
	}
	if want := readList(t, recommendedFile); !slices.Equal(rec, want) {
		t.Errorf("%s is stale: seed gives %v", recommendedFile, rec)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestOwnWords guards the house rule that titles and summaries are written in the project's
// own words: no run of 18 or more characters may be copied from the standards text.
// Statute names (7.5) are proper nouns and exempt.
func TestOwnWords(t *testing.T) {
	lines := readSeedLines(t, standardsFirst, 11630)
	src := suffixarray.New([]byte(strings.Join(strings.Fields(strings.Join(lines, "")), "")))
	cat := mustDefault(t)
	const window = 18
	for _, e := range cat.Entries() {
		if strings.HasPrefix(e.ID, "7.5") {
			continue
		}
		for _, txt := range []string{e.Title.JA, e.Summary.JA} {
			r := []rune(strings.Join(strings.Fields(txt), ""))
			for i := 0; i+window <= len(r); i++ {
				if chunk := string(r[i : i+window]); len(src.Lookup([]byte(chunk), 1)) > 0 {
					t.Errorf("%s: %q is copied from the guideline text; rephrase it", e.ID, chunk)
					break
				}
			}
		}
	}
}
