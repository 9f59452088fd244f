package pdf_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	fx "github.com/kyojin/kyojin/sanitize/internal/pdffixture"
	"github.com/kyojin/kyojin/sanitize/pdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// benchDoc builds a realistic document: pages with a compressed text
// content stream (about 3 KB of text operators), a JPEG photo per page, a
// link and an outline entry per page, shared fonts, and the non-stream
// objects in an object stream, as current office suites write them.
func benchDoc(pages, imgSide int) []byte {
	rng := rand.New(rand.NewPCG(uint64(pages), uint64(imgSide)))
	img := image.NewRGBA(image.Rect(0, 0, imgSide, imgSide))
	for y := 0; y < imgSide; y++ {
		for x := 0; x < imgSide; x++ {
			n := uint8(rng.IntN(48))
			img.Set(x, y, color.RGBA{uint8(x*255/imgSide) ^ n, uint8(y*255/imgSide) + n, uint8((x + y) * 127 / imgSide), 255})
		}
	}
	var jb bytes.Buffer
	jpeg.Encode(&jb, img, &jpeg.Options{Quality: 85})

	objs := []fx.Obj{
		{Num: 1, Body: "<</Type /Catalog /Pages 2 0 R /Outlines 4 0 R /PageMode /UseOutlines>>"},
		{Num: 3, Body: "<</Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding>>"},
	}
	var kids bytes.Buffer
	first := 5
	for p := 0; p < pages; p++ {
		page, content, im, annot, outline := first+5*p, first+5*p+1, first+5*p+2, first+5*p+3, first+5*p+4
		fmt.Fprintf(&kids, "%d 0 R ", page)
		var text bytes.Buffer
		fmt.Fprintf(&text, "q 400 0 0 300 100 420 cm /Im0 Do Q\nBT /F1 10 Tf 12 TL 72 380 Td\n")
		for l := 0; l < 28; l++ {
			fmt.Fprintf(&text, "(Page %d line %d: the quick brown fox jumps over the lazy dog %d) '\n", p+1, l, rng.IntN(100000))
		}
		text.WriteString("ET\n")
		prev, next := "", ""
		if p > 0 {
			prev = fmt.Sprintf("/Prev %d 0 R", outline-5)
		}
		if p < pages-1 {
			next = fmt.Sprintf("/Next %d 0 R", outline+5)
		}
		objs = append(objs,
			fx.Obj{Num: page, Body: fmt.Sprintf("<</Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources <</Font <</F1 3 0 R>> /XObject <</Im0 %d 0 R>>>> /Contents %d 0 R /Annots [%d 0 R]>>", im, content, annot)},
			fx.Obj{Num: content, Body: "<<>>", Stream: text.Bytes(), Flate: true},
			fx.Obj{Num: im, Body: fmt.Sprintf("<</Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode>>", imgSide, imgSide), Stream: jb.Bytes()},
			fx.Obj{Num: annot, Body: fmt.Sprintf("<</Type /Annot /Subtype /Link /Rect [72 72 200 90] /Border [0 0 0] /Dest [%d 0 R /Fit]>>", page)},
			fx.Obj{Num: outline, Body: fmt.Sprintf("<</Title (Page %d) /Parent 4 0 R /Dest [%d 0 R /XYZ 0 792 0] %s %s>>", p+1, page, prev, next)},
		)
	}
	objs = append(objs,
		fx.Obj{Num: 2, Body: fmt.Sprintf("<</Type /Pages /Kids [%s] /Count %d>>", kids.String(), pages)},
		fx.Obj{Num: 4, Body: fmt.Sprintf("<</Type /Outlines /First %d 0 R /Last %d 0 R /Count %d>>", first+4, first+5*(pages-1)+4, pages)},
	)
	return fx.Doc{Root: 1, ObjStm: true, Objs: objs}.Bytes()
}

var benchDocs = sync.OnceValue(func() map[string][]byte {
	return map[string][]byte{
		"100KB": benchDoc(20, 110),
		"5MB":   benchDoc(60, 420),
		"50MB":  benchDoc(400, 620),
	}
})

var benchSizes = []string{"100KB", "5MB", "50MB"}

// BenchmarkStructural measures the structural sanitizer.
func BenchmarkStructural(b *testing.B) {
	h := pdf.New(nil)
	for _, size := range benchSizes {
		doc := benchDocs()[size]
		b.Run(size, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				_, err := h.Sanitize(context.Background(), &sanitize.Input{R: bytes.NewReader(doc), Size: int64(len(doc))}, io.Discard)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFloorPdfcpu is the floor of issue 3 §4: reading and writing the
// same file with pdfcpu and no changes.
func BenchmarkFloorPdfcpu(b *testing.B) {
	api.DisableConfigDir()
	for _, size := range benchSizes {
		doc := benchDocs()[size]
		b.Run(size, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				floorOnce(b, doc)
			}
		})
	}
}

func floorOnce(tb testing.TB, doc []byte) {
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	ctx, err := api.ReadContext(bytes.NewReader(doc), conf)
	if err != nil {
		tb.Fatal(err)
	}
	if err := api.WriteContext(ctx, io.Discard); err != nil {
		tb.Fatal(err)
	}
}

// cpuNow is the process CPU time (user+system, all threads, so GC work
// counts too).
func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkStructuralVsFloor alternates the floor and the sanitizer in
// every iteration, so load from other processes hits both alike. It reports
// throughput from the fastest iteration of each (robust against a busy
// machine) and from CPU time, and the ratios sanitize/floor (target >= 0.7).
func BenchmarkStructuralVsFloor(b *testing.B) {
	api.DisableConfigDir()
	h := pdf.New(nil)
	for _, size := range benchSizes {
		doc := benchDocs()[size]
		b.Run(size, func(b *testing.B) {
			minFloor, minOurs := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
			var cpuFloor, cpuOurs time.Duration
			for b.Loop() {
				runtime.GC()
				c0, t0 := cpuNow(), time.Now()
				floorOnce(b, doc)
				c1, t1 := cpuNow(), time.Now()
				runtime.GC()
				c2, t2 := cpuNow(), time.Now()
				if _, err := h.Sanitize(context.Background(), &sanitize.Input{R: bytes.NewReader(doc), Size: int64(len(doc))}, io.Discard); err != nil {
					b.Fatal(err)
				}
				c3, t3 := cpuNow(), time.Now()
				minFloor, minOurs = min(minFloor, t1.Sub(t0)), min(minOurs, t3.Sub(t2))
				cpuFloor += c1 - c0
				cpuOurs += c3 - c2
			}
			mb := float64(len(doc)) / 1e6
			b.ReportMetric(mb, "doc-MB")
			b.ReportMetric(mb/minFloor.Seconds(), "floor-MB/s")
			b.ReportMetric(mb/minOurs.Seconds(), "sanitize-MB/s")
			b.ReportMetric(minFloor.Seconds()/minOurs.Seconds(), "ratio")
			b.ReportMetric(cpuFloor.Seconds()/cpuOurs.Seconds(), "cpu-ratio")
		})
	}
}

func TestBenchDocIsClean(t *testing.T) {
	doc := benchDoc(3, 32)
	out, res, err := run(t, doc, map[string]string{"keep_uri_actions": "true"}, sanitize.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 0 {
		t.Errorf("benchmark document is not clean: %v", res.Actions)
	}
	if n := pageCount(t, out); n != -1 && n != 3 {
		t.Errorf("pages = %d", n)
	}
	if bytes.Count(out, []byte("/Title")) != 3 {
		t.Error("outline lost")
	}
}

// BenchmarkInspect measures the independent inspector on the same
// documents (the engine runs it on every output).
func BenchmarkInspect(b *testing.B) {
	for _, size := range benchSizes {
		doc := benchDocs()[size]
		b.Run(size, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			for b.Loop() {
				if fs := inspect(b, doc, true); len(fs) > 0 {
					b.Fatal(fs)
				}
			}
		})
	}
}
