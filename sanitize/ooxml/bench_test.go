package ooxml_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
	"github.com/kyojin/kyojin/sanitize/ooxml"
)

// Benchmarks for issue 3 §4: throughput of the OOXML handler against the
// floor of reading and rewriting the same archive with the same compression
// and no changes, in the same run. Results: docs/performance-office.md.
//
//	go test -run XXX -bench . -benchtime 3x ./sanitize/ooxml/

var benchSizes = []struct {
	name   string
	target int
}{{"100KB", 100 << 10}, {"5MB", 5 << 20}, {"50MB", 50 << 20}}

var (
	benchMu    sync.Mutex
	benchCache = map[string][]byte{}
)

func benchDoc(b *testing.B, kind string, target int) []byte {
	benchMu.Lock()
	defer benchMu.Unlock()
	key := fmt.Sprint(kind, target)
	if d, ok := benchCache[key]; ok {
		return d
	}
	var d []byte
	switch kind {
	case "docx":
		d = officetest.BigDocx(b, target)
	case "xlsx":
		d = officetest.BigXlsx(b, target)
	case "pptx":
		d = officetest.BigPptx(b, target)
	}
	benchCache[key] = d
	return d
}

func BenchmarkOOXML(b *testing.B) {
	for _, kind := range []string{"docx", "xlsx", "pptx"} {
		for _, sz := range benchSizes {
			b.Run(kind+"-"+sz.name+"/floor", func(b *testing.B) {
				data := benchDoc(b, kind, sz.target)
				b.SetBytes(int64(len(data)))
				b.ReportMetric(float64(len(data))/(1<<20), "MiB-in")
				var out bytes.Buffer
				b.ResetTimer()
				for range b.N {
					out.Reset()
					if err := officetest.RewriteFloor(data, &out); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(kind+"-"+sz.name+"/sanitize", func(b *testing.B) {
				data := benchDoc(b, kind, sz.target)
				b.SetBytes(int64(len(data)))
				h := ooxml.New(nil)
				var out bytes.Buffer
				b.ResetTimer()
				for range b.N {
					out.Reset()
					in := &sanitize.Input{R: bytes.NewReader(data), Size: int64(len(data)),
						Limits: sanitize.Limits{MaxDecompressedBytes: 4 << 30}}
					if _, err := h.Sanitize(context.Background(), in, &out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestBenchFixturesOpen checks that the benchmark documents are real
// documents: the 100 KB ones sanitize and open in LibreOffice.
func TestBenchFixturesOpen(t *testing.T) {
	for kind, build := range map[string]func(testing.TB, int) []byte{
		"docx": officetest.BigDocx, "xlsx": officetest.BigXlsx, "pptx": officetest.BigPptx} {
		t.Run(kind, func(t *testing.T) {
			data := build(t, 100<<10)
			out, _, err := run(t, data, nil)
			if err != nil {
				t.Fatal(err)
			}
			officetest.OpensInLibreOffice(t, out, "."+kind)
		})
	}
}

// TestThroughputRatio measures floor and handler alternately (so that load
// from other processes hits both alike) and prints median MB/s and the
// ratio. It is a measurement, not a check: run it with
//
//	KYOJIN_OFFICE_RATIO=1 go test -run TestThroughputRatio -v -timeout 60m ./sanitize/ooxml/
func TestThroughputRatio(t *testing.T) {
	if os.Getenv("KYOJIN_OFFICE_RATIO") == "" {
		t.Skip("set KYOJIN_OFFICE_RATIO=1 to measure throughput ratios")
	}
	h := ooxml.New(nil)
	for _, kind := range []string{"docx", "xlsx", "pptx"} {
		for _, sz := range benchSizes {
			data := map[string]func(testing.TB, int) []byte{"docx": officetest.BigDocx, "xlsx": officetest.BigXlsx, "pptx": officetest.BigPptx}[kind](t, sz.target)
			rounds := 7
			if sz.target > 10<<20 {
				rounds = 3
			}
			var fl, sa []float64
			var out bytes.Buffer
			for range rounds {
				out.Reset()
				start := time.Now()
				if err := officetest.RewriteFloor(data, &out); err != nil {
					t.Fatal(err)
				}
				fl = append(fl, time.Since(start).Seconds())
				out.Reset()
				start = time.Now()
				in := &sanitize.Input{R: bytes.NewReader(data), Size: int64(len(data)), Limits: sanitize.Limits{MaxDecompressedBytes: 4 << 30}}
				if _, err := h.Sanitize(context.Background(), in, &out); err != nil {
					t.Fatal(err)
				}
				sa = append(sa, time.Since(start).Seconds())
			}
			slices.Sort(fl)
			slices.Sort(sa)
			mb := float64(len(data)) / 1e6
			f, s := mb/fl[len(fl)/2], mb/sa[len(sa)/2]
			t.Logf("| %s | %s | %.2f MB | %.1f | %.1f | %.2f× |", kind, sz.name, mb, f, s, s/f)
		}
	}
}
