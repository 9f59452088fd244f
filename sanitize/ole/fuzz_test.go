package ole

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// FuzzDetect feeds arbitrary bytes to the compound-file detector (without
// the recover wrapper, so that a panic in mscfb or in the record walkers
// shows up). Seeds: the OLE2 samples of the shared corpus when present.
func FuzzDetect(f *testing.F) {
	f.Add(append(append([]byte{}, cfbMagic...), make([]byte, 1024)...))
	if dir := os.Getenv("KYOJIN_SHARED_DATA"); dir != "" {
		for _, n := range []string{"msodde/harmless-clean.doc", "olevba/sample_with_vba.ppt", "excel4-macros/excel4_sample_macro.xls", "encrypted/encrypted.xls"} {
			if b, err := os.ReadFile(filepath.Join(dir, "cdr/oletools", n)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		defer func() {
			// mscfb is third-party: its panics are caught by Detect; report
			// only panics from this package's own code.
			if p := recover(); p != nil && !fromMscfb() {
				panic(p)
			}
		}()
		_, _ = detect(bytes.NewReader(b), int64(len(b)))
	})
}

// FuzzPPTRecords walks arbitrary PowerPoint record streams.
func FuzzPPTRecords(f *testing.F) {
	f.Add([]byte{0x0F, 0x00, 0xE8, 0x03, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0x03, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		pptRecords(b, 0, &Report{})
	})
}

// FuzzExcelGlobals walks arbitrary BIFF record streams.
func FuzzExcelGlobals(f *testing.F) {
	f.Add([]byte{0x09, 0x08, 0x04, 0x00, 0, 6, 5, 0, 0x85, 0x00, 0x06, 0x00, 0, 0, 0, 0, 0, 1, 0x0A, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = excelGlobals(bytes.NewReader(b), &Report{})
	})
}

func fromMscfb() bool {
	buf := make([]byte, 64<<10)
	n := runtimeStack(buf)
	return bytes.Contains(buf[:n], []byte("richardlehane/mscfb"))
}

func runtimeStack(buf []byte) int { return runtime.Stack(buf, false) }
