package transfer_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/transfertest"
)

// timedEngine measures the time spent inside the engine.
type timedEngine struct {
	e  transfer.Engine
	ns atomic.Int64
}

func (t *timedEngine) Process(ctx context.Context, s sanitize.Submission) (*sanitize.Outcome, error) {
	st := time.Now()
	defer func() { t.ns.Add(int64(time.Since(st))) }()
	return t.e.Process(ctx, s)
}

// benchDocs writes n documents of 1-20 MB: macro-enabled Word files
// (padded with a stored media part) and ASCII CSV, alternating. (Large
// UTF-8 CSV with Japanese is detected as binary when the detection head
// ends inside a character: a sanitize issue reported separately.)
func benchDocs(b *testing.B, n int) (ups []transfer.Upload, total int64) {
	dir := b.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		size := (1 + r.IntN(20)) << 20
		var data []byte
		name := fmt.Sprintf("doc%03d", i)
		if i%2 == 0 {
			data, name = transfertest.Docm(b, "見積書", size), name+".docm"
		} else {
			var buf bytes.Buffer
			for row := 0; buf.Len() < size; row++ {
				fmt.Fprintf(&buf, "%d,Chiyoda-ku Tokyo,%d,application copy,2026-04-01\n", row, row*37)
			}
			data, name = buf.Bytes(), name+".csv"
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			b.Fatal(err)
		}
		ups = append(ups, transfer.Upload{Name: name, Path: p, Size: int64(len(data))})
		total += int64(len(data))
	}
	return ups, total
}

// BenchmarkTransfer100 runs 100 concurrent Internet → LGWAN transfers of
// one 1-20 MB document each, end to end (engine, output copy, store,
// audit), against the baseline of the engine alone on the same files at
// the same concurrency; then the same files as LGWAN → Internet exports
// classified 機密性2, whose outputs are encrypted (AES-256 ZIP). Run with
// -benchtime=1x; figures in docs/performance-transfer.md.
func BenchmarkTransfer100(b *testing.B) {
	const n = 100
	ups, total := benchDocs(b, n)
	for range b.N {
		// Baseline: the engine alone.
		env := transfertest.New(b, transfer.Policy{Retention: time.Hour, LinkTTL: time.Minute})
		eng := env.Service.Engine
		st := time.Now()
		var wg sync.WaitGroup
		for _, u := range ups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f, _ := os.Open(u.Path)
				defer f.Close()
				out, err := eng.Process(context.Background(), sanitize.Submission{Name: u.Name, R: f, Size: u.Size})
				if err != nil {
					b.Error(err)
					return
				}
				out.Close()
			}()
		}
		wg.Wait()
		engineWall := time.Since(st)

		for _, ph := range []struct {
			name  string
			side  transfer.Side
			class string
		}{{"import", transfer.SideInternet, ""}, {"export-encrypted", transfer.SideLGWAN, "2"}} {
			wall, lat, share := benchService(b, ups, ph.side, ph.class)
			b.ReportMetric(float64(total)/(1<<20)/wall.Seconds(), ph.name+"-MB/s")
			b.ReportMetric(n/wall.Seconds(), ph.name+"-transfers/s")
			b.ReportMetric(lat[n*95/100-1].Seconds(), ph.name+"-p95-s")
			b.ReportMetric(share, ph.name+"-engine-share")
			b.ReportMetric(wall.Seconds()/engineWall.Seconds(), ph.name+"-service/engine")
			b.Logf("%s: %d transfers, %.0f MB: service %v, engine alone %v, p50 %v, p95 %v, engine share of per-transfer time %.1f%%",
				ph.name, n, float64(total)/(1<<20), wall.Round(time.Millisecond), engineWall.Round(time.Millisecond),
				lat[n/2].Round(time.Millisecond), lat[n*95/100-1].Round(time.Millisecond), 100*share)
		}
	}
}

// benchService submits every upload as its own transfer, all at once, and
// returns the wall time, the sorted per-transfer latencies (to available,
// or to stored awaiting approval for exports) and the engine's share of
// the summed latencies.
func benchService(b *testing.B, ups []transfer.Upload, side transfer.Side, class string) (time.Duration, []time.Duration, float64) {
	env := transfertest.New(b, transfer.Policy{Retention: time.Hour, LinkTTL: time.Minute, EncryptFromRank: 2})
	te := &timedEngine{e: env.Service.Engine}
	env.Service.Engine = te
	lat := make([]time.Duration, len(ups))
	var wg sync.WaitGroup
	st := time.Now()
	for i, u := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.Now()
			res, err := env.Service.Submit(context.Background(), &transfer.Request{Side: side, Sender: "vendor",
				Recipients: []string{"bob"}, Purpose: "bench", Classification: class, Files: []transfer.Upload{u}})
			if err != nil {
				b.Error(err)
				return
			}
			if res.Files[0].OutName == "" || (side == transfer.SideInternet && res.Transfer.Status != transfer.StatusAvailable) ||
				(class != "" && !res.Transfer.Encrypt) {
				b.Errorf("%s: %s %s %s", u.Name, res.Transfer.Status, res.Files[0].Verdict, res.Files[0].Reason)
			}
			lat[i] = time.Since(t0)
		}()
	}
	wg.Wait()
	wall := time.Since(st)
	slices.Sort(lat)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	return wall, lat, float64(te.ns.Load()) / float64(sum)
}
