package transfer_test

import (
	"context"
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
			wall, lat, spent := benchService(b, ups, ph.side, ph.class)
			transfertest.Report(b, ph.name+"-", total, wall, engineWall, spent, lat)
		}
	}
}

// benchService submits every upload as its own transfer, all at once, and
// returns the wall time, the per-transfer latencies (to available, or to
// stored awaiting approval for exports) and the time inside the engine.
func benchService(b *testing.B, ups []transfer.Upload, side transfer.Side, class string) (time.Duration, []time.Duration, time.Duration) {
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
	return time.Since(st), lat, te.Spent()
}
