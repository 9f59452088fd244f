package ooxml_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
	"github.com/kyojin/kyojin/sanitize/ooxml"
)

// TestPeakMemory sanitizes a ~200 MB presentation read from a file and
// checks that the Go heap never grows by more than 256 MiB (issue 3 §4:
// "peak memory for a 200 MB archive stays under 256 MiB"): parts stream
// through, nothing holds the archive.
func TestPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 200 MB fixture; skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "big.pptx")
	func() {
		data := officetest.BigPptx(t, 200<<20)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	in := &sanitize.Input{R: f, Size: st.Size(), Limits: sanitize.Limits{MaxDecompressedBytes: 4 << 30}}
	_, err = ooxml.New(nil).Sanitize(context.Background(), in, io.Discard)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	grow := int64(peak.Load()) - int64(base)
	t.Logf("input %.1f MB, peak heap growth %.1f MiB", float64(st.Size())/1e6, float64(grow)/(1<<20))
	if grow > 256<<20 {
		t.Fatalf("peak heap growth %d MiB exceeds 256 MiB", grow>>20)
	}
}
