package transfer_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/transfertest"
)

// BenchmarkTransfer100 runs 100 concurrent Internet → LGWAN transfers of
// one 1-20 MB document each, end to end (engine, output copy, store,
// audit), against the baseline of the engine alone on the same files at
// the same concurrency; then the same files as LGWAN → Internet exports
// classified 機密性2, whose outputs are encrypted (AES-256 ZIP). Run with
// -benchtime=1x; figures in docs/performance-transfer.md.
func BenchmarkTransfer100(b *testing.B) {
	const n = 100
	ups, total := transfertest.MixedDocs(b, b.TempDir(), n)
	for range b.N {
		env := transfertest.New(b, transfer.Policy{Retention: time.Hour, LinkTTL: time.Minute})
		engineWall := transfertest.EngineAlone(b, env.Service.Engine, ups)

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
	te := &transfertest.TimedEngine{E: env.Service.Engine}
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
	return wall, lat, float64(te.Spent()) / float64(sum)
}
