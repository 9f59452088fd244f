package policy

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

//go:embed templates/policy.html.tmpl
var templateFS embed.FS

var htmlTemplate = template.Must(template.ParseFS(templateFS, "templates/policy.html.tmpl"))

// WriteHTML renders d as one self-contained HTML page.
func WriteHTML(w io.Writer, d *Document) error { return htmlTemplate.Execute(w, d) }

// esc escapes text for WordprocessingML, dropping characters XML 1.0 forbids.
func esc(s string) string {
	var b strings.Builder
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r != 0xFFFE && r != 0xFFFF {
			return r
		}
		return -1
	}, s)
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func run(text string, bold bool) string {
	rpr := ""
	if bold {
		rpr = "<w:rPr><w:b/></w:rPr>"
	}
	return `<w:r>` + rpr + `<w:t xml:space="preserve">` + esc(text) + `</w:t></w:r>`
}

func para(style, text string) string {
	ppr := ""
	if style != "" {
		ppr = `<w:pPr><w:pStyle w:val="` + style + `"/></w:pPr>`
	}
	return `<w:p>` + ppr + run(text, false) + `</w:p>`
}

// textWidth is the A4 text width in twips (page 11906 minus two 1417 margins).
const textWidth = 9072

// colWidths gives the first column a quarter of the width and splits the
// rest evenly; WordprocessingML requires the grid (w:tblGrid) to be explicit.
func colWidths(n int) []int {
	if n <= 1 {
		return []int{textWidth}
	}
	w := make([]int, n)
	w[0] = textWidth / 4
	for i := 1; i < n; i++ {
		w[i] = (textWidth - w[0]) / (n - 1)
	}
	return w
}

func table(rows [][]string) string {
	var b strings.Builder
	n := 0
	for _, r := range rows {
		n = max(n, len(r))
	}
	widths := colWidths(n)
	b.WriteString(`<w:tbl><w:tblPr><w:tblStyle w:val="Grid"/><w:tblW w:w="` + fmt.Sprint(textWidth) + `" w:type="dxa"/><w:tblLayout w:type="fixed"/><w:tblBorders>`)
	for _, side := range []string{"top", "left", "bottom", "right", "insideH", "insideV"} {
		b.WriteString(`<w:` + side + ` w:val="single" w:sz="4" w:space="0" w:color="666666"/>`)
	}
	b.WriteString(`</w:tblBorders></w:tblPr><w:tblGrid>`)
	for _, w := range widths {
		b.WriteString(`<w:gridCol w:w="` + fmt.Sprint(w) + `"/>`)
	}
	b.WriteString(`</w:tblGrid>`)
	for i, r := range rows {
		// Rows never split across pages (cantSplit); the header row repeats.
		if i == 0 {
			b.WriteString(`<w:tr><w:trPr><w:cantSplit/><w:tblHeader/></w:trPr>`)
		} else {
			b.WriteString(`<w:tr><w:trPr><w:cantSplit/></w:trPr>`)
		}
		for c := range n {
			cell := ""
			if c < len(r) {
				cell = r[c]
			}
			b.WriteString(`<w:tc><w:tcPr><w:tcW w:w="` + fmt.Sprint(widths[c]) + `" w:type="dxa"/></w:tcPr><w:p>` + run(cell, i == 0) + `</w:p></w:tc>`)
		}
		b.WriteString(`</w:tr>`)
	}
	b.WriteString(`</w:tbl><w:p/>`)
	return b.String()
}

// WriteDOCX writes d as an Office Open XML document, editable in Word and
// LibreOffice (bodies adopt it as a 訓令 or 要綱 after editing).
func WriteDOCX(w io.Writer, d *Document) error {
	var body strings.Builder
	var charts []string
	body.WriteString(para("Title", d.Title))
	body.WriteString(`<w:p><w:pPr><w:jc w:val="right"/></w:pPr>` + run(d.DateLabel()+" "+cmp.Or(d.DateNote, "施行"), false) + `</w:p>`)
	for _, bl := range d.Blocks {
		switch bl.Kind {
		case Heading1:
			body.WriteString(para("Heading1", bl.Text))
		case Heading2:
			body.WriteString(para("Heading2", bl.Text))
		case Para:
			body.WriteString(para("", bl.Text))
		case Item:
			body.WriteString(`<w:p><w:pPr><w:pStyle w:val="Clause"/></w:pPr>` + run(bl.Label, true) + run("　"+bl.Text, false) + `</w:p>`)
		case Table:
			body.WriteString(table(bl.Rows))
		case Chart:
			charts = append(charts, chartXML(bl.Text, bl.Rows))
			body.WriteString(chartInline(len(charts)))
		}
	}
	if !d.NoRevisions {
		body.WriteString(para("Heading1", "改定履歴"))
		rev := [][]string{{"年月日", "内容"}}
		for _, r := range d.Revisions {
			rev = append(rev, []string{r[0], r[1]})
		}
		body.WriteString(table(rev))
	}
	doc := xml.Header + `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>` + body.String() +
		`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1701" w:right="1417" w:bottom="1417" w:left="1417" w:header="851" w:footer="992" w:gutter="0"/></w:sectPr></w:body></w:document>`
	files := []struct{ name, data string }{
		{"[Content_Types].xml", xml.Header + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>` + chartTypes(len(charts)) + `</Types>`},
		{"_rels/.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/></Relationships>`},
		{"word/_rels/document.xml.rels", xml.Header + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>` + chartRels(len(charts)) + `</Relationships>`},
		{"word/styles.xml", stylesXML},
		{"docProps/core.xml", xml.Header + `<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>` + esc(d.Title) + `</dc:title><dc:creator>kyojin</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">` + d.Date.Format("2006-01-02") + `T00:00:00Z</dcterms:created></cp:coreProperties>`},
		{"word/document.xml", doc},
	}
	for i, c := range charts {
		files = append(files, struct{ name, data string }{fmt.Sprintf("word/charts/chart%d.xml", i+1), c})
	}
	zw := zip.NewWriter(w)
	for _, f := range files {
		// A fixed timestamp keeps the output byte-for-byte reproducible.
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			return err
		}
		if _, err := io.WriteString(fw, f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

const font = `<w:rFonts w:ascii="IPAexMincho" w:hAnsi="IPAexMincho" w:eastAsia="IPAexMincho" w:cs="IPAexMincho"/>`
const gothic = `<w:rFonts w:ascii="IPAexGothic" w:hAnsi="IPAexGothic" w:eastAsia="IPAexGothic" w:cs="IPAexGothic"/>`

var stylesXML = xml.Header + `<w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">` +
	`<w:docDefaults><w:rPrDefault><w:rPr>` + font + `<w:sz w:val="21"/><w:lang w:val="ja-JP" w:eastAsia="ja-JP"/></w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:spacing w:after="60" w:line="300" w:lineRule="auto"/></w:pPr></w:pPrDefault></w:docDefaults>` +
	`<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Title"><w:name w:val="Title"/><w:basedOn w:val="Normal"/><w:pPr><w:jc w:val="center"/><w:spacing w:after="240"/></w:pPr><w:rPr>` + gothic + `<w:b/><w:sz w:val="32"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:pPr><w:keepNext/><w:spacing w:before="240" w:after="120"/><w:outlineLvl w:val="0"/></w:pPr><w:rPr>` + gothic + `<w:b/><w:sz w:val="26"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Heading2"><w:name w:val="heading 2"/><w:basedOn w:val="Normal"/><w:next w:val="Normal"/><w:pPr><w:keepNext/><w:spacing w:before="160" w:after="80"/><w:outlineLvl w:val="1"/></w:pPr><w:rPr>` + gothic + `<w:b/><w:sz w:val="22"/></w:rPr></w:style>` +
	`<w:style w:type="paragraph" w:styleId="Clause"><w:name w:val="Clause"/><w:basedOn w:val="Normal"/><w:pPr><w:ind w:left="420" w:hanging="420"/></w:pPr></w:style>` +
	`<w:style w:type="table" w:styleId="Grid"><w:name w:val="Table Grid"/><w:tblPr><w:tblCellMar><w:left w:w="80" w:type="dxa"/><w:right w:w="80" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>` +
	`</w:styles>`

// ErrNoConverter means LibreOffice is not installed.
var ErrNoConverter = errors.New("policy: soffice (LibreOffice) not found; install libreoffice-writer to produce PDF")

// WritePDF converts d to PDF with LibreOffice in headless mode, in a private
// profile and temporary directory, bounded by timeout. LibreOffice embeds
// the (subset) fonts, so the PDF reads the same everywhere.
func WritePDF(ctx context.Context, w io.Writer, d *Document, timeout time.Duration) error {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		return ErrNoConverter
	}
	dir, err := os.MkdirTemp("", "kyojin-policy-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, d.Name+".docx")
	var buf bytes.Buffer
	if err := WriteDOCX(&buf, d); err != nil {
		return err
	}
	if err := os.WriteFile(src, buf.Bytes(), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, soffice, "-env:UserInstallation=file://"+filepath.ToSlash(filepath.Join(dir, "profile")),
		"--headless", "--norestore", "--convert-to", "pdf:writer_pdf_Export", "--outdir", dir, src)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return fmt.Errorf("policy: LibreOffice did not finish within %v", timeout)
	}
	if err != nil {
		return fmt.Errorf("policy: LibreOffice conversion failed: %v: %s", err, bytes.TrimSpace(out))
	}
	pdf, err := os.ReadFile(filepath.Join(dir, d.Name+".pdf"))
	if err != nil {
		return fmt.Errorf("policy: LibreOffice produced no PDF: %s", bytes.TrimSpace(out))
	}
	_, err = w.Write(pdf)
	return err
}
