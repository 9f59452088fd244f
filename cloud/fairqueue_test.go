package cloud

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFairQueue(t *testing.T) {
	q := newFairQueue(5)
	ctx := context.Background()
	for _, tn := range strings.Split("a a a a a b b c", " ") {
		if err := q.push(ctx, item{tenant: tn}, false); err != nil {
			t.Fatal(err)
		}
	}
	// a's lane is full: no wait fails, waiting ends with ctx
	if err := q.push(ctx, item{tenant: "a"}, false); !errors.Is(err, errLaneFull) {
		t.Errorf("push into a full lane: %v", err)
	}
	tctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.push(tctx, item{tenant: "a"}, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting push: %v", err)
	}
	if q.free("a") != 0 || q.free("b") != 3 || q.free("new") != 5 || q.capacity() != 5 {
		t.Errorf("free a=%d b=%d new=%d", q.free("a"), q.free("b"), q.free("new"))
	}
	// a waiting sender gets in as soon as a line of its tenant leaves
	done := make(chan error)
	go func() { done <- q.push(ctx, item{tenant: "a", format: "late"}, true) }()
	var order []string
	for range 9 {
		it, ok, _ := q.pop(time.Second)
		if !ok {
			t.Fatal("pop timed out")
		}
		order = append(order, it.tenant)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// round robin, one line per tenant per turn
	if got := strings.Join(order, " "); got != "a b c a b a a a a" {
		t.Errorf("service order %q", got)
	}
	if _, ok, done := q.pop(10 * time.Millisecond); ok || done {
		t.Errorf("empty queue: ok=%v done=%v", ok, done)
	}
	q.push(ctx, item{tenant: "b"}, false)
	q.close()
	if err := q.push(ctx, item{tenant: "b"}, true); !errors.Is(err, errQueueClosed) {
		t.Errorf("push after close: %v", err)
	}
	if it, ok, _ := q.pop(time.Second); !ok || it.tenant != "b" {
		t.Error("close lost a queued line")
	}
	if _, _, done := q.pop(time.Second); !done {
		t.Error("closed, empty queue not done")
	}
}
