package pdf_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/pdf"
)

// FuzzSanitize: structural mode on arbitrary bytes never panics out of the
// handler, and whatever it writes is clean by the independent inspector.
func FuzzSanitize(f *testing.F) {
	for _, fx := range fixtures() {
		f.Add(fx.doc.Bytes())
	}
	f.Add([]byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(x)>>>>endobj\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		lim := sanitize.Limits{Timeout: 5 * time.Second, MaxDecompressedBytes: 8 << 20, MaxPages: 100}
		_, err := pdf.New(nil).Sanitize(context.Background(), &sanitize.Input{
			R: bytes.NewReader(b), Size: int64(len(b)), Limits: lim,
		}, &out)
		if err != nil {
			return // blocked; the engine discards partial output
		}
		if fs := inspect(t, out.Bytes(), false); len(fs) > 0 {
			t.Fatalf("output not clean: %v", fs)
		}
	})
}
