package cloud

import (
	"context"
	"errors"
	"sync"
	"time"
)

// front takes submitted lines: the local fairQueue, or the bus publisher
// on nodes that hand intake to NATS JetStream (bus.go).
type front interface {
	push(ctx context.Context, it item, wait bool) error
	free(tenant string) int
	capacity() int // the most lines of one tenant it ever holds
}

// laneSize is the per-tenant queue length: tenant_queue, or the queue
// budget shared out among the tenants.
func (c *Config) laneSize() int {
	if c.TenantQueue > 0 {
		return c.TenantQueue
	}
	return max(1, c.Queue/max(1, len(c.Tenants)))
}

// errQueueClosed is returned by a push after Close.
var errQueueClosed = errors.New("cloud: intake closed")

// fairQueue is the intake queue: one bounded lane per tenant, served round
// robin, one item per lane per turn — a line, or a batch of the lines one
// stream had ready at once (at most maxBatch), so a turn is bounded. A tenant that floods fills only its
// own lane — its TCP senders wait, its UDP lines are dropped and counted —
// while every other tenant's lines keep being parsed at their own pace
// (issue 8 §5: "floods from one tenant — never a stall for other tenants").
type fairQueue struct {
	perLane int

	mu     sync.Mutex
	lanes  map[string]*lane
	ring   []*lane // lanes holding lines, in service order
	next   int
	closed bool
	ready  chan struct{} // a line may be waiting (capacity 1)
	queued int
}

type lane struct {
	items  []item
	head   int
	lines  int // lines in items (an item may be a batch)
	inRing bool
	space  chan struct{} // room may have been made (capacity 1)
}

func newFairQueue(perLane int) *fairQueue {
	return &fairQueue{perLane: max(perLane, 1), lanes: map[string]*lane{}, ready: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

func (q *fairQueue) laneOf(tenant string) *lane {
	l := q.lanes[tenant]
	if l == nil {
		l = &lane{space: make(chan struct{}, 1)}
		q.lanes[tenant] = l
	}
	return l
}

// push adds it to its tenant's lane. When the lane is full it waits for
// room if wait is set (until ctx ends) and fails otherwise.
func (q *fairQueue) push(ctx context.Context, it item, wait bool) error {
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return errQueueClosed
		}
		l := q.laneOf(it.tenant)
		// a batch larger than the lane goes in when the lane is empty
		if k := it.count(); l.lines+k <= q.perLane || l.lines == 0 {
			l.items = append(l.items, it)
			l.lines += k
			q.queued += k
			if !l.inRing {
				l.inRing = true
				q.ring = append(q.ring, l)
			}
			if l.lines < q.perLane {
				signal(l.space) // let another waiting sender of this tenant in
			}
			q.mu.Unlock()
			signal(q.ready)
			return nil
		}
		q.mu.Unlock()
		if !wait {
			return errLaneFull
		}
		select {
		case <-l.space:
		case <-ctx.Done():
			return ctx.Err()
		}
		q.mu.Lock()
	}
}

var errLaneFull = errors.New("cloud: tenant queue full")

// pop takes the next line in round-robin order, waiting up to d. ok is
// false on timeout; done is true once the queue is closed and empty.
func (q *fairQueue) pop(d time.Duration) (it item, ok, done bool) {
	var timer *time.Timer
	for {
		q.mu.Lock()
		if len(q.ring) > 0 {
			if q.next >= len(q.ring) {
				q.next = 0
			}
			l := q.ring[q.next]
			it = l.items[l.head]
			l.items[l.head] = item{}
			l.head++
			l.lines -= it.count()
			q.queued -= it.count()
			if l.head == len(l.items) {
				l.items, l.head, l.inRing = l.items[:0], 0, false
				q.ring = append(q.ring[:q.next], q.ring[q.next+1:]...)
			} else {
				if l.head > 1024 && l.head*2 > len(l.items) {
					l.items = append(l.items[:0], l.items[l.head:]...)
					l.head = 0
				}
				q.next++
			}
			more := len(q.ring) > 0
			q.mu.Unlock()
			signal(l.space)
			if more {
				signal(q.ready) // wake another worker
			}
			if timer != nil {
				timer.Stop()
			}
			return it, true, false
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			signal(q.ready) // and the next waiting worker
			return item{}, false, true
		}
		if timer == nil {
			timer = time.NewTimer(d)
		}
		select {
		case <-q.ready:
		case <-timer.C:
			return item{}, false, false
		}
	}
}

// free reports how many more lines tenant's lane takes now.
func (q *fairQueue) free(tenant string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lanes[tenant]
	if l == nil {
		return q.perLane
	}
	return max(0, q.perLane-l.lines)
}

func (q *fairQueue) capacity() int { return q.perLane }

// idleFlush is how long the queue stays empty before the workers are told
// to store their partial batches: lines from the bus are acknowledged only
// then, and JetStream sends a tenant no more than its unacknowledged limit.
const idleFlush = 50 * time.Millisecond

// dispatch hands lines to the parse workers through out, in round-robin
// order; out is unbuffered so the order stays fair. When the queue goes
// idle after some work, each of the workers() gets a flush marker. It
// closes out once the queue is closed and drained.
func (q *fairQueue) dispatch(out chan<- item, workers func() int) {
	busy := false
	for {
		it, ok, done := q.pop(idleFlush)
		switch {
		case done:
			close(out)
			return
		case ok:
			out <- it
			busy = true
		case busy:
			for range workers() {
				out <- item{flush: true}
			}
			busy = false
		}
	}
}

// close stops pushes; pop drains what is queued, then reports done.
func (q *fairQueue) close() {
	q.mu.Lock()
	q.closed = true
	lanes := make([]*lane, 0, len(q.lanes))
	for _, l := range q.lanes {
		lanes = append(lanes, l)
	}
	q.mu.Unlock()
	for _, l := range lanes {
		signal(l.space) // waiting senders see closed
	}
	signal(q.ready)
}
