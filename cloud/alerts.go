package cloud

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyojin/kyojin/store"
)

// AlertSink receives alerts from the detectors. Raise is called on the
// parse workers' hot path: it must not block, and reports false when the
// alert could not be taken (the sink counts and logs it).
type AlertSink interface {
	Raise(al Alert) bool
}

// DedupFields are the alert fields a dedup key may be built from.
var DedupFields = []string{"host", "src_ip", "dst_ip", "source"}

// DefaultDedup is the dedup key of alerts unless configured: the same rule
// for the same tenant, host and addresses is one alert (issue 8 §3).
var DefaultDedup = []string{"host", "src_ip", "dst_ip"}

// DedupKey builds the key of al from fields (names from DedupFields).
func DedupKey(al *Alert, fields []string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('|')
		}
		switch f {
		case "host":
			b.WriteString(al.Host)
		case "src_ip":
			b.WriteString(al.SrcIP)
		case "dst_ip":
			b.WriteString(al.DstIP)
		case "source":
			b.WriteString(al.Source)
		}
	}
	return b.String()
}

// StoreSinkOptions configure a StoreSink; zero values take the defaults.
type StoreSinkOptions struct {
	Window     time.Duration // dedup window; default 10 minutes
	DedupBy    []string      // default DefaultDedup
	Queue      int           // bounded channel length; default 8192
	Batch      int           // most hits per transaction; default 512
	FlushEvery time.Duration // longest a hit waits; default 200 ms
	// Fallback, when set, receives as JSON lines every alert the store
	// could not take (after retries), so that nothing is lost silently.
	Fallback io.Writer
	Log      *slog.Logger
	Now      func() time.Time
	// Created, when set, is called by the writer after each stored batch
	// with the ids of the alerts it opened (not those merged or
	// suppressed): the hook for mail and webhook notification. It runs on
	// the writer goroutine, so it must hand off rather than send.
	Created func(ids []int64)
}

// AlertStats are a StoreSink's counters. Every raised alert ends in
// exactly one of Created/Merged (stored), Suppressed, Failed or Dropped.
type AlertStats struct {
	Raised     int64 // alerts handed to Raise
	Created    int64 // hits that opened a new alert
	Merged     int64 // hits folded into an open alert (dedup)
	Suppressed int64 // hits dropped by an active suppression (counted on it)
	Dropped    int64 // refused because the queue was full
	Failed     int64 // the store refused them (after retries); written to Fallback when set
}

// StoreSink writes alerts into the console's store (store.AlertStore)
// with deduplication and suppression. Raise only queues; one goroutine
// batches the queue into transactions, so the detection hot path never
// waits for the database.
type StoreSink struct {
	st   store.AlertStore
	o    StoreSinkOptions
	ch   chan Alert
	done chan struct{}

	raised, created, merged, suppressed, dropped, failed atomic.Int64
	fbMu                                                 sync.Mutex

	// known maps a dedup id to the alert its last hit went to: a hint that
	// saves the store a lookup (store.AlertStore.RecordAlerts checks it).
	// Only the writer goroutine uses it.
	known map[string]int64
}

// maxKnown bounds the hint cache; when full it starts over.
const maxKnown = 100_000

// NewStoreSink starts the writer; Close stops it after draining the queue.
func NewStoreSink(st store.AlertStore, o StoreSinkOptions) *StoreSink {
	if o.Window <= 0 {
		o.Window = 10 * time.Minute
	}
	if len(o.DedupBy) == 0 {
		o.DedupBy = DefaultDedup
	}
	if o.Queue <= 0 {
		o.Queue = 8192
	}
	if o.Batch <= 0 {
		o.Batch = 512
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = 200 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &StoreSink{st: st, o: o, ch: make(chan Alert, o.Queue), done: make(chan struct{}), known: map[string]int64{}}
	go s.run()
	return s
}

// Raise implements AlertSink: it queues al without blocking; a full queue
// refuses it and counts it as dropped.
func (s *StoreSink) Raise(al Alert) bool {
	s.raised.Add(1)
	select {
	case s.ch <- al:
		return true
	default:
		if n := s.dropped.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8…
			s.o.Log.Warn("cloud: alert queue full, alert not stored", "tenant", al.Tenant, "rule", al.Rule, "dropped", n)
		}
		s.fallback([]Alert{al})
		return false
	}
}

// Close stops accepting, stores what is queued and returns. Raise must not
// be called after Close.
func (s *StoreSink) Close() error {
	close(s.ch)
	<-s.done
	return nil
}

// Stats returns the counters.
func (s *StoreSink) Stats() AlertStats {
	return AlertStats{Raised: s.raised.Load(), Created: s.created.Load(), Merged: s.merged.Load(), Suppressed: s.suppressed.Load(),
		Dropped: s.dropped.Load(), Failed: s.failed.Load()}
}

func (s *StoreSink) run() {
	defer close(s.done)
	batch := make([]Alert, 0, s.o.Batch)
	tick := time.NewTicker(s.o.FlushEvery)
	defer tick.Stop()
	for {
		select {
		case al, ok := <-s.ch:
			if !ok {
				s.flush(batch)
				return
			}
			batch = append(batch, al)
			if len(batch) == cap(batch) {
				s.flush(batch)
				batch = batch[:0]
			}
		case <-tick.C:
			s.flush(batch)
			batch = batch[:0]
		}
	}
}

// Hits folds a batch of alerts into store hits: alerts of one (tenant,
// rule, dedup key) no further apart than window become one hit with a
// count, so a flood costs one row update per batch rather than one per
// alert.
func Hits(batch []Alert, dedupBy []string, window time.Duration) []store.Alert {
	out := make([]store.Alert, 0, len(batch))
	last := map[string]int{} // dedup id → index in out
	for i := range batch {
		al := &batch[i]
		key := DedupKey(al, dedupBy)
		id := dedupID(al.Tenant, al.Rule, key)
		ev := store.AlertEvent{Time: al.Time, Source: al.Source, Host: al.Host, Raw: al.Raw,
			Ref: al.Tenant + "/" + al.Time.UTC().Format("2006-01-02")}
		if j, ok := last[id]; ok && al.Time.Sub(out[j].LastSeen) <= window && out[j].FirstSeen.Sub(al.Time) <= window {
			h := &out[j]
			h.Count++
			if al.Time.After(h.LastSeen) {
				h.LastSeen = al.Time
			}
			if al.Time.Before(h.FirstSeen) {
				h.FirstSeen = al.Time
			}
			if len(h.Events) < store.MaxAlertEvents {
				h.Events = append(h.Events, ev)
			}
			continue
		}
		last[id] = len(out)
		out = append(out, store.Alert{Tenant: al.Tenant, Rule: al.Rule, Title: al.Title, Level: al.Level, Credit: al.Credit,
			Source: al.Source, Host: al.Host, SrcIP: al.SrcIP, DstIP: al.DstIP, DedupKey: key,
			FirstSeen: al.Time, LastSeen: al.Time, Count: 1, Events: []store.AlertEvent{ev}})
	}
	return out
}

func dedupID(tenant, rule, key string) string { return tenant + "\x00" + rule + "\x00" + key }

func hitID(h *store.Alert) string { return dedupID(h.Tenant, h.Rule, h.DedupKey) }

// flush stores a batch, retrying transient failures; what still fails is
// counted, logged and written to the fallback.
func (s *StoreSink) flush(batch []Alert) {
	if len(batch) == 0 {
		return
	}
	hits := Hits(batch, s.o.DedupBy, s.o.Window)
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 100 * time.Millisecond)
		}
		for i := range hits { // a failed attempt may have left ids of rolled-back rows
			hits[i].ID = s.known[hitID(&hits[i])]
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var st store.RecordStats
		st, err = s.st.RecordAlerts(ctx, hits, s.o.Window, s.o.Now())
		cancel()
		if err == nil {
			// Every alert of the batch is suppressed, the first of a new
			// row, or merged into a row.
			s.created.Add(int64(st.Created))
			s.suppressed.Add(st.Suppressed)
			s.merged.Add(int64(len(batch)) - st.Suppressed - int64(st.Created))
			if len(s.known) > maxKnown {
				clear(s.known)
			}
			for i := range hits {
				if hits[i].ID != 0 {
					s.known[hitID(&hits[i])] = hits[i].ID
				}
			}
			if s.o.Created != nil && len(st.CreatedIDs) > 0 {
				s.o.Created(st.CreatedIDs)
			}
			return
		}
	}
	s.failed.Add(int64(len(batch)))
	s.o.Log.Error("cloud: storing alerts failed", "alerts", len(batch), "err", err)
	s.fallback(batch)
}

func (s *StoreSink) fallback(alerts []Alert) {
	if s.o.Fallback == nil {
		return
	}
	s.fbMu.Lock()
	defer s.fbMu.Unlock()
	enc := json.NewEncoder(s.o.Fallback)
	for _, al := range alerts {
		if err := enc.Encode(al); err != nil {
			s.o.Log.Error("cloud: alert fallback write failed", "err", err)
			return
		}
	}
}
