package ooxml_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect/ooxmlinspect"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
	"github.com/kyojin/kyojin/sanitize/ooxml"
)

var ooxmlExt = map[string]bool{".docx": true, ".docm": true, ".dotx": true, ".dotm": true,
	".xlsx": true, ".xlsm": true, ".xltx": true, ".xltm": true, ".xlam": true, ".xlsb": true,
	".pptx": true, ".pptm": true, ".potx": true, ".potm": true, ".ppsx": true, ".ppsm": true}

// TestCorpus runs the handler over every OOXML-named sample of the oletools
// corpus: each file is either rejected or produces output the independent
// inspector finds clean; harmless-clean samples must come out.
func TestCorpus(t *testing.T) {
	dir := officetest.SharedDir(t, "cdr/oletools")
	h := ooxml.New(nil)
	insp := ooxmlinspect.New()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !ooxmlExt[strings.ToLower(filepath.Ext(p))] {
			return err
		}
		n++
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		t.Run(rel, func(t *testing.T) {
			in := &sanitize.Input{Name: d.Name(), R: bytes.NewReader(data), Size: int64(len(data))}
			var out bytes.Buffer
			res, err := h.Sanitize(context.Background(), in, &out)
			if err != nil {
				if strings.HasPrefix(d.Name(), "harmless-clean") {
					t.Fatalf("negative control rejected: %v", err)
				}
				if strings.Contains(rel, "encrypt") && !errors.Is(err, ooxml.ErrEncrypted) {
					t.Errorf("encrypted sample: got %v, want ErrEncrypted", err)
				}
				t.Logf("blocked: %v", err)
				return
			}
			fs, err := insp.Inspect(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()))
			if err != nil || len(fs) != 0 {
				t.Fatalf("output not clean: %v %v", fs, err)
			}
			if strings.HasPrefix(d.Name(), "harmless-clean") {
				// Negative controls must come out usable.
				officetest.OpensInLibreOffice(t, out.Bytes(), "."+string(res.OutType))
			}
			before, _ := insp.Inspect(context.Background(), bytes.NewReader(data), int64(len(data)))
			t.Logf("sanitized (%s): actions %v; input findings %d", res.OutType, res.Actions, len(before))
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no OOXML samples found")
	}
}
