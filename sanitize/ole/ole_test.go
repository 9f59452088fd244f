package ole_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect/ooxmlinspect"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
	"github.com/kyojin/kyojin/sanitize/ole"
)

var _ sanitize.Handler = (*ole.Handler)(nil)

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDetectCorpus checks the detector against oletools samples whose
// content is documented by their authors.
func TestDetectCorpus(t *testing.T) {
	dir := officetest.SharedDir(t, "cdr/oletools")
	tests := []struct {
		file string
		want ole.Report
	}{
		{"msodde/harmless-clean.doc", ole.Report{Kind: sanitize.TypeDOC}},
		{"olevba/sample_with_vba.ppt", ole.Report{Kind: sanitize.TypePPT, Macros: true, Objects: 1}},
		{"excel4-macros/excel4_sample_macro.xls", ole.Report{Kind: sanitize.TypeXLS, Excel4Macros: true}},
		{"excel4-macros/excel4_sample_macro_excel5_format.xls", ole.Report{Kind: sanitize.TypeXLS, Excel4Macros: true}},
		{"encrypted/encrypted.doc", ole.Report{Kind: sanitize.TypeDOC, Encrypted: true}},
		{"encrypted/encrypted.xls", ole.Report{Kind: sanitize.TypeXLS, Encrypted: true}},
		{"encrypted/encrypted.ppt", ole.Report{Kind: sanitize.TypePPT, Encrypted: true}},
		{"encrypted/encrypted.docx", ole.Report{Kind: sanitize.TypeUnknown, Encrypted: true}},
		{"oleobj/embedded-simple-2007.doc", ole.Report{Kind: sanitize.TypeDOC, Objects: 1}},
		{"oleobj/embedded-simple-2007.xls", ole.Report{Kind: sanitize.TypeXLS, Objects: 1}},
		{"oleobj/embedded-simple-2007.ppt", ole.Report{Kind: sanitize.TypePPT, Objects: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			b := read(t, dir, tc.file)
			got, err := ole.Detect(bytes.NewReader(b), int64(len(b)))
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("Detect = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

// TestConvertCorpus runs the handler over every OLE2 sample: each one is
// held (encrypted), or converted into OOXML that the independent inspector
// finds clean and that LibreOffice opens; the negative control converts.
func TestConvertCorpus(t *testing.T) {
	dir := officetest.SharedDir(t, "cdr/oletools")
	officetest.Soffice(t)
	h := ole.New(nil)
	insp := ooxmlinspect.New()
	var names []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if b, err := os.ReadFile(p); err == nil && bytes.HasPrefix(b, []byte("\xd0\xcf\x11\xe0")) {
				names = append(names, p)
			}
		}
		return nil
	})
	if len(names) == 0 {
		t.Fatal("no OLE2 samples")
	}
	for _, p := range names {
		rel, _ := filepath.Rel(dir, p)
		t.Run(rel, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			in := &sanitize.Input{Name: filepath.Base(p), R: bytes.NewReader(b), Size: int64(len(b)),
				Limits: sanitize.Limits{Timeout: 3 * time.Minute}}
			var out bytes.Buffer
			res, err := h.Sanitize(context.Background(), in, &out)
			if err != nil {
				if strings.Contains(rel, "encrypt") || strings.HasPrefix(rel, "basic/encrypted") {
					if !errors.Is(err, ole.ErrEncrypted) {
						t.Fatalf("encrypted sample: %v, want ErrEncrypted", err)
					}
					return
				}
				t.Fatalf("not converted: %v", err)
			}
			fs, err := insp.Inspect(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()))
			if err != nil || len(fs) != 0 {
				t.Fatalf("converted output not clean: %v %v", fs, err)
			}
			if !hasKind(res, "converted") {
				t.Errorf("no converted action: %v", res.Actions)
			}
			if strings.HasPrefix(filepath.Base(p), "harmless-clean") {
				officetest.OpensInLibreOffice(t, out.Bytes(), "."+string(res.OutType))
			}
			t.Logf("%s: %v", res.OutType, res.Actions)
		})
	}
}

func hasKind(res *sanitize.Result, kind string) bool {
	for _, a := range res.Actions {
		if a.Kind == kind {
			return true
		}
	}
	return false
}

// TestBlockPolicy: legacy=block blocks every legacy file before conversion;
// an unknown mode blocks too.
func TestBlockPolicy(t *testing.T) {
	dir := officetest.SharedDir(t, "cdr/oletools")
	b := read(t, dir, "msodde/harmless-clean.doc")
	for _, mode := range []string{"block", "maybe"} {
		in := &sanitize.Input{R: bytes.NewReader(b), Size: int64(len(b)), Options: map[string]string{"legacy": mode}}
		_, err := ole.New(nil).Sanitize(context.Background(), in, &bytes.Buffer{})
		if !errors.Is(err, ole.ErrBlocked) {
			t.Errorf("legacy=%s: err = %v, want ErrBlocked", mode, err)
		}
	}
}

// TestNotOLE: anything that is not a compound file is refused.
func TestNotOLE(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("hello"), bytes.Repeat([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, 100)} {
		in := &sanitize.Input{R: bytes.NewReader(b), Size: int64(len(b))}
		if _, err := ole.New(nil).Sanitize(context.Background(), in, &bytes.Buffer{}); !errors.Is(err, ole.ErrNotOLE) {
			t.Errorf("%q: err = %v, want ErrNotOLE", b[:min(len(b), 8)], err)
		}
	}
}
