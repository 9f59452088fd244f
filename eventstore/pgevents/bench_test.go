package pgevents_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
)

// benchEvents are proxy-like events of the given number of tenants.
func benchEvents(n, tenants int) []*event.Event {
	out := make([]*event.Event, n)
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for i := range out {
		ev := &event.Event{Tenant: fmt.Sprintf("city-%02d", i%tenants), Time: t0.Add(time.Duration(i) * time.Millisecond), Received: t0, Source: "squid", Host: "proxy1",
			Raw: fmt.Sprintf("1700000000.123 5 10.20.0.%d TCP_MISS/200 1024 GET http://example.com/x%d.js - HIER_DIRECT/198.51.100.1 text/javascript", i%250, i)}
		ev.Set(event.SrcIP, fmt.Sprintf("10.20.0.%d", i%250))
		ev.Set(event.CURI, fmt.Sprintf("http://example.com/x%d.js", i))
		ev.Set(event.CSHost, "example.com")
		ev.Set(event.CSMethod, "GET")
		ev.Set(event.Action, "TCP_MISS")
		ev.Set(event.SCStatus, "200")
		out[i] = ev
	}
	return out
}

type appender interface{ Append(...*event.Event) error }

// benchAppend appends b.N events in batches of 256 (the intake batch).
func benchAppend(b *testing.B, st appender, flush func() error, tenants int) {
	evs := benchEvents(100_000, tenants)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += 256 {
		k := min(256, b.N-i)
		j := i % len(evs)
		if j+k > len(evs) {
			j = 0
		}
		if err := st.Append(evs[j : j+k]...); err != nil {
			b.Fatal(err)
		}
	}
	if err := flush(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkAppendSegments is the baseline: the embedded segment store.
func BenchmarkAppendSegments(b *testing.B) {
	st, err := eventstore.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.Run("tenants=100", func(b *testing.B) { benchAppend(b, st, st.Flush, 100) })
	b.Run("tenants=1", func(b *testing.B) { benchAppend(b, st, st.Flush, 1) })
}

// BenchmarkAppendPostgres: the same events into PostgreSQL as the
// non-superuser application role (row-level security on). A batch is one
// transaction with one INSERT per tenant in it.
func BenchmarkAppendPostgres(b *testing.B) {
	srv := pgtest.Start(b)
	_, app := setup(b, srv)
	st, err := pgevents.Open(app)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.Run("tenants=100", func(b *testing.B) { benchAppend(b, st, st.Flush, 100) })
	b.Run("tenants=1", func(b *testing.B) { benchAppend(b, st, st.Flush, 1) })
}

type searcher interface {
	appender
	Search(eventstore.Query, func(*event.Event) bool) error
}

// benchSearch: 200,000 events of 100 tenants over 200 s, then one tenant's
// events of a 20 s window with a field filter (what the console asks).
func benchSearch(b *testing.B, st searcher) {
	evs := benchEvents(200_000, 100)
	for i := 0; i < len(evs); i += 1000 {
		if err := st.Append(evs[i : i+1000]...); err != nil {
			b.Fatal(err)
		}
	}
	t0 := evs[0].Time
	q := eventstore.Query{Tenant: "city-07", From: t0.Add(100 * time.Second), To: t0.Add(120 * time.Second),
		Filters: []eventstore.Filter{{Field: "c-uri", Op: eventstore.Contains, Value: ".JS"}}}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		if err := st.Search(q, func(*event.Event) bool { n++; return true }); err != nil || n != 200 {
			b.Fatalf("%d events, %v", n, err)
		}
	}
}

func BenchmarkSearchSegments(b *testing.B) {
	st, _ := eventstore.Open(b.TempDir())
	defer st.Close()
	benchSearch(b, st)
}

func BenchmarkSearchPostgres(b *testing.B) {
	_, app := setup(b, pgtest.Start(b))
	st, err := pgevents.Open(app)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	benchSearch(b, st)
}
