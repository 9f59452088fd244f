// Package cloud is the prefecture security cloud's intake (自治体情報
// セキュリティクラウド, issue 8): tenants from a strict YAML configuration,
// syslog over UDP, TCP and TLS (RFC 5426, RFC 6587, RFC 5425), an HTTP
// endpoint for JSON/NDJSON batches, a bounded queue with backpressure,
// parsing into event.Event and storage in eventstore.
//
// A line belongs to a tenant only by how it arrived — listener, client
// certificate, source address or token — never by its content, so one
// municipality cannot write into another's records by forging a hostname.
package cloud

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
)

// Unassigned is the counter key for lines no tenant claims.
const Unassigned = "_unassigned"

// Counters are one tenant's intake figures.
type Counters struct {
	Received atomic.Int64 // lines accepted into the queue
	Parsed   atomic.Int64 // stored with normalized fields
	Failed   atomic.Int64 // stored raw with a parse error
	Dropped  atomic.Int64 // lost: UDP queue full, no tenant, storage error
	// Framing counts TCP/TLS streams cut short by a framing error (an
	// octet count beyond 1 GiB, RFC 6587 §3.4.1): the rest of such a
	// stream cannot be split into messages, so the connection is closed.
	Framing atomic.Int64
}

// Snapshot is a copy of Counters.
type Snapshot struct {
	Received, Parsed, Failed, Dropped, Framing int64
}

type item struct {
	tenant, format string
	line           []byte
	lines          [][]byte // a batch (SubmitBatch): set instead of line
	block          []byte   // the block lines are slices of (SubmitBlock), or nil
	received       time.Time
	ack            func(stored bool) // set for lines from the bus: acknowledged once stored
	flush          bool              // no line: the queue went idle, store what is batched
}

// Intake owns the queue, the parse workers and the counters.
type Intake struct {
	cfg   *Config
	store EventStore
	log   *slog.Logger
	queue chan item
	now   func() time.Time

	lanes   *fairQueue   // per-tenant lanes feeding queue fairly (fairqueue.go)
	front   front        // where Submit sends lines: lanes, or the bus (bus.go)
	workers atomic.Int32 // started parse workers (each gets the idle flush marker)

	mu       sync.Mutex
	counters map[string]*Counters
	detect   Detector

	wg sync.WaitGroup
}

// NewIntake prepares intake for cfg into store (nil on an intake-only node,
// bus.go). Call Start, then Close.
func NewIntake(cfg *Config, store EventStore, log *slog.Logger) *Intake {
	in := &Intake{cfg: cfg, store: store, log: log, queue: make(chan item),
		now: time.Now, counters: map[string]*Counters{Unassigned: {}}}
	in.lanes = newFairQueue(cfg.laneSize())
	in.front = in.lanes
	go in.lanes.dispatch(in.queue, func() int { return int(in.workers.Load()) })
	for _, t := range cfg.Tenants {
		in.counters[t.ID] = &Counters{}
	}
	return in
}

// Counter returns the counters of tenant (Unassigned for unknown).
func (in *Intake) Counter(tenant string) *Counters {
	in.mu.Lock()
	defer in.mu.Unlock()
	c := in.counters[tenant]
	if c == nil {
		c = in.counters[Unassigned]
	}
	return c
}

// Stats returns a snapshot of every tenant's counters.
func (in *Intake) Stats() map[string]Snapshot {
	in.mu.Lock()
	keys := slices.Collect(maps.Keys(in.counters))
	in.mu.Unlock()
	out := map[string]Snapshot{}
	for _, k := range keys {
		c := in.Counter(k)
		out[k] = Snapshot{c.Received.Load(), c.Parsed.Load(), c.Failed.Load(), c.Dropped.Load(), c.Framing.Load()}
	}
	return out
}

// Start runs n parse workers until Close.
func (in *Intake) Start(n int) {
	for range max(n, 1) {
		in.workers.Add(1)
		in.wg.Add(1)
		go in.worker()
	}
}

// Close stops accepting, drains the queue and flushes storage. Listeners
// must be stopped first.
func (in *Intake) Close() error {
	in.lanes.close() // the dispatcher drains the lanes, then closes queue
	in.wg.Wait()
	if in.store == nil {
		return nil
	}
	return in.store.Flush()
}

// Submit queues a line, blocking while the queue is full (TCP, TLS, HTTP:
// the sender is slowed down, nothing is dropped). It fails only when ctx
// ends.
func (in *Intake) Submit(ctx context.Context, tenant, format string, line []byte) error {
	if err := in.front.push(ctx, item{tenant: tenant, format: format, line: line, received: in.now()}, true); err != nil {
		in.Counter(tenant).Dropped.Add(1)
		return err
	}
	in.Counter(tenant).Received.Add(1)
	return nil
}

// maxBatch is the most lines one SubmitBatch item holds: a lane's turn in
// the fair queue is one item.
const maxBatch = 256

// count is the number of lines the item carries.
func (it *item) count() int {
	if it.lines != nil {
		return len(it.lines)
	}
	if it.flush {
		return 0
	}
	return 1
}

// SubmitBatch queues lines of one tenant and format that arrived together
// (what a stream had buffered), blocking while the tenant's queue is full:
// one queue operation for the lot. lines must not be modified afterwards.
func (in *Intake) SubmitBatch(ctx context.Context, tenant, format string, lines [][]byte) error {
	return in.SubmitBlock(ctx, tenant, format, nil, lines)
}

// SubmitBlock is SubmitBatch for lines that are slices of one block, each
// with its capacity running to the block's end (ReadFrameBatches): the
// worker reads the block as a string and parses the lines as parts of it,
// with no copy. The block must never be written again by anyone: the
// events' Raw strings (and what keeps them, such as alerts) share it.
// block may be nil (each line is then copied, as SubmitBatch does).
func (in *Intake) SubmitBlock(ctx context.Context, tenant, format string, block []byte, lines [][]byte) error {
	if len(lines) == 0 {
		return nil
	}
	c := in.Counter(tenant)
	if err := in.front.push(ctx, item{tenant: tenant, format: format, block: block, lines: lines, received: in.now()}, true); err != nil {
		c.Dropped.Add(int64(len(lines)))
		return err
	}
	c.Received.Add(int64(len(lines)))
	return nil
}

// TrySubmit queues a line without blocking (UDP); a full queue drops the
// line and counts it.
func (in *Intake) TrySubmit(tenant, format string, line []byte) bool {
	if in.front.push(context.Background(), item{tenant: tenant, format: format, line: line, received: in.now()}, false) != nil {
		in.Counter(tenant).Dropped.Add(1)
		return false
	}
	in.Counter(tenant).Received.Add(1)
	return true
}

// Free reports how many lines of tenant the queue can take now.
func (in *Intake) Free(tenant string) int { return in.front.free(tenant) }

// Capacity is the most lines of one tenant the queue holds at once.
func (in *Intake) Capacity() int { return in.front.capacity() }

// Unclaimed counts a line that no tenant claims; it is not stored, since
// storing it would need a tenant guessed from content.
func (in *Intake) Unclaimed(listener string) {
	c := in.Counter(Unassigned)
	c.Received.Add(1)
	if n := c.Dropped.Add(1); n&(n-1) == 0 { // log at 1, 2, 4, 8, ...
		in.log.Warn("cloud: line from an unconfigured source dropped", "listener", listener, "total", n)
	}
}

const batchSize = 256

// drainMax bounds the lines a worker takes in a row without looking at its
// flush ticker.
const drainMax = 1024

func (in *Intake) worker() {
	defer in.wg.Done()
	p := logparse.New(in.cfg.Location(), in.now)
	acks := make([]func(bool), 0, batchSize) // of the lines in batch that came from the bus
	batch := make([]*event.Event, 0, batchSize)
	// Stored events are reused (with their field maps) when no detector
	// keeps them: storage encodes synchronously in Append.
	reuse := !keepsEvents(in.detect)
	var free []*event.Event
	newEvent := func(tenant string, received time.Time) *event.Event {
		if n := len(free); n > 0 {
			ev := free[n-1]
			free = free[:n-1]
			fields := ev.Fields
			clear(fields)
			*ev = event.Event{Tenant: tenant, Received: received, Fields: fields}
			return ev
		}
		return &event.Event{Tenant: tenant, Received: received}
	}
	flush := func() {
		if len(batch) == 0 {
			return
		}
		err, fromBus := in.store.Append(batch...), len(acks) > 0
		if err == nil && fromBus {
			err = in.store.Flush() // acknowledged lines must be durable
		}
		for _, ack := range acks {
			ack(err == nil) // stored: acknowledged; not: redelivered
		}
		acks = acks[:0]
		if err != nil {
			in.log.Error("cloud: storing events failed", "err", err, "events", len(batch))
			for _, ev := range batch {
				c := in.Counter(ev.Tenant)
				if !fromBus {
					c.Dropped.Add(1) // lines from the bus are redelivered instead
				}
				if ev.Failed() {
					c.Failed.Add(-1)
				} else {
					c.Parsed.Add(-1)
				}
			}
		}
		if reuse {
			free = append(free, batch...)
		}
		clear(batch) // no stale pointers behind the length
		batch = batch[:0]
	}
	line := func(it *item, line []byte, text string, c *Counters) {
		ev := newEvent(it.tenant, it.received)
		switch {
		case !reuse:
			p.Parse(it.format, line, ev)
		case text != "":
			p.ParseLazyText(it.format, text, ev) // a part of the block's string
		default:
			// fields are parsed only if detection or storage reads them
			// (most events: neither); the event never leaves this worker
			p.ParseLazy(it.format, line, ev)
		}
		if ev.Failed() {
			c.Failed.Add(1)
		} else {
			c.Parsed.Add(1)
			if in.detect != nil {
				in.detect.Detect(ev)
			}
		}
		batch = append(batch, ev)
		if it.ack != nil {
			acks = append(acks, it.ack)
		}
		if len(batch) == batchSize {
			flush()
		}
	}
	handle := func(it item) {
		if it.flush {
			flush() // idle: batched lines are stored (and acknowledged) now
			return
		}
		c := in.Counter(it.tenant) // once per item: a batch shares it
		if it.lines == nil {
			line(&it, it.line, "", c)
			return
		}
		var block string
		if it.block != nil && reuse {
			// the block is never written again once submitted
			// (SubmitBlock): its lines become the events' Raw strings
			// without a copy
			block = unsafe.String(unsafe.SliceData(it.block), len(it.block))
		}
		for _, l := range it.lines {
			text := ""
			// l is it.block[at : at+len(l) : len(it.block)]; a line that is
			// not (a caller's mistake) is copied instead
			if at := len(it.block) - cap(l); block != "" && len(l) > 0 && at >= 0 && at+len(l) <= len(it.block) &&
				unsafe.SliceData(l) == &it.block[at] {
				text = block[at : at+len(l)]
			}
			line(&it, l, text, c)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case it, ok := <-in.queue:
			if it.flush {
				flush() // idle: batched lines are stored (and acknowledged) now
				continue
			}
			if !ok {
				flush()
				return
			}
			handle(it)
			// While lines are queued, take them with non-blocking receives
			// (cheaper than a two-way select each); the ticker is checked
			// again after at most drainMax lines.
		drain:
			for range drainMax {
				select {
				case it, ok := <-in.queue:
					if !ok {
						flush()
						return
					}
					handle(it)
				default:
					break drain
				}
			}
		case <-tick.C:
			// once a second what was appended becomes durable and
			// searchable (eventstore: a Flush ends the compressed block)
			flush()
			if err := in.store.Flush(); err != nil {
				in.log.Error("cloud: flushing the store failed", "err", err)
			}
		}
	}
}
