package tamper

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchFiles is the size of the generated web roots (issue 9 §4: 100,000
// files); TAMPER_BENCH_FILES overrides it for a quick run.
func benchFiles() int {
	if n, err := strconv.Atoi(os.Getenv("TAMPER_BENCH_FILES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// genRoots writes n files over 4 web roots, 100 files per directory, sizes
// 256 B–4 KiB (typical of HTML, CSS, small images), and returns the roots
// and every file path.
func genRoots(b *testing.B, dir string, n int) (roots, files []string) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096)
	for i := range buf {
		buf[i] = byte(r.IntN(256))
	}
	for k := range 4 {
		roots = append(roots, filepath.Join(dir, fmt.Sprintf("site%d", k)))
	}
	for i := range n {
		root := roots[i%4]
		j := i / 4
		d := filepath.Join(root, fmt.Sprintf("d%03d", j/10000), fmt.Sprintf("s%03d", j/100%100))
		if j%100 == 0 {
			if err := os.MkdirAll(d, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		p := filepath.Join(d, fmt.Sprintf("page%06d.html", j))
		buf[0], buf[1], buf[2] = byte(i), byte(i>>8), byte(i>>16) // distinct content
		if err := os.WriteFile(p, buf[:256+r.IntN(4096-256)], 0o644); err != nil {
			b.Fatal(err)
		}
		files = append(files, p)
	}
	return roots, files
}

// plainSHA256 is the baseline: open, read and hash each file of a known
// list with the given number of goroutines — no walk, no stat, no compare.
func plainSHA256(files []string, workers int) (int64, error) {
	var next, total atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for range workers {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			for {
				i := next.Add(1) - 1
				if i >= int64(len(files)) {
					return
				}
				f, err := os.Open(files[i])
				if err != nil {
					firstErr.Store(err)
					return
				}
				h := sha256.New()
				n, err := io.CopyBuffer(h, f, buf)
				f.Close()
				if err != nil {
					firstErr.Store(err)
					return
				}
				h.Sum(nil)
				total.Add(n)
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return total.Load(), nil
}

// rawSHA256 is plainSHA256 with bare system calls (open by full path,
// read, close; no os.File): how much of plain's cost is Go's file
// bookkeeping rather than the kernel's work.
func rawSHA256(files []string) error {
	buf := make([]byte, 64<<10)
	for _, p := range files {
		fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.CopyBuffer(h, fdReader(fd), buf)
		syscall.Close(fd)
		if err != nil {
			return err
		}
		h.Sum(nil)
	}
	return nil
}

// BenchmarkFullScan compares a full tamper scan (walk, fstat, SHA-256,
// compare with the signed baseline) of 100,000 files across 4 web roots
// with plain SHA-256 over the same files, in the same run, at 1 worker and
// at GOMAXPROCS workers. Target: scan ≤ 1.2 × plain.
func BenchmarkFullScan(b *testing.B) {
	dir := b.TempDir()
	n := benchFiles()
	start := time.Now()
	roots, files := genRoots(b, dir, n)
	b.Logf("generated %d files in %v", len(files), time.Since(start))
	key := filepath.Join(dir, "k")
	if err := GenerateKey(key); err != nil {
		b.Fatal(err)
	}
	s := &Site{ID: "www", Tenant: "pref", Roots: roots, Baseline: filepath.Join(dir, "baseline"), Key: key, fetchTimeout: time.Second, MaxBytes: 1 << 20}
	if _, _, err := MakeBaseline(context.Background(), s, discardLog()); err != nil {
		b.Fatal(err)
	}
	m, err := Open(context.Background(), s, newRecorder(), discardLog())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	bytes, err := plainSHA256(files, 1) // warm the page cache for both
	if err != nil {
		b.Fatal(err)
	}
	// The machine is shared: each iteration runs both, back to back, so
	// load swings hit both sides of the ratio alike.
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("interleaved/workers=%d", w), func(b *testing.B) {
			m.Workers = w
			var plain, raw, scan time.Duration
			for b.Loop() {
				t0 := time.Now()
				if _, err := plainSHA256(files, w); err != nil {
					b.Fatal(err)
				}
				if w == 1 {
					tr := time.Now()
					if err := rawSHA256(files); err != nil {
						b.Fatal(err)
					}
					raw += time.Since(tr)
					t0 = t0.Add(time.Since(tr)) // plain excludes the raw run
				}
				t1 := time.Now()
				if changes, err := m.Scan(context.Background()); err != nil || len(changes) != 0 {
					b.Fatalf("scan: %v, %d changes", err, len(changes))
				}
				plain, scan = plain+t1.Sub(t0), scan+time.Since(t1)
			}
			b.ReportMetric(plain.Seconds()/float64(b.N), "plain-s/op")
			b.ReportMetric(scan.Seconds()/float64(b.N), "scan-s/op")
			b.ReportMetric(scan.Seconds()/plain.Seconds(), "scan/plain")
			if w == 1 {
				b.ReportMetric(raw.Seconds()/float64(b.N), "raw-s/op")
				b.ReportMetric(scan.Seconds()/raw.Seconds(), "scan/raw")
			}
		})
	}
	for _, w := range []int{1, 2} {
		b.Run(fmt.Sprintf("plain-sha256/workers=%d", w), func(b *testing.B) {
			b.SetBytes(bytes)
			for b.Loop() {
				if _, err := plainSHA256(files, w); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(files))*float64(b.N)/b.Elapsed().Seconds(), "files/s")
		})
		b.Run(fmt.Sprintf("tamper-scan/workers=%d", w), func(b *testing.B) {
			m.Workers = w
			b.SetBytes(bytes)
			for b.Loop() {
				changes, err := m.Scan(context.Background())
				if err != nil || len(changes) != 0 {
					b.Fatalf("scan: %v, %d changes", err, len(changes))
				}
			}
			b.ReportMetric(float64(len(files))*float64(b.N)/b.Elapsed().Seconds(), "files/s")
		})
	}
}

// BenchmarkDetectionLatency measures the time from a file change to its
// alert while watching 100,000 files (default 100 ms debounce). Target < 2 s.
func BenchmarkDetectionLatency(b *testing.B) {
	dir := b.TempDir()
	roots, files := genRoots(b, dir, benchFiles())
	key := filepath.Join(dir, "k")
	if err := GenerateKey(key); err != nil {
		b.Fatal(err)
	}
	s := &Site{ID: "www", Tenant: "pref", Roots: roots, Baseline: filepath.Join(dir, "baseline"), Key: key,
		interval: time.Hour, debounce: DefaultDebounce, fetchTimeout: time.Second, MaxBytes: 1 << 20}
	if _, _, err := MakeBaseline(context.Background(), s, discardLog()); err != nil {
		b.Fatal(err)
	}
	alerts := make(chan Change, 16)
	m, err := Open(context.Background(), s, AlerterFunc(func(_ context.Context, c Change) error { alerts <- c; return nil }), discardLog())
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	ready := make(chan struct{})
	m.onReady = func() { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Watch(ctx) }()
	defer func() { cancel(); <-done }()
	<-ready
	var worst time.Duration
	i := 0
	for b.Loop() {
		i++
		target := files[(i*7919)%len(files)]
		start := time.Now()
		if err := os.WriteFile(target, fmt.Appendf(nil, "<p>defaced %d</p>", i), 0o644); err != nil {
			b.Fatal(err)
		}
		select {
		case c := <-alerts:
			if c.Path != target {
				b.Fatalf("alert for %s, changed %s", c.Path, target)
			}
		case <-time.After(10 * time.Second):
			b.Fatal("no alert within 10 s")
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Milliseconds()), "worst-ms")
}
