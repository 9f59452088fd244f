package cloud

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/logparse"
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

// TestReadFrameBatches: frames the reader has buffered together come as
// one batch of at most max; a lone line is handed over at once, before
// the sender writes more; octet-counted and newline frames mix.
func TestReadFrameBatches(t *testing.T) {
	pr, pw := io.Pipe()
	got := make(chan [][]byte, 16)
	done := make(chan error, 1)
	go func() {
		done <- ReadFrameBatches(bufio.NewReaderSize(pr, 4096), 3, func(block []byte, fs [][]byte) error {
			for _, f := range fs {
				// every frame is a part of the block running to its end
				if at := len(block) - cap(f); at < 0 || string(block[at:at+len(f)]) != string(f) {
					t.Errorf("frame %q is not block[%d:]", f, at)
				}
			}
			got <- fs
			return nil
		})
	}()
	pw.Write([]byte("lone line\n"))
	select {
	case b := <-got:
		if len(b) != 1 || string(b[0]) != "lone line\n" {
			t.Fatalf("first batch %q", b)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a lone line was held back")
	}
	pw.Write([]byte("a\nb\n11 octet-count" + "c\nd\ne\n"))
	pw.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	close(got)
	var all []string
	for b := range got {
		if len(b) > 3 {
			t.Errorf("batch of %d over the maximum 3", len(b))
		}
		for _, f := range b {
			all = append(all, string(f))
		}
	}
	want := []string{"a\n", "b\n", "octet-count", "c\n", "d\n", "e\n"}
	if fmt.Sprint(all) != fmt.Sprint(want) {
		t.Errorf("frames %q, want %q", all, want)
	}
}

// TestFairQueueBatches: a batch counts as its lines against the lane; a
// batch larger than the lane goes in only when the lane is empty.
func TestFairQueueBatches(t *testing.T) {
	q := newFairQueue(4)
	ctx := context.Background()
	three := item{tenant: "a", lines: [][]byte{[]byte("1"), []byte("2"), []byte("3")}}
	if err := q.push(ctx, three, false); err != nil {
		t.Fatal(err)
	}
	if q.free("a") != 1 {
		t.Fatalf("free %d after 3 of 4", q.free("a"))
	}
	if err := q.push(ctx, three, false); err != errLaneFull {
		t.Fatalf("3 more into 1 free: %v", err)
	}
	big := item{tenant: "b", lines: make([][]byte, 9)}
	if err := q.push(ctx, big, false); err != nil {
		t.Fatalf("a batch over the lane into an empty lane: %v", err)
	}
	if q.free("b") != 0 {
		t.Fatalf("free %d", q.free("b"))
	}
	for range 2 {
		if _, ok, _ := q.pop(time.Second); !ok {
			t.Fatal("pop")
		}
	}
	if q.free("a") != 4 || q.free("b") != 4 {
		t.Fatalf("free after pops: a %d b %d", q.free("a"), q.free("b"))
	}
}

// TestSubmitBlockForeignLines: lines that are not slices of the block (a
// caller's mistake) are parsed from copies, never read out of bounds.
func TestSubmitBlockForeignLines(t *testing.T) {
	r, _ := start(t, 64)
	r.in.Start(1)
	block := []byte("<13>Nov 22 05:00:00 h app: in block\n")
	foreign := []byte("<13>Nov 22 05:00:00 h app: not in block\n")
	if err := r.in.SubmitBlock(context.Background(), "pref", "syslog", block, [][]byte{block[:len(block):len(block)], foreign}); err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	got := search(t, r.store, "pref", "program=app")
	if len(got) != 2 {
		t.Fatalf("%d events stored, want 2", len(got))
	}
	raws := []string{got[0].Raw, got[1].Raw}
	if !slices.Contains(raws, "<13>Nov 22 05:00:00 h app: in block") || !slices.Contains(raws, "<13>Nov 22 05:00:00 h app: not in block") {
		t.Fatalf("raw lines %q", raws)
	}
}

// TestReadFrameBatchesEdges: an octet-counted frame whose length and body
// arrive in separate reads, and a line far larger than a batch block and
// the reader's buffer, come through whole (cut to MaxLine+1).
func TestReadFrameBatchesEdges(t *testing.T) {
	pr, pw := io.Pipe()
	var got []string
	done := make(chan error, 1)
	go func() {
		done <- ReadFrameBatches(bufio.NewReaderSize(pr, 4096), maxBatch, func(block []byte, fs [][]byte) error {
			for _, f := range fs {
				got = append(got, string(f))
			}
			return nil
		})
	}()
	pw.Write([]byte("17 "))
	time.Sleep(20 * time.Millisecond)
	pw.Write([]byte("split <13>frame"))
	time.Sleep(20 * time.Millisecond)
	pw.Write([]byte("ok\n"))
	huge := strings.Repeat("x", logparse.MaxLine+5000)
	pw.Write([]byte(huge + "\nafter\n"))
	pw.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	// the octet count covers "split <13>frameok"; the LF after it is a
	// blank line, which is no frame
	want := []string{"split <13>frameok", huge[:logparse.MaxLine+1], "after\n"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("frames: %d, first %q, sizes %v", len(got), got[0], lens(got))
	}
}

func lens(ss []string) []int {
	var out []int
	for _, s := range ss {
		out = append(out, len(s))
	}
	return out
}

// TestBatchesKeepTenants: lines from many tenants' connections arriving
// at once are stored each under its own tenant only (a batch is one
// connection's, and an item one tenant's).
func TestBatchesKeepTenants(t *testing.T) {
	cfg := e2eConfig(t, t.TempDir())
	st, err := eventstore.Open(cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	in := NewIntake(cfg, st, quietLog())
	in.Start(1)
	srv := NewServer(cfg, in)
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const tenants, lines = 20, 300
	var wg sync.WaitGroup
	for ti := range tenants {
		wg.Go(func() {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(ti+1))}}
			c, err := d.Dial("tcp", srv.Addr("tcp").String())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			var b strings.Builder
			for i := range lines {
				fmt.Fprintf(&b, "<13>Nov 22 05:00:00 h app: from %s line %d\n", cfg.Tenants[ti].ID, i)
			}
			c.Write([]byte(b.String()))
		})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int64
		for _, s := range in.Stats() {
			n += s.Parsed
		}
		if n == tenants*lines || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	srv.Wait()
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
	for ti := range tenants {
		id := cfg.Tenants[ti].ID
		n := 0
		err := st.Search(eventstore.Query{Tenant: id}, func(ev *event.Event) bool {
			n++
			if !strings.Contains(ev.Raw, "from "+id+" ") {
				t.Errorf("tenant %s holds %q", id, ev.Raw)
			}
			return true
		})
		if err != nil || n != lines {
			t.Errorf("tenant %s: %d events, want %d (%v)", id, n, lines, err)
		}
	}
	st.Close()
}
