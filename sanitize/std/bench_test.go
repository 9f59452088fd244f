package std_test

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/imagefile"
)

// photoPNG is a photo-like image (noise over gradients, so it compresses
// like a photograph rather than like a flat colour) of w×h pixels.
func photoPNG(tb testing.TB, w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(24))
			img.Set(x, y, color.RGBA{uint8(x/8) + n, uint8(y/8) + n, uint8((x+y)/16) + n, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// csvText is realistic CSV: a Japanese address-book-like table.
func csvText(n int) []byte {
	var b bytes.Buffer
	r := rand.New(rand.NewPCG(3, 4))
	b.WriteString("番号,氏名,住所,電話,金額\r\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%d,山田 太郎%d,東京都千代田区霞が関%d-%d,03-%04d-%04d,%d\r\n", i, r.IntN(1000), r.IntN(9), r.IntN(20), r.IntN(10000), r.IntN(10000), r.IntN(1000000))
	}
	return b.Bytes()
}

var benchPNGSizes = []struct {
	name string
	w, h int
}{{"400x300", 400, 300}, {"1600x1200", 1600, 1200}, {"4000x3000", 4000, 3000}}

// BenchmarkPNG compares, per size and adjacent in time (the machine is
// shared), the floor (standard-library decode and re-encode), the image
// handler alone, and the whole engine without clamd and quarantine
// (detection, handler, independent inspector that decodes again, hashes).
func BenchmarkPNG(b *testing.B) {
	limits := sanitize.DefaultPolicy().Limits
	e := newEngine(b, setup{})
	for _, s := range benchPNGSizes {
		if testing.Short() && s.w > 2000 {
			continue
		}
		data := photoPNG(b, s.w, s.h)
		b.Run(s.name+"/floor", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				img, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				if err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(io.Discard, img); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/handler", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				in := &sanitize.Input{Name: "a.png", Type: sanitize.TypePNG, R: bytes.NewReader(data), Size: int64(len(data)), Limits: limits}
				if _, err := (imagefile.Handler{}).Sanitize(context.Background(), in, io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/engine", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				out, err := e.Process(context.Background(), sanitize.Submission{Name: "a.png", R: bytes.NewReader(data), Size: int64(len(data))})
				if err != nil || out.Record().Verdict != sanitize.VerdictClean {
					b.Fatalf("%v %s %s", err, out.Record().Verdict, out.Record().Reason)
				}
				out.Close()
			}
		})
	}
}

// benchZip is a realistic office archive: CSV tables, text notes and photos.
func benchZip(b testing.TB, csvMembers, csvSize, photos int) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for i := range csvMembers {
		w, _ := zw.Create(fmt.Sprintf("data/table%03d.csv", i))
		w.Write(csvText(csvSize))
		w, _ = zw.Create(fmt.Sprintf("notes/note%03d.txt", i))
		w.Write([]byte(strings.Repeat("会議メモ：来年度予算について検討した。\n", 200)))
	}
	for i := range photos {
		w, _ := zw.Create(fmt.Sprintf("photos/p%02d.png", i))
		w.Write(photoPNG(b, 1600, 1200))
	}
	zw.Close()
	return buf.Bytes()
}

// BenchmarkZIP compares the floor (read the archive and rewrite it with the
// same compression, no changes) with the engine, in which every member is
// spooled, detected, sanitized and inspected and the rebuilt archive is
// inspected again.
func BenchmarkZIP(b *testing.B) {
	e := newEngine(b, setup{})
	for _, c := range []struct {
		name   string
		photos int
	}{{"text_only", 0}, {"with_photos", 4}} {
		data := benchZip(b, 20, 256<<10, c.photos)
		b.Run(c.name+"/floor", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					b.Fatal(err)
				}
				zw := zip.NewWriter(io.Discard)
				for _, f := range zr.File {
					rc, _ := f.Open()
					w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
					io.Copy(w, rc)
					rc.Close()
				}
				zw.Close()
			}
		})
		b.Run(c.name+"/engine", func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				out, err := e.Process(context.Background(), sanitize.Submission{Name: "a.zip", R: bytes.NewReader(data), Size: int64(len(data))})
				if err != nil || !out.Record().Verdict.Delivered() {
					b.Fatalf("%v %s %s", err, out.Record().Verdict, out.Record().Reason)
				}
				out.Close()
			}
		})
	}
}

// TestPeakRSS200MB builds a 200 MB archive, runs `kyojin sanitize` on it
// as a child process (quarantine on, clamd off) and checks the child's peak
// RSS stays under 256 MiB. It takes a minute, so it runs only with
// KYOJIN_BENCH_RSS=1.
func TestPeakRSS200MB(t *testing.T) {
	if os.Getenv("KYOJIN_BENCH_RSS") == "" {
		t.Skip("set KYOJIN_BENCH_RSS=1 to measure peak RSS on a 200 MB archive")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "kyojin")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/kyojin").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	arc := filepath.Join(dir, "big.zip")
	f, _ := os.Create(arc)
	zw := zip.NewWriter(f)
	photo := photoPNG(t, 2000, 1500)
	r := rand.New(rand.NewPCG(5, 6))
	noise := make([]byte, 1<<20)
	for i := 0; ; i++ {
		if st, _ := f.Stat(); st.Size() >= 200<<20 {
			break
		}
		if i%10 == 0 {
			w, _ := zw.Create(fmt.Sprintf("photos/p%03d.png", i))
			w.Write(photo)
			continue
		}
		// Hex of random bytes: text that deflates only 2:1, so the archive
		// really is 200 MB on disk.
		w, _ := zw.Create(fmt.Sprintf("logs/log%03d.txt", i))
		for range 4 {
			for j := range noise {
				noise[j] = byte(r.Uint32())
			}
			w.Write([]byte(fmt.Sprintf("%x\n", noise)))
		}
	}
	zw.Close()
	st, _ := f.Stat()
	f.Close()
	pol := filepath.Join(dir, "p.yaml")
	y := strings.Replace(string(sanitize.DefaultPolicyYAML()), "enabled: true\n  address", "enabled: false\n  address", 1)
	y = strings.Replace(y, "/var/lib/kyojin/quarantine", filepath.Join(dir, "q"), 1)
	os.WriteFile(pol, []byte(y), 0o644)
	cmd := exec.Command(bin, "sanitize", "--policy", pol, "-o", filepath.Join(dir, "out"), arc)
	cmd.Env = append(os.Environ(), "KYOJIN_QUARANTINE_KEY="+strings.Repeat("0f", 32))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sanitize: %v\n%s", err, out)
	}
	rss := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
	t.Logf("archive %d MB; peak RSS %d MiB; wall %v\n%s", st.Size()>>20, rss>>10, cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime(), out)
	if rss>>10 >= 256 {
		t.Errorf("peak RSS %d MiB ≥ 256 MiB", rss>>10)
	}
}

// cpuTime is the process's user+system CPU time: on a shared machine it is
// a steadier measure than wall time, which the benchmarks above use.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestCPURatios measures floor and engine by CPU time, alternating runs so
// that both see the same machine state, and logs MB/s per CPU-second and
// the ratio. Run with KYOJIN_BENCH=1 -v; docs/performance-sanitize-engine.md
// records the figures.
func TestCPURatios(t *testing.T) {
	if os.Getenv("KYOJIN_BENCH") == "" {
		t.Skip("set KYOJIN_BENCH=1 to measure throughput by CPU time")
	}
	e := newEngine(t, setup{})
	limits := sanitize.DefaultPolicy().Limits
	type work struct {
		name                   string
		data                   []byte
		floor, handler, engine func() error
	}
	engineRun := func(name string, data []byte) func() error {
		return func() error {
			out, err := e.Process(context.Background(), sanitize.Submission{Name: name, R: bytes.NewReader(data), Size: int64(len(data))})
			if err != nil {
				return err
			}
			defer out.Close()
			if !out.Record().Verdict.Delivered() {
				return fmt.Errorf("%s: %s", out.Record().Verdict, out.Record().Reason)
			}
			return nil
		}
	}
	var cases []work
	for _, s := range benchPNGSizes {
		data := photoPNG(t, s.w, s.h)
		cases = append(cases, work{
			name: "png " + s.name, data: data,
			floor: func() error {
				img, err := png.Decode(bytes.NewReader(data))
				if err != nil {
					return err
				}
				return (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(io.Discard, img)
			},
			handler: func() error {
				in := &sanitize.Input{Name: "a.png", Type: sanitize.TypePNG, R: bytes.NewReader(data), Size: int64(len(data)), Limits: limits}
				_, err := (imagefile.Handler{}).Sanitize(context.Background(), in, io.Discard)
				return err
			},
			engine: engineRun("a.png", data),
		})
	}
	for _, c := range []struct {
		name   string
		photos int
	}{{"zip text_only", 0}, {"zip with_photos", 4}} {
		data := benchZip(t, 20, 256<<10, c.photos)
		cases = append(cases, work{
			name: c.name, data: data,
			floor: func() error {
				zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
				if err != nil {
					return err
				}
				zw := zip.NewWriter(io.Discard)
				for _, f := range zr.File {
					rc, _ := f.Open()
					w, _ := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate})
					io.Copy(w, rc)
					rc.Close()
				}
				return zw.Close()
			},
			engine: engineRun("a.zip", data),
		})
	}
	measure := func(f func() error) time.Duration {
		runtime.GC()
		start := cpuTime()
		if err := f(); err != nil {
			t.Fatal(err)
		}
		return cpuTime() - start
	}
	for _, c := range cases {
		var floor, handler, engine time.Duration
		const rounds = 5
		for range rounds {
			floor += measure(c.floor)
			if c.handler != nil {
				handler += measure(c.handler)
			}
			engine += measure(c.engine)
		}
		mbps := func(d time.Duration) float64 {
			return float64(len(c.data)) * rounds / d.Seconds() / 1e6
		}
		line := fmt.Sprintf("%-22s %7.2f MB  floor %7.2f MB/s", c.name, float64(len(c.data))/1e6, mbps(floor))
		if c.handler != nil {
			line += fmt.Sprintf("  handler %7.2f MB/s (%.2f×)", mbps(handler), floor.Seconds()/handler.Seconds())
		}
		line += fmt.Sprintf("  engine %7.2f MB/s (%.2f×)", mbps(engine), floor.Seconds()/engine.Seconds())
		t.Log(line)
	}
}
