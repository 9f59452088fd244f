package notify

import (
	"sync"
	"testing"
	"time"
)

// The benchmarks deliver b.N webhook notifications to the same real HTTPS
// receiver (httptest TLS server, signature verified) either directly
// (sign + POST, no outbox) or through the durable outbox (Enqueue with
// fsync, then Process with Outbox.Workers concurrent deliveries). The
// ratio is docs/performance-notify.md's figure.

func benchSetup(b *testing.B) (*Dispatcher, *receiver) {
	r := newReceiver(b, time.Now)
	c := hookConfig(b, b.TempDir(), r, oneRoute)
	d, err := New(c, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d, r
}

func benchItem(b *testing.B, d *Dispatcher) *Item {
	m := sample(KindAlert)
	rd, _ := Render(m, "ja")
	items, err := d.items(d.routes["all"], m, rd)
	if err != nil {
		b.Fatal(err)
	}
	return items[0]
}

// BenchmarkWebhookDirect is the baseline: one POST after the other.
func BenchmarkWebhookDirect(b *testing.B) {
	d, r := benchSetup(b)
	it := benchItem(b, d)
	h := d.hooks["soc"]
	b.ResetTimer()
	for range b.N {
		if err := h.send(b.Context(), it, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if int(r.hits.Load()) != b.N || r.badSig.Load() != 0 {
		b.Fatalf("hits %d bad %d", r.hits.Load(), r.badSig.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notif/s")
}

// BenchmarkWebhookDirectParallel posts with as many goroutines as the
// outbox has workers.
func BenchmarkWebhookDirectParallel(b *testing.B) {
	d, r := benchSetup(b)
	it := benchItem(b, d)
	h := d.hooks["soc"]
	b.ResetTimer()
	var wg sync.WaitGroup
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	for range d.cfg.Outbox.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if err := h.send(b.Context(), it, time.Now()); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if int(r.hits.Load()) != b.N {
		b.Fatalf("hits %d", r.hits.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notif/s")
}

// BenchmarkWebhookOutbox: Enqueue (durable) then delivery by the
// dispatcher, all b.N delivered before the clock stops; one producer.
func BenchmarkWebhookOutbox(b *testing.B) { benchOutbox(b, 1) }

// BenchmarkWebhookOutbox8: the same with 8 producers (detection workers).
func BenchmarkWebhookOutbox8(b *testing.B) { benchOutbox(b, 8) }

// deliverAll runs the dispatcher until b.N deliveries went through.
func deliverAll(b *testing.B, d *Dispatcher) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		delivered := 0
		for delivered < b.N {
			delivered += d.Process(b.Context())
			if delivered < b.N {
				select {
				case <-d.wake:
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
	}()
	return done
}

func benchOutbox(b *testing.B, producers int) {
	d, r := benchSetup(b)
	m := sample(KindAlert)
	b.ResetTimer()
	done := deliverAll(b, d)
	work := make(chan struct{}, b.N)
	for range b.N {
		work <- struct{}{}
	}
	close(work)
	var wg sync.WaitGroup
	for range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range work {
				if _, err := d.Enqueue(b.Context(), m); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	<-done
	b.StopTimer()
	if int(r.hits.Load()) != b.N || len(r.payloads()) != b.N {
		b.Fatalf("hits %d", r.hits.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notif/s")
}

// BenchmarkWebhookOutboxBatch100: one producer handing alerts over in
// batches of 100 (EnqueueBatch), then delivery.
func BenchmarkWebhookOutboxBatch100(b *testing.B) {
	d, r := benchSetup(b)
	m := sample(KindAlert)
	b.ResetTimer()
	done := deliverAll(b, d)
	for sent := 0; sent < b.N; sent += 100 {
		batch := make([]Message, min(100, b.N-sent))
		for i := range batch {
			batch[i] = m
		}
		if _, err := d.EnqueueBatch(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	<-done
	b.StopTimer()
	if int(r.hits.Load()) != b.N {
		b.Fatalf("hits %d", r.hits.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notif/s")
}

// BenchmarkEnqueue is the durable write alone.
func BenchmarkEnqueue(b *testing.B) {
	d, _ := benchSetup(b)
	m := sample(KindAlert)
	b.ResetTimer()
	for range b.N {
		if _, err := d.Enqueue(b.Context(), m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notif/s")
}

// BenchmarkEnqueueParallel: 16 producers (detection workers) enqueue at
// once; ext4 commits their fsyncs together.
func BenchmarkEnqueueParallel(b *testing.B) {
	d, _ := benchSetup(b)
	m := sample(KindAlert)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Enqueue(b.Context(), m); err != nil {
				b.Error(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notif/s")
}

// BenchmarkFsyncFloor is the disk's bound for one durable commit: the same
// writeDurable the outbox uses, on a small value.
func BenchmarkFsyncFloor(b *testing.B) {
	dir := b.TempDir()
	if err := openOutbox(dir); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		if err := writeDurable(dir, dirPending, newID(time.Now())+".json", i); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commits/s")
}
