package report

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/internal/goldenfile"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func render(t *testing.T, format string, res *check.Result, warnings diag.List, opts Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, format, res, warnings, opts); err != nil {
		t.Fatalf("Write(%s): %v", format, err)
	}
	return buf.Bytes()
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	goldenfile.Check(t, "report", name, got, *update)
}

func TestGolden(t *testing.T) {
	tests := []struct {
		format, lang, file string
	}{
		{Text, "ja", "golden.txt"},
		{Text, "en", "golden.en.txt"},
		{JSON, "ja", "golden.json"},
		{Markdown, "ja", "golden.md"},
		{Markdown, "en", "golden.en.md"},
		{HTML, "ja", "golden.html"},
		{HTML, "en", "golden.en.html"},
		{XLSX, "ja", "golden.xlsx.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := render(t, tt.format, testResult(), testWarnings(), testOptions(tt.lang))
			if tt.format == XLSX {
				got = []byte(dumpXLSX(t, got))
			}
			golden(t, tt.file, got)
			// Deterministic: a second rendering is identical.
			again := render(t, tt.format, testResult(), testWarnings(), testOptions(tt.lang))
			if tt.format == XLSX {
				again = []byte(dumpXLSX(t, again))
			}
			if !bytes.Equal(got, again) {
				t.Errorf("two renderings differ")
			}
		})
	}
}

func TestEmptyResult(t *testing.T) {
	res := &check.Result{Organization: "空町", Code: "999997", NetworkModel: "alpha"}
	for _, f := range Formats {
		t.Run(f, func(t *testing.T) {
			out := render(t, f, res, diag.List{}, testOptions("ja"))
			switch f {
			case Text, Markdown, HTML:
				if !bytes.Contains(out, []byte("指摘はありません。")) {
					t.Errorf("no 指摘はありません。 in\n%s", out)
				}
			case JSON:
				var m map[string]any
				if err := json.Unmarshal(out, &m); err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"findings", "connections", "server_to_server", "terminal_to_server", "warnings"} {
					if v, ok := m[k].([]any); !ok || len(v) != 0 {
						t.Errorf("%s = %#v, want []", k, m[k])
					}
				}
				if m["max_severity"] != "none" {
					t.Errorf("max_severity = %v, want none", m["max_severity"])
				}
			case XLSX:
				if !strings.Contains(dumpXLSX(t, out), "== 指摘事項") {
					t.Error("no findings sheet")
				}
			}
		})
	}
}

// externalRef finds attribute values and CSS that would load something.
var attrRef = regexp.MustCompile(`(?i)\b(src|href|action|poster|data|srcset)\s*=\s*["']?([^"'\s>]*)`)

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	out := string(render(t, HTML, testResult(), testWarnings(), testOptions("ja")))
	for _, bad := range []string{"http://", "https://", "<link", "@import", "url(", "<img", "<iframe", "<object"} {
		if strings.Contains(strings.ToLower(out), bad) {
			t.Errorf("HTML contains %q: the report must not load external assets", bad)
		}
	}
	for _, m := range attrRef.FindAllStringSubmatch(out, -1) {
		if !strings.HasPrefix(m[2], "#") {
			t.Errorf("attribute %s=%q refers outside the document", m[1], m[2])
		}
	}
	if strings.Contains(out, "<script") {
		t.Error("a finding message's <script> reached the HTML unescaped")
	}
	if !strings.Contains(out, "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;") {
		t.Error("escaped script text missing: the message was dropped instead of escaped")
	}
	if strings.Contains(out, "\x1b") {
		t.Error("terminal escape reached the HTML")
	}
	for _, want := range []string{`<html lang="ja">`, "令和8年11月22日（2026-11-22）", "ネットワーク接続情報", "サーバ間接続情報", "端末接続情報",
		`<tr class="ng">`, `<span class="verdict ok">OK</span>`, "対策基準 3(1)①", "β&#39;モデル"} {
		if !strings.Contains(out, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestTextHasNoControlCharacters(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		out := render(t, Text, testResult(), testWarnings(), testOptions(lang))
		for i, r := range string(out) {
			if r < 0x20 && r != '\n' {
				t.Fatalf("%s: control character %U at byte %d", lang, r, i)
			}
		}
	}
	out := string(render(t, Text, testResult(), testWarnings(), testOptions("ja")))
	if !strings.Contains(out, `\x1b[31m`) {
		t.Error("escape sequence should be shown as \\x1b, not dropped")
	}
}

// Every row of the Markdown findings table has the same number of cell
// separators, whatever pipes and newlines the messages hold.
func TestMarkdownTableIntact(t *testing.T) {
	out := string(render(t, Markdown, testResult(), testWarnings(), testOptions("ja")))
	unescapedPipe := regexp.MustCompile(`(^|[^\\])\|`)
	sec := out[strings.Index(out, "## 指摘事項"):]
	sec = sec[:strings.Index(sec, "\n## ")]
	rows := 0
	for line := range strings.SplitSeq(sec, "\n") {
		if !strings.HasPrefix(line, "|") {
			continue
		}
		rows++
		if n := len(unescapedPipe.FindAllString(line, -1)); n != 9 {
			t.Errorf("row has %d separators, want 9: %s", n, line)
		}
	}
	if rows != 2+len(testResult().Findings) {
		t.Errorf("findings table has %d rows, want %d", rows, 2+len(testResult().Findings))
	}
	if strings.Contains(out, "<script>") {
		t.Error("raw <script> in Markdown")
	}
}

func TestJSONDocument(t *testing.T) {
	out := render(t, JSON, testResult(), testWarnings(), testOptions("ja"))
	var got struct {
		SchemaVersion string `json:"schema_version"`
		GeneratedAt   string `json:"generated_at"`
		MaxSeverity   string `json:"max_severity"`
		Organization  string `json:"organization"`
		Findings      []struct {
			Rule     string `json:"rule"`
			Severity string `json:"severity"`
		} `json:"findings"`
		Warnings []struct {
			Severity string `json:"severity"`
			Code     string `json:"code"`
			Line     int    `json:"line"`
		} `json:"warnings"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.SchemaVersion != SchemaVersion || got.GeneratedAt != "2026-11-22T10:30:00+09:00" || got.MaxSeverity != "critical" || got.Organization != "架空市" {
		t.Errorf("envelope = %q %q %q %q", got.SchemaVersion, got.GeneratedAt, got.MaxSeverity, got.Organization)
	}
	if len(got.Findings) != 11 || got.Findings[0].Rule != "LGWAN-INET-DIRECT" || got.Findings[0].Severity != "critical" || got.Findings[10].Rule != "INFO-SECURITY-CLOUD" {
		t.Errorf("findings not sorted: first %q last %q", got.Findings[0].Rule, got.Findings[len(got.Findings)-1].Rule)
	}
	if len(got.Warnings) != 1 || got.Warnings[0].Severity != "warning" || got.Warnings[0].Code != "legacy-confidentiality" || got.Warnings[0].Line != 9 {
		t.Errorf("warnings = %+v", got.Warnings)
	}
	// Field order is part of the contract: the envelope first.
	if !bytes.HasPrefix(out, []byte("{\n  \"schema_version\": \"1\",\n  \"generator\":")) {
		t.Errorf("JSON does not start with schema_version: %.80s", out)
	}
	if bytes.Contains(out, []byte("<script>")) {
		t.Error("JSON should escape < and > (safe to embed in HTML)")
	}
}

func TestSortedFindings(t *testing.T) {
	in := []check.Finding{
		{Rule: "B", Severity: check.Low},
		{Rule: "A", Severity: check.Low, File: "b.yaml"},
		{Rule: "A", Severity: check.Low, File: "a.yaml", Line: 9},
		{Rule: "Z", Severity: check.Critical},
		{Rule: "A", Severity: check.Low, File: "a.yaml", Line: 2},
		{Rule: "C", Severity: check.Info},
	}
	got := SortedFindings(in)
	var order []string
	for _, f := range got {
		order = append(order, fmt.Sprintf("%s:%s:%d", f.Rule, f.File, f.Line))
	}
	want := "Z::0 A:a.yaml:2 A:a.yaml:9 A:b.yaml:0 B::0 C::0"
	if strings.Join(order, " ") != want {
		t.Errorf("order = %s, want %s", strings.Join(order, " "), want)
	}
	if in[0].Rule != "B" {
		t.Error("SortedFindings modified its input")
	}
}

func TestFormatFromPath(t *testing.T) {
	tests := []struct {
		path, want, err string
	}{
		{"out/report.html", HTML, ""},
		{"REPORT.HTM", HTML, ""},
		{"r.json", JSON, ""},
		{"r.md", Markdown, ""},
		{"r.markdown", Markdown, ""},
		{"r.txt", Text, ""},
		{"r.xlsx", XLSX, ""},
		{"-", Text, ""},
		{"r.pdf", "", `cannot tell the report format of "r.pdf" from ".pdf" (use .txt, .json, .md, .html or .xlsx)`},
		{"report", "", `cannot tell the report format of "report": no extension (use .txt, .json, .md, .html or .xlsx)`},
		{"r.excel", "", `cannot tell the report format of "r.excel" from ".excel" (use .txt, .json, .md, .html or .xlsx)`},
	}
	for _, tt := range tests {
		got, err := FormatFromPath(tt.path)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("FormatFromPath(%q) error = %v, want %q", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("FormatFromPath(%q) = %q, %v; want %q", tt.path, got, err, tt.want)
		}
	}
}

func TestWriteErrors(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "pdf", testResult(), diag.List{}, Options{}); err == nil || err.Error() != `unknown report format "pdf" (use text, json, markdown, html, xlsx)` {
		t.Errorf("unknown format: %v", err)
	}
	if err := Write(&buf, Text, nil, diag.List{}, Options{}); err == nil || err.Error() != "report: no check result to render" {
		t.Errorf("nil result: %v", err)
	}
	// A severity out of range (a bug elsewhere) makes check.Severity's
	// MarshalText panic; Write must fail closed with an error, not crash.
	res := testResult()
	res.Findings[0].Severity = 9
	err := Write(&buf, JSON, res, diag.List{}, Options{})
	if err == nil || !strings.HasPrefix(err.Error(), "report: rendering json failed: ") {
		t.Errorf("out-of-range severity: %v", err)
	}
	// The other formats render it as "?".
	buf.Reset()
	if err := Write(&buf, Text, res, diag.List{}, Options{}); err != nil || !strings.Contains(buf.String(), "[?] ") {
		t.Errorf("text with out-of-range severity: %v", err)
	}
	if err := Write(failWriter{}, HTML, testResult(), diag.List{}, Options{}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("write failure not reported: %v", err)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, fmt.Errorf("disk full") }

func TestMaxRows(t *testing.T) {
	opts := testOptions("ja")
	opts.MaxRows = 2
	for _, f := range []string{HTML, Markdown} {
		out := string(render(t, f, testResult(), diag.List{}, opts))
		for _, want := range []string{"以下 5 行を省略", "以下 2 行を省略", "以下 1 行を省略"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s: no %q", f, want)
			}
		}
	}
}

func TestXLSXStructure(t *testing.T) {
	data := render(t, XLSX, testResult(), testWarnings(), testOptions("ja"))
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantSheets := []string{SheetSummary, SheetFindings, SheetConnections, SheetServerPairs, SheetTerminalRows}
	if got := f.GetSheetList(); strings.Join(got, ",") != strings.Join(wantSheets, ",") {
		t.Fatalf("sheets = %v, want %v", got, wantSheets)
	}
	for _, sh := range wantSheets[1:] {
		p, err := f.GetPanes(sh)
		if err != nil || !p.Freeze || p.YSplit != 1 {
			t.Errorf("%s: header row not frozen: %+v %v", sh, p, err)
		}
		tables, err := f.GetTables(sh)
		if err != nil || len(tables) != 1 || !strings.HasPrefix(tables[0].Range, "A1:") {
			t.Errorf("%s: no autofilter table: %+v %v", sh, tables, err)
		}
	}
	// NG cells are highlighted: C (verdict) of the second connection row.
	id, err := f.GetCellStyle(SheetConnections, "G3")
	if err != nil {
		t.Fatal(err)
	}
	st, err := f.GetStyle(id)
	if err != nil || len(st.Fill.Color) == 0 || st.Fill.Color[0] != "FFC7CE" {
		t.Errorf("NG cell G3 style = %+v, %v", st, err)
	}
	// Every table part has its autofilter.
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, zf := range zr.File {
		if strings.HasPrefix(zf.Name, "xl/tables/") {
			rc, _ := zf.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Contains(b, []byte("<autoFilter")) {
				t.Errorf("%s has no autoFilter", zf.Name)
			}
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d tables, want 4", n)
	}
}

// dumpXLSX reads a workbook back and prints, sheet by sheet, its panes,
// tables, column widths and cells (with the fill colour of filled cells),
// so the golden file shows what a reader of the workbook sees.
func dumpXLSX(t *testing.T, data []byte) string {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading the workbook back: %v", err)
	}
	defer f.Close()
	var b strings.Builder
	props, err := f.GetDocProps()
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&b, "title: %s\ncreator: %s\ncreated: %s\nlanguage: %s\nactive: %s\n", props.Title, props.Creator, props.Created, props.Language, f.GetSheetName(f.GetActiveSheetIndex()))
	fills := map[int]string{}
	for _, sh := range f.GetSheetList() {
		fmt.Fprintf(&b, "\n== %s\n", sh)
		if p, err := f.GetPanes(sh); err == nil && p.Freeze {
			fmt.Fprintf(&b, "frozen: %d row(s), top-left %s\n", p.YSplit, p.TopLeftCell)
		}
		tables, err := f.GetTables(sh)
		if err != nil {
			t.Fatal(err)
		}
		for _, tb := range tables {
			fmt.Fprintf(&b, "table: %s %s\n", tb.Name, tb.Range)
		}
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		ncol := 0
		for _, r := range rows {
			ncol = max(ncol, len(r))
		}
		var widths []string
		for c := 1; c <= ncol; c++ {
			name, _ := excelize.ColumnNumberToName(c)
			w, _ := f.GetColWidth(sh, name)
			widths = append(widths, fmt.Sprintf("%s=%g", name, w))
		}
		fmt.Fprintf(&b, "widths: %s\n", strings.Join(widths, " "))
		for ri, r := range rows {
			cells := make([]string, len(r))
			for ci, v := range r {
				name, _ := excelize.CoordinatesToCellName(ci+1, ri+1)
				id, err := f.GetCellStyle(sh, name)
				if err != nil {
					t.Fatal(err)
				}
				fill, ok := fills[id]
				if !ok {
					if st, err := f.GetStyle(id); err == nil && len(st.Fill.Color) > 0 {
						fill = "{" + st.Fill.Color[0] + "}"
					}
					fills[id] = fill
				}
				cells[ci] = strings.ReplaceAll(v, "\n", `\n`) + fill
			}
			fmt.Fprintf(&b, "%d:\t%s\n", ri+1, strings.Join(cells, "\t"))
		}
	}
	return b.String()
}

// Inventory rows are written outside html/template (for speed); hostile
// values there must be escaped just the same.
func TestHTMLInventoryEscaped(t *testing.T) {
	res := testResult()
	res.ServerPairs[0].FromRole = `<img src="https://evil.example/x.png" onerror=alert(1)>`
	res.TerminalRows[0].To = `"><script>alert(2)</script>`
	res.Connections[0].Ports = []string{`tcp/443'><b>`}
	res.Connections[1].Verdict = `NG"><i>`
	out := string(render(t, HTML, res, diag.List{}, testOptions("ja")))
	for _, bad := range []string{"<img", "<script", "<b>", "<i>", "src=\"https:"} {
		if strings.Contains(out, bad) {
			t.Errorf("inventory value reached the HTML unescaped: %s", bad)
		}
	}
	for _, want := range []string{"&lt;img src=&#34;https://evil.example/x.png&#34; onerror=alert(1)&gt;", "&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;", "tcp/443&#39;&gt;&lt;b&gt;"} {
		if !strings.Contains(out, want) {
			t.Errorf("escaped value %q missing", want)
		}
	}
}

// shallowIndent only adds whitespace: compacting its output gives back the
// input, for any JSON.
func FuzzShallowIndent(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, `{"a":[1,{"b":[]},"x,y:{}"],"c":{}}`, `"\"{["`, `[[[[1]]],{"k":"\\"}]`, `null`} {
		f.Add([]byte(s))
	}
	out, _ := json.Marshal(testResult())
	f.Add(out)
	f.Fuzz(func(t *testing.T, in []byte) {
		if !json.Valid(in) {
			return
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, in); err != nil {
			t.Fatal(err)
		}
		var ind bytes.Buffer
		bw := bufio.NewWriter(&ind)
		shallowIndent(bw, compact.Bytes(), 2)
		bw.Flush()
		if !json.Valid(ind.Bytes()) {
			t.Fatalf("output is not JSON: %s", ind.Bytes())
		}
		var back bytes.Buffer
		if err := json.Compact(&back, ind.Bytes()); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(back.Bytes(), compact.Bytes()) {
			t.Fatalf("content changed:\nin:  %s\nout: %s", compact.Bytes(), back.Bytes())
		}
	})
}
