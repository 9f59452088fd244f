package pdfinspect_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/sanitize/inspect/pdfinspect"
	fx "github.com/kyojin/kyojin/sanitize/internal/pdffixture"
)

func inspect(t testing.TB, in *pdfinspect.Inspector, b []byte) []string {
	t.Helper()
	fs, err := in.Inspect(context.Background(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Inspect: %v", err)
	}
	var out []string
	for _, f := range fs {
		if f.Location == "" {
			t.Errorf("finding %q without location", f.Construct)
		}
		if !slices.Contains(out, f.Construct) {
			out = append(out, f.Construct)
		}
	}
	slices.Sort(out)
	return out
}

func page(extraCatalog, extraPage string, objs ...fx.Obj) []fx.Obj {
	return append(fx.Page("x", extraCatalog, extraPage), objs...)
}

type tcase struct {
	name     string
	pdf      []byte
	allowURI bool
	want     []string // exact set of constructs
}

func cases() []tcase {
	lzwObjStm := fx.Doc{Root: 1, Objs: page("", "")}.Bytes()
	lzwObjStm = append(lzwObjStm, []byte("9 0 obj\n<</Type /ObjStm /N 1 /First 4 /Filter /LZWDecode /Length 3>>\nstream\nabc\nendstream\nendobj\n")...)
	return []tcase{
		{name: "clean", pdf: fx.Doc{Root: 1, Objs: page("", "")}.Bytes()},
		{name: "clean-objstm-goto", pdf: fx.Doc{Root: 1, ObjStm: true, Objs: page("/OpenAction 6 0 R", "", fx.Obj{Num: 6, Body: "<</S /GoTo /D [3 0 R /Fit]>>"})}.Bytes()},
		{name: "dest-openaction", pdf: fx.Doc{Root: 1, Objs: page("/OpenAction [3 0 R /Fit]", "")}.Bytes()},
		{
			name: "js-in-objstm",
			pdf:  fx.Doc{Root: 1, ObjStm: true, Objs: page("/Names <</JavaScript <</Names [(a) 6 0 R]>>>>", "", fx.Obj{Num: 6, Body: "<</S /JavaScript /JS (app.alert\\(1\\))>>"})}.Bytes(),
			want: []string{"/JS", "/JavaScript"},
		},
		{
			name: "hex-escapes",
			pdf:  fx.Doc{Root: 1, Objs: page("", "/Annots [<</Subtype /Link /Rect [0 0 1 1] /A <</S /Launc#68 /F (x)>>>>] /#41A <</O <</S /Submit#46orm>>>>")}.Bytes(),
			want: []string{"/AA", "/Launch", "/SubmitForm"},
		},
		{
			name: "openaction-named",
			pdf:  fx.Doc{Root: 1, Objs: page("/OpenAction 6 0 R", "", fx.Obj{Num: 6, Body: "<</S /Named /N /Print>>"})}.Bytes(),
			want: []string{"/OpenAction"},
		},
		{
			name: "openaction-goto-next",
			pdf:  fx.Doc{Root: 1, Objs: page("/OpenAction <</S /GoTo /D [3 0 R /Fit] /Next 6 0 R>>", "", fx.Obj{Num: 6, Body: "<</S /Named /N /Print>>"})}.Bytes(),
			want: []string{"/OpenAction"},
		},
		{
			name: "uri-denied",
			pdf:  fx.Doc{Root: 1, Objs: page("", "/Annots [<</Subtype /Link /Rect [0 0 1 1] /A <</S /URI /URI (http://x.example/)>>>>]")}.Bytes(),
			want: []string{"/URI"},
		},
		{
			name:     "uri-allowed",
			allowURI: true,
			pdf:      fx.Doc{Root: 1, Objs: page("", "/Annots [<</Subtype /Link /Rect [0 0 1 1] /A <</S /URI /URI (http://x.example/)>>>>]")}.Bytes(),
		},
		{
			name: "embedded-and-xfa",
			pdf: fx.Doc{Root: 1, Objs: page("/Names <</EmbeddedFiles <</Names [(f) 6 0 R]>>>> /AcroForm <</XFA 8 0 R>>", "/Annots [<</Subtype /FileAttachment /Rect [0 0 1 1] /FS 6 0 R>>]",
				fx.Obj{Num: 6, Body: "<</Type /Filespec /F (f) /EF <</F 7 0 R>>>>"},
				fx.Obj{Num: 7, Body: "<</Type /EmbeddedFile>>", Stream: []byte("payload"), Flate: true},
				fx.Obj{Num: 8, Body: "<<>>", Stream: []byte("<xdp/>")},
			)}.Bytes(),
			want: []string{"/EF", "/EmbeddedFile", "/EmbeddedFiles", "/FileAttachment", "/XFA"},
		},
		{
			name: "richmedia",
			pdf:  fx.Doc{Root: 1, Objs: page("", "/Annots [<</Subtype /RichMedia /Rect [0 0 1 1] /RichMediaContent <<>>>>]")}.Bytes(),
			want: []string{"/RichMedia"},
		},
		{
			// Names inside strings are text, not names.
			name: "names-in-strings",
			pdf:  fx.Doc{Root: 1, Objs: page("", "", fx.Obj{Num: 6, Body: "<</Title (about /JavaScript and /Launch) /Subject <2F4A53>>>"})}.Bytes(),
		},
		{
			// An unterminated string must not swallow the next object.
			name: "hidden-after-open-string",
			pdf:  []byte("%PDF-1.4\n1 0 obj\n<</Type /Catalog /T (unterminated >>\nendobj\n2 0 obj\n<</S /JavaScript /JS (x)>>\nendobj\n"),
			want: []string{"/JS", "/JavaScript", "unparseable object"},
		},
		{
			name: "corrupt-flate-objstm",
			pdf: append(fx.Doc{Root: 1, Objs: page("", "")}.Bytes(),
				[]byte("9 0 obj\n<</Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /Length 10>>\nstream\nxxxxxxxxxx\nendstream\nendobj\n")...),
			want: []string{"undecodable stream"},
		},
		{name: "unsupported-filter-objstm", pdf: lzwObjStm, want: []string{"undecodable object stream"}},
		{
			// Exactly delimited stream data is skipped...
			name: "syntax-in-delimited-stream",
			pdf:  fx.Doc{Root: 1, Objs: page("", "", fx.Obj{Num: 6, Body: "<<>>", Stream: []byte("\n9 0 obj <</S /JavaScript>>\nendobj\n")})}.Bytes(),
		},
		{
			// ...but not when /Length does not delimit it.
			name: "syntax-in-stream-bad-length",
			pdf:  []byte("%PDF-1.4\n1 0 obj\n<</Length 3>>\nstream\n\n9 0 obj <</S /JavaScript>>\nendobj\nendstream\nendobj\n"),
			want: []string{"/JavaScript"},
		},
		{name: "not-a-pdf", pdf: []byte("hello world"), want: []string{"no objects", "not a PDF"}},
		{
			name: "encrypted",
			pdf:  fx.Doc{Root: 1, Objs: page("", "", fx.Obj{Num: 6, Body: "<</Filter /Standard /V 2 /R 3>>"}), Trailer: "/Encrypt 6 0 R"}.Bytes(),
			want: []string{"/Encrypt"},
		},
	}
}

func TestInspect(t *testing.T) {
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			got := inspect(t, &pdfinspect.Inspector{AllowURI: c.allowURI}, c.pdf)
			want := append([]string(nil), c.want...)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("constructs = %v, want %v", got, want)
			}
		})
	}
}

func TestDecompressionCap(t *testing.T) {
	bomb := bytes.Repeat([]byte("0 "), 1<<20)
	pdf := fx.Doc{Root: 1, Objs: page("", "", fx.Obj{Num: 6, Body: "<<>>", Stream: bomb, Flate: true})}.Bytes()
	got := inspect(t, &pdfinspect.Inspector{MaxDecompressed: 64 << 10}, pdf)
	if !slices.Contains(got, "decompression limit exceeded") {
		t.Errorf("constructs = %v, want the decompression limit", got)
	}
	if got := inspect(t, &pdfinspect.Inspector{MaxInput: 10}, pdf); !slices.Contains(got, "input too large") {
		t.Errorf("constructs = %v, want input too large", got)
	}
}

type failReader struct{}

func (failReader) ReadAt([]byte, int64) (int, error) { return 0, errors.New("disk on fire") }

func TestReadError(t *testing.T) {
	if _, err := pdfinspect.New().Inspect(context.Background(), failReader{}, 10); err == nil {
		t.Error("read error not reported")
	}
}

// TestQPDFCrossCheck: qpdf rewrites each case with every object outside
// object streams and uncompressed; the inspector must see the same
// constructs in both forms.
func TestQPDFCrossCheck(t *testing.T) {
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		t.Skip("qpdf not installed: cross-check skipped")
	}
	for _, c := range cases() {
		if strings.Contains(c.name, "not-a-pdf") || strings.Contains(c.name, "corrupt") ||
			strings.Contains(c.name, "unsupported") || strings.Contains(c.name, "hidden") || strings.Contains(c.name, "syntax-in") || c.name == "encrypted" {
			continue // qpdf repairs or rejects these; the comparison is meaningless
		}
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			in := filepath.Join(dir, "in.pdf")
			if err := os.WriteFile(in, c.pdf, 0o600); err != nil {
				t.Fatal(err)
			}
			qdf, err := exec.Command(qpdf, "--qdf", "--object-streams=disable", in, "-").Output()
			var ee *exec.ExitError
			if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
				t.Fatalf("qpdf: %v", err)
			}
			ins := &pdfinspect.Inspector{AllowURI: c.allowURI}
			a, b := inspect(t, ins, c.pdf), inspect(t, ins, qdf)
			if !slices.Equal(a, b) {
				t.Errorf("original %v, qpdf form %v", a, b)
			}
		})
	}
}

func FuzzInspect(f *testing.F) {
	for _, c := range cases() {
		f.Add(c.pdf)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ins := &pdfinspect.Inspector{MaxDecompressed: 1 << 20}
		fs, err := ins.Inspect(context.Background(), bytes.NewReader(b), int64(len(b)))
		if err != nil {
			t.Fatalf("Inspect returned an error for in-memory input: %v", err)
		}
		for _, f := range fs {
			if f.Construct == "" {
				t.Fatalf("empty finding %+v", f)
			}
		}
	})
}
