package cloud

import (
	"testing"
	"time"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
)

// BenchmarkLazyDetect is the per-event cost of the parse and the model
// rules (and threat intelligence with 10,000 indicators) on deferred
// events (decided from the raw line) against parsed ones, over the §6
// stream and the 100 tenants' models; go-syslog parse-only of the same
// lines (BenchmarkGoSyslogParseOnly) is the baseline.
func BenchmarkLazyDetect(b *testing.B) {
	lines := intakestream.Lines(20_000)
	cfg := e2eConfig(b, b.TempDir())
	hub := benchIntel(b, 10_000)
	for _, c := range []struct {
		name        string
		lazy, intel bool
	}{{"parsed", false, false}, {"deferred", true, false}, {"parsed+intel", false, true}, {"deferred+intel", true, true}} {
		lazy := c.lazy
		b.Run(c.name, func(b *testing.B) {
			var d Detector = NewModelDetector(cfg.Tenants, &countingWriter{})
			if c.intel {
				d = Detectors{d, NewIntelDetector(hub, &countingWriter{})}
			}
			p := logparse.New(time.UTC, nil)
			ev := &event.Event{}
			now := time.Now()
			c0 := cpuTime()
			for i := 0; b.Loop(); i++ {
				f := ev.Fields
				*ev = event.Event{Tenant: cfg.Tenants[i%e2eTenants].ID, Received: now, Fields: f}
				parseAs(p, lazy, lines[i%len(lines)], ev)
				d.Detect(ev)
			}
			b.ReportMetric(float64((cpuTime()-c0).Nanoseconds())/float64(b.N), "cpu-ns/event")
		})
	}
}
