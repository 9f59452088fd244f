package cloud

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/kyojin/kyojin/cloud/natstest"
	"github.com/kyojin/kyojin/eventstore"
)

// benchPipeline submits b.N lines of benchStream for one tenant and waits
// until the last is stored: intake → (JetStream →) parse worker → segment
// store. The embedded path is the baseline of the bus path in the same run
// (docs/performance-scale.md).
func benchPipeline(b *testing.B, bus string) {
	cfg := loadTestConfig(b, fmt.Sprintf(floodConfig, 65536, bus))
	st, _ := eventstore.Open(b.TempDir())
	in := NewIntake(cfg, st, discardLog())
	if bus != "" {
		bc, err := ConnectBus(context.Background(), cfg, "bench", discardLog())
		if err != nil {
			b.Fatal(err)
		}
		bc.Publish(in)
		if err := bc.Consume(context.Background(), in); err != nil {
			b.Fatal(err)
		}
		defer bc.Close()
		defer bc.StopConsuming()
	}
	in.Start(1)
	lines := benchStream(10000)
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if err := in.Submit(ctx, "city-a", "syslog", lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
	}
	c := in.Counter("city-a")
	for c.Parsed.Load()+c.Failed.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	in.Close()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	st.Close()
}

func BenchmarkPipelineEmbedded(b *testing.B) { benchPipeline(b, "") }

func BenchmarkPipelineJetStream(b *testing.B) {
	ns := natstest.Start(b)
	benchPipeline(b, fmt.Sprintf("bus: {url: %q, tenant_max_msgs: 10000000, fetch: 1024}\n", ns.URL))
}
