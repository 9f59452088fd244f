package policy

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"flag"
	"html"
	"index/suffixarray"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/internal/goldenfile"
	"github.com/kyojin/kyojin/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func documents(t testing.TB) []*Document {
	t.Helper()
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	m, d := model.Load("../examples/kakuu-city")
	if m == nil {
		t.Fatal(d.Err())
	}
	o, d := LoadOptions("../examples/kakuu-city-assessment/policy.yaml")
	if o == nil {
		t.Fatal(d.Err())
	}
	in := Input{Catalog: cat, Model: m, Options: o, Date: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	return []*Document{Basic(in), Standards(in)}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	goldenfile.Check(t, "policy", name, []byte(got), *update)
}

// docxText extracts the paragraphs of word/document.xml, one per line.
func docxText(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	f, err := zr.Open("word/document.xml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	var out, line strings.Builder
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("document.xml is not well-formed: %v", err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			inText = v.Name.Local == "t"
		case xml.EndElement:
			inText = false
			if v.Name.Local == "p" {
				out.WriteString(line.String() + "\n")
				line.Reset()
			}
		case xml.CharData:
			if inText {
				line.Write(v)
			}
		}
	}
	return out.String()
}

var (
	blockTag = regexp.MustCompile(`(?i)</?(p|h[1-6]|tr|td|th|title|table)[^>]*>`)
	anyTag   = regexp.MustCompile(`<[^>]*>`)
	styleEl  = regexp.MustCompile(`(?s)<style>.*?</style>`)
)

func htmlText(s string) string {
	s = styleEl.ReplaceAllString(s, "")
	s = blockTag.ReplaceAllString(s, "\n")
	s = html.UnescapeString(anyTag.ReplaceAllString(s, ""))
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// squeeze removes all white space, so that text extracted from a laid-out
// PDF compares with the source regardless of line breaks.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

func TestDOCXAndHTMLText(t *testing.T) {
	for _, d := range documents(t) {
		var docx, page bytes.Buffer
		if err := WriteDOCX(&docx, d); err != nil {
			t.Fatal(err)
		}
		if err := WriteHTML(&page, d); err != nil {
			t.Fatal(err)
		}
		dt := docxText(t, docx.Bytes())
		golden(t, d.Name+".docx.txt", dt)
		golden(t, d.Name+".html.txt", htmlText(page.String()))
		for _, want := range []string{"令和8年4月1日", "改定履歴", "地方自治法第244条の6に基づく"} {
			if !strings.Contains(dt, want) {
				t.Errorf("%s lacks %q", d.Name, want)
			}
		}
		if strings.Contains(page.String(), "http://") || strings.Contains(page.String(), "https://") || strings.Contains(page.String(), "<script") {
			t.Errorf("%s.html is not self-contained", d.Name)
		}
	}
}

func TestStandardsContent(t *testing.T) {
	docs := documents(t)
	basic, std := docxTextOf(t, docs[0]), docxTextOf(t, docs[1])
	for _, want := range []string{"最高情報セキュリティ責任者（CISO）に副市長を", "統括情報セキュリティ責任者に総務部長を", "β'モデル"} {
		if !strings.Contains(basic, want) {
			t.Errorf("basic policy lacks %q", want)
		}
	}
	for _, want := range []string{"最高情報セキュリティ責任者（CISO）\n副市長\n", "機密性3A", "機密性3C", "3(2)@R2.12", "6.2(3)", "（推奨事項・本団体で採用）"} {
		if !strings.Contains(std, want) {
			t.Errorf("standards lack %q", want)
		}
	}
	// Recommended clauses not opted in stay out; α' clauses do not apply to a β' body.
	for _, absent := range []string{"\n4.1(2)　", "\n3@R7.3　", "\n1(7)②　"} {
		if strings.Contains(std, absent) {
			t.Errorf("standards contain %q", strings.TrimSpace(absent))
		}
	}
}

func docxTextOf(t *testing.T, d *Document) string {
	var b bytes.Buffer
	if err := WriteDOCX(&b, d); err != nil {
		t.Fatal(err)
	}
	return docxText(t, b.Bytes())
}

// The PDF made by LibreOffice embeds its fonts and holds the same text as
// the DOCX.
func TestPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("LibreOffice conversion is slow; skipped with -short")
	}
	for _, tool := range []string{"soffice", "pdffonts", "pdftotext"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install libreoffice-writer poppler-utils)", tool)
		}
	}
	for _, d := range documents(t) {
		var pdf bytes.Buffer
		if err := WritePDF(context.Background(), &pdf, d, 2*time.Minute); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), d.Name+".pdf")
		os.WriteFile(path, pdf.Bytes(), 0o644)
		fonts, err := exec.Command("pdffonts", path).CombinedOutput()
		if err != nil {
			t.Fatalf("pdffonts: %v %s", err, fonts)
		}
		lines := strings.Split(strings.TrimSpace(string(fonts)), "\n")
		if len(lines) < 3 {
			t.Fatalf("no fonts in the PDF:\n%s", fonts)
		}
		for _, l := range lines[2:] {
			if f := strings.Fields(l); len(f) < 5 || f[len(f)-5] != "yes" {
				t.Errorf("font not embedded: %s", l)
			}
		}
		if !strings.Contains(string(fonts), "IPAex") {
			t.Errorf("Japanese font missing:\n%s", fonts)
		}
		text, err := exec.Command("pdftotext", "-raw", "-enc", "UTF-8", path, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		got := squeeze(string(text))
		golden(t, d.Name+".pdf.txt", wrap(got))
		// Every DOCX paragraph appears in the PDF, in order (table header
		// rows repeat on each page, so the texts are not identical).
		pos := 0
		for _, line := range strings.Split(docxTextOf(t, d), "\n") {
			if line = squeeze(line); line == "" {
				continue
			}
			i := strings.Index(got[pos:], line)
			if i < 0 {
				t.Errorf("%s: PDF lacks (or misorders) %q", d.Name, line)
				break
			}
			pos += i + len(line)
		}
	}
}

func wrap(s string) string {
	r := []rune(s)
	var b strings.Builder
	for i := 0; i < len(r); i += 60 {
		b.WriteString(string(r[i:min(i+60, len(r))]) + "\n")
	}
	return b.String()
}

// names are proper names (roles, the guideline's title) that any policy must
// use verbatim; they are removed before the comparison.
var names = strings.NewReplacer("最高情報セキュリティ責任者（CISO）", "", "地方公共団体における情報セキュリティポリシーに関するガイドライン", "")

// The connecting text written for the documents must be the project's own:
// no 18-character run may be copied from the guideline (seed 004).
func TestOwnWords(t *testing.T) {
	seed := os.Getenv("KYOJIN_SEEDS")
	if seed == "" {
		seed = "../../shared/seeds"
	}
	files, _ := filepath.Glob(filepath.Join(seed, "004_*.txt"))
	if len(files) == 0 {
		t.Skipf("guideline seed not found under %s", seed)
	}
	src, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	idx := suffixarray.New([]byte(squeeze(string(src))))
	const window = 18
	for _, d := range documents(t) {
		for _, bl := range d.Blocks {
			if bl.Quoted {
				continue // catalog text: checked by the catalog's own test
			}
			texts := []string{names.Replace(bl.Text)}
			for _, r := range bl.Rows {
				for _, c := range r {
					texts = append(texts, names.Replace(c))
				}
			}
			for _, txt := range texts {
				r := []rune(squeeze(txt))
				for i := 0; i+window <= len(r); i++ {
					if chunk := string(r[i : i+window]); len(idx.Lookup([]byte(chunk), 1)) > 0 {
						t.Errorf("%s: %q is copied from the guideline; rephrase", d.Name, chunk)
						break
					}
				}
			}
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	_, d := ParseOptions("p.yaml", []byte("apiVersion: kyojin/v1\nkind: PolicyOptions\nrevisions:\n  - {date: 2026-13-01}\nopt_in: 3\n"))
	var b bytes.Buffer
	d.Write(&b, "ja")
	for _, want := range []string{`p.yaml:4:12: エラー: revisions[0].date: 日付 "2026-13-01"`, `revisions[0]: 必須フィールド "note"`, "p.yaml:5:9: エラー: opt_in"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("missing %q in\n%s", want, b.String())
		}
	}
}

func FuzzParseOptions(f *testing.F) {
	seed, _ := os.ReadFile("../examples/kakuu-city-assessment/policy.yaml")
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		if o, d := ParseOptions("f.yaml", data); o == nil && !d.HasErrors() {
			t.Fatal("nil options without an error")
		}
	})
}

// An α town without telework gets neither the β/β' clause nor the telework
// clause, and both appear in the list of clauses not applied, with reasons.
func TestStandardsForAlphaTown(t *testing.T) {
	cat, _ := catalog.Default()
	m, d := model.Load("../examples/small-town")
	if m == nil {
		t.Fatal(d.Err())
	}
	std := docxTextOf(t, Standards(Input{Catalog: cat, Model: m, Date: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}))
	for _, absent := range []string{"\n3(2)@R2.12　", "\n6.2(2)　", "\n6.2(3)　"} {
		if strings.Contains(std, absent) {
			t.Errorf("α town standards contain %q", strings.TrimSpace(absent))
		}
	}
	for _, want := range []string{"αモデル", "適用しない項目", "3(2)@R2.12\n", "ネットワークモデル alpha", "機能 telework を利用していない", "町長"} {
		if !strings.Contains(std, want) && !strings.Contains(docxTextOf(t, Basic(Input{Catalog: cat, Model: m, Date: time.Now()})), want) {
			t.Errorf("α town documents lack %q", want)
		}
	}
}

// A chart block becomes a DrawingML chart part, referenced from the body,
// declared in the content types and well-formed.
func TestDOCXChart(t *testing.T) {
	d := &Document{Name: "c", Title: "統計", Date: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), NoRevisions: true,
		Blocks: []Block{{Kind: Chart, Text: "種別 <件数>", Rows: [][]string{{"区分", "件数"}, {"ランサムウェア", "3"}, {"改ざん & 誘導", "12"}}}}}
	var buf bytes.Buffer
	if err := WriteDOCX(&buf, d); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		parts[f.Name] = string(b)
	}
	chart, ok := parts["word/charts/chart1.xml"]
	if !ok {
		t.Fatalf("no chart part among %d parts", len(parts))
	}
	for name, want := range map[string]string{"[Content_Types].xml": "/word/charts/chart1.xml", "word/_rels/document.xml.rels": `Target="charts/chart1.xml"`,
		"word/document.xml": `r:id="rIdChart1"`} {
		if !strings.Contains(parts[name], want) {
			t.Errorf("%s lacks %s", name, want)
		}
	}
	for _, want := range []string{"種別 &lt;件数&gt;", "改ざん &amp; 誘導", "<c:v>12</c:v>", `<c:majorUnit val="3"/>`} {
		if !strings.Contains(chart, want) {
			t.Errorf("chart lacks %s", want)
		}
	}
	for name, x := range parts {
		dec := xml.NewDecoder(strings.NewReader(x))
		for {
			if _, err := dec.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatalf("%s is not well-formed: %v", name, err)
			}
		}
	}
}
