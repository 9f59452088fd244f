package ooxml_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect/ooxmlinspect"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
	"github.com/kyojin/kyojin/sanitize/ooxml"
)

var _ sanitize.Handler = (*ooxml.Handler)(nil)

func run(t *testing.T, data []byte, opts map[string]string) ([]byte, *sanitize.Result, error) {
	t.Helper()
	in := &sanitize.Input{Name: "x", R: bytes.NewReader(data), Size: int64(len(data)), Options: opts,
		Limits: sanitize.Limits{MaxDecompressedBytes: 64 << 20}}
	var out bytes.Buffer
	res, err := ooxml.New(nil).Sanitize(context.Background(), in, &out)
	return out.Bytes(), res, err
}

// allText returns every part of a package, name and content, as one string.
func allText(t *testing.T, data []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("output is not a zip: %v", err)
	}
	var b strings.Builder
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		c, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatalf("part %s: %v", f.Name, err)
		}
		b.WriteString("\n== " + f.Name + "\n")
		b.Write(c)
	}
	return b.String()
}

func findings(t *testing.T, data []byte, opts ...ooxmlinspect.Option) []sanitize.Finding {
	t.Helper()
	fs, err := ooxmlinspect.New(opts...).Inspect(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func hasAction(res *sanitize.Result, kind, object string) bool {
	for _, a := range res.Actions {
		if a.Kind == kind && a.Object == object && a.Count > 0 {
			return true
		}
	}
	return false
}

func TestSanitizeFixtures(t *testing.T) {
	tests := []struct {
		name    string
		build   func(testing.TB) []byte
		opts    map[string]string
		outType sanitize.Type
		ext     string
		actions [][2]string // kind, object
		keep    []string    // text that must survive
		gone    []string    // text that must not appear anywhere in the output
	}{
		{
			name: "docm with VBA, DDE, template, ActiveX, OLE, links", build: officetest.WordActive,
			outType: sanitize.TypeDOCX, ext: ".docx",
			actions: [][2]string{
				{"removed", "vbaProject"}, {"removed", "oleObject"}, {"removed", "activeX"},
				{"removed", "attachedTemplate"}, {"removed", "field DDEAUTO"}, {"removed", "field (computed keyword)"},
				{"removed", "field INCLUDEPICTURE"}, {"replaced", "external hyperlink"},
				{"converted", "macro-enabled content type"}, {"removed", "xml:OLEObject"},
				{"removed", "xml:control"}, {"removed", "xml:attachedTemplate"},
			},
			keep: []string{"Hello kyojin", "field result text", "simple result", "nested result", " PAGE ", "web link",
				"word/media/image1.png", "rIdPrev", ooxml.Placeholder},
			gone: []string{"DDE", "cmd.exe", "calc", "attacker.example", "vbaProject", "vbaData", "activeX",
				"oleObject", "OLEObject", "macroEnabled", "INCLUDEPICTURE", "QUOTE"},
		},
		{
			name: "docm keep_hyperlinks", build: officetest.WordActive, opts: map[string]string{"keep_hyperlinks": "true"},
			outType: sanitize.TypeDOCX, ext: ".docx",
			actions: [][2]string{{"replaced", "external hyperlink"}, {"removed", "field DDEAUTO"}},
			keep:    []string{"http://attacker.example/landing"},
			gone:    []string{`\\attacker.example\share`},
		},
		{
			name: "xlsx with externalLink and DDE link", build: officetest.XlsxExternalLink,
			outType: sanitize.TypeXLSX, ext: ".xlsx",
			actions: [][2]string{{"removed", "externalLink"}, {"removed", "xml:externalReferences"}, {"removed", "xml:f (external reference)"}},
			keep:    []string{"Sheet1", "<v>42</v>", "<v>7</v>"},
			gone:    []string{"externalLink", "ddeLink", "ddeService", "attacker.example", "externalReference", "[1]", "[2]"},
		},
		{
			name: "xlsm with VBA, macro sheet, OLE, ActiveX", build: officetest.XlsmActive,
			outType: sanitize.TypeXLSX, ext: ".xlsx",
			actions: [][2]string{{"removed", "vbaProject"}, {"removed", "macroSheet"}, {"removed", "oleObject"},
				{"removed", "activeX"}, {"removed", "xml:sheet (macro sheet)"}, {"removed", "xml:definedName auto_open"},
				{"removed", "xml:oleObjects"}, {"removed", "xml:controls"}, {"converted", "macro-enabled content type"}},
			keep: []string{"Sheet1"},
			gone: []string{"vbaProject", "macrosheet", "EXEC(", "Auto_Open", "oleObject", "activeX", "macroEnabled"},
		},
		{
			name: "pptm with VBA, OLE frame, program action", build: officetest.PptmActive,
			outType: sanitize.TypePPTX, ext: ".pptx",
			actions: [][2]string{{"removed", "vbaProject"}, {"removed", "oleObject"},
				{"removed", "xml:graphicFrame (oleObj)"}, {"removed", "xml:hlinkClick ppaction://program"},
				{"replaced", "external hyperlink"}, {"converted", "macro-enabled content type"}},
			keep: []string{"Hello slide", "run program", "web link"},
			gone: []string{"vbaProject", "oleObj", "ppaction", "calc.exe", "attacker.example", "macroEnabled"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.build(t)
			if fs := findings(t, in); len(fs) == 0 {
				t.Fatal("inspector finds nothing in the hostile input")
			}
			out, res, err := run(t, in, tc.opts)
			if err != nil {
				t.Fatalf("Sanitize: %v", err)
			}
			if res.OutType != tc.outType {
				t.Errorf("OutType = %s, want %s", res.OutType, tc.outType)
			}
			for _, a := range tc.actions {
				if !hasAction(res, a[0], a[1]) {
					t.Errorf("missing action %s %q in %v", a[0], a[1], res.Actions)
				}
			}
			text := allText(t, out)
			for _, s := range tc.keep {
				if !strings.Contains(text, s) {
					t.Errorf("output lost %q", s)
				}
			}
			for _, s := range tc.gone {
				if strings.Contains(text, s) {
					t.Errorf("output still contains %q", s)
				}
			}
			var iopts []ooxmlinspect.Option
			if tc.opts["keep_hyperlinks"] == "true" {
				iopts = append(iopts, ooxmlinspect.AllowWebHyperlinks())
			}
			if fs := findings(t, out, iopts...); len(fs) != 0 {
				t.Errorf("inspector finds %v in the output", fs)
			}
			// Idempotent: sanitizing the output changes nothing further.
			out2, res2, err := run(t, out, tc.opts)
			if err != nil {
				t.Fatalf("second pass: %v", err)
			}
			for _, a := range res2.Actions {
				if a.Kind != "rebuilt" {
					t.Errorf("second pass still acts: %v", a)
				}
			}
			if allText(t, out2) != text {
				t.Error("second pass changed the content")
			}
			officetest.OpensInLibreOffice(t, out, tc.ext)
		})
	}
}

// TestRejects feeds malformed packages; each must fail with the expected
// error (the engine blocks every error).
func TestRejects(t *testing.T) {
	ct := officetest.ContentTypes("/word/document.xml=" + officetest.CTDocx)
	rels := officetest.Rels(officetest.Rel{ID: "rId1", Type: "officeDocument", Target: "word/document.xml"})
	doc := officetest.WordBody(officetest.Para("x"))
	bomb := strings.Repeat("<w:p/>", 20<<20/6)
	tests := []struct {
		name  string
		parts []officetest.Part
		raw   []byte
		is    error
		text  string
	}{
		{name: "not a zip", raw: []byte("plain text, not a package"), is: ooxml.ErrMalformed, text: "not a valid zip"},
		{name: "no content types", parts: []officetest.Part{{"_rels/.rels", rels}, {"word/document.xml", doc}}, is: ooxml.ErrMalformed, text: "no [Content_Types].xml"},
		{name: "duplicate part", parts: []officetest.Part{{"[Content_Types].xml", ct}, {"_rels/.rels", rels}, {"word/document.xml", doc}, {"WORD/document.xml", doc}}, is: ooxml.ErrMalformed, text: "duplicate part"},
		{name: "path traversal", parts: []officetest.Part{{"[Content_Types].xml", ct}, {"../evil.xml", doc}}, is: ooxml.ErrMalformed, text: "invalid part name"},
		{name: "DTD in rels", parts: []officetest.Part{{"[Content_Types].xml", ct}, {"_rels/.rels", `<!DOCTYPE x [<!ENTITY a "b">]>` + rels}, {"word/document.xml", doc}}, is: ooxml.ErrMalformed, text: "DTD not allowed"},
		{name: "no main part", parts: []officetest.Part{{"[Content_Types].xml", ct}, {"word/document.xml", doc}}, is: ooxml.ErrUnsupported, text: "no main document part"},
		{name: "binary workbook", parts: []officetest.Part{{"[Content_Types].xml", officetest.ContentTypes("/xl/workbook.bin=application/vnd.ms-excel.sheet.binary.macroEnabled.main")},
			{"_rels/.rels", officetest.Rels(officetest.Rel{ID: "rId1", Type: "officeDocument", Target: "xl/workbook.bin"})}, {"xl/workbook.bin", "x"}}, is: ooxml.ErrUnsupported, text: "main part type"},
		{name: "unterminated field", parts: []officetest.Part{{"[Content_Types].xml", ct}, {"_rels/.rels", rels},
			{"word/document.xml", officetest.WordBody(`<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>DDEAUTO x</w:instrText></w:r></w:p>`)}}, is: ooxml.ErrMalformed, text: "unterminated field"},
		{name: "broken XML", parts: []officetest.Part{{"[Content_Types].xml", ct}, {"_rels/.rels", rels},
			{"word/document.xml", `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:fldSimple w:instr="x">`}}, is: ooxml.ErrMalformed, text: "malformed XML"},
		{name: "decompression bomb", parts: []officetest.Part{{"[Content_Types].xml", ct}, {"_rels/.rels", rels},
			{"word/document.xml", officetest.WordBody(bomb)}}, is: ooxml.ErrLimit, text: "decompressed size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				data = officetest.Zip(t, tc.parts...)
			}
			in := &sanitize.Input{R: bytes.NewReader(data), Size: int64(len(data)),
				Limits: sanitize.Limits{MaxDecompressedBytes: 16 << 20}}
			_, err := ooxml.New(nil).Sanitize(context.Background(), in, io.Discard)
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q", err, tc.is, tc.text)
			}
		})
	}
}

// TestCRCMismatch flips a byte of stored part data: the real bytes no longer
// match the directory, which must be refused rather than copied raw.
func TestCRCMismatch(t *testing.T) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name, data string) {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store})
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(data))
	}
	add("[Content_Types].xml", officetest.ContentTypes("/word/document.xml="+officetest.CTDocx))
	add("_rels/.rels", officetest.Rels(officetest.Rel{ID: "rId1", Type: "officeDocument", Target: "word/document.xml"}))
	add("word/document.xml", officetest.WordBody(officetest.Para("MARKER")))
	zw.Close()
	data := bytes.Replace(buf.Bytes(), []byte("MARKER"), []byte("MARKEX"), 1)
	in := &sanitize.Input{R: bytes.NewReader(data), Size: int64(len(data))}
	_, err := ooxml.New(nil).Sanitize(context.Background(), in, io.Discard)
	if !errors.Is(err, ooxml.ErrMalformed) {
		t.Fatalf("err = %v, want ErrMalformed", err)
	}
}

// TestMislabelledPicture: an OLE storage served under image/png through an
// image relationship is replaced by a blank picture.
func TestMislabelledPicture(t *testing.T) {
	data := officetest.Docx(t, officetest.CTDocx, officetest.Para("x"),
		[]officetest.Rel{{ID: "rIdP", Type: "image", Target: "media/image1.png"}},
		[]officetest.Part{{"word/media/image1.png", "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 not a picture"}})
	out, res, err := run(t, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !hasAction(res, "replaced", "mislabelled picture") {
		t.Errorf("actions %v", res.Actions)
	}
	if strings.Contains(allText(t, out), "not a picture") {
		t.Error("mislabelled content survived")
	}
}
