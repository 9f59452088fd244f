package cloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kyojin/kyojin/cloud/natstest"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
)

func busTestConfig(t *testing.T, url string, ackWait int) *Config {
	t.Helper()
	return loadTestConfig(t, fmt.Sprintf(floodConfig, 256, fmt.Sprintf("bus: {url: %q, tenant_max_msgs: 10000, fetch: 32, ack_wait: %d}\n", url, ackWait)))
}

// worker starts a worker node: consumers and parse workers into st.
func worker(t *testing.T, cfg *Config, st EventStore) (*Intake, *BusConn) {
	t.Helper()
	in := NewIntake(cfg, st, discardLog())
	bc, err := ConnectBus(context.Background(), cfg, "worker", discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if err := bc.Consume(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	in.Start(1)
	return in, bc
}

func waitCount(t *testing.T, st EventStore, tenant string, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		n := count(t, st, tenant)
		if n == want {
			return
		}
		if n > want || time.Now().After(deadline) {
			t.Fatalf("%s: %d events stored, want %d", tenant, n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBusEndToEnd: an intake-only node publishes per-tenant subjects with
// headers; two worker nodes share the durable consumers (each line stored
// once, both take part); acknowledged lines leave the work queue.
func TestBusEndToEnd(t *testing.T) {
	ns := natstest.Start(t)
	cfg := busTestConfig(t, ns.URL, 30)
	st, _ := eventstore.Open(cfg.Store)
	// intake node: no store, no parse workers
	front := NewIntake(cfg, nil, discardLog())
	bc, err := ConnectBus(context.Background(), cfg, "intake", discardLog())
	if err != nil {
		t.Fatal(err)
	}
	bc.Publish(front)
	srv := NewServer(cfg, front)
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// the headers and subject of a published line
	sub, err := bc.nc.SubscribeSync("kyojin.raw.city-b")
	if err != nil {
		t.Fatal(err)
	}
	sendLines(t, srv.Addr("tcp-b").String(), "probe", 1)
	m, err := sub.NextMsg(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	sub.Unsubscribe()
	if m.Header.Get(hdrTenant) != "city-b" || m.Header.Get(hdrFormat) != "syslog" || m.Header.Get(hdrReceived) == "" || string(m.Data) != "<13>Nov 22 05:00:00 h probe: line 0\n" {
		t.Errorf("published message: %v %q", m.Header, m.Data)
	}
	const n = 3000
	in1, w1 := worker(t, cfg, st)
	in2, w2 := worker(t, cfg, st)
	sendLines(t, srv.Addr("tcp-a").String(), "app", n)
	sendLines(t, srv.Addr("tcp-b").String(), "app", n)
	waitCount(t, st, "city-a", n, 20*time.Second)
	waitCount(t, st, "city-b", n+1, 20*time.Second)
	t0 := time.Now()
	cancel()
	srv.Wait()
	defer func() { t.Logf("shutdown took %v", time.Since(t0)) }()
	for _, w := range []struct {
		in *Intake
		bc *BusConn
	}{{in1, w1}, {in2, w2}} {
		w.bc.StopConsuming()
		w.in.Close()
		w.bc.Close()
	}
	p1 := in1.Counter("city-a").Parsed.Load() + in1.Counter("city-b").Parsed.Load()
	p2 := in2.Counter("city-a").Parsed.Load() + in2.Counter("city-b").Parsed.Load()
	if p1+p2 != 2*n+1 || p1 == 0 || p2 == 0 {
		t.Errorf("work shared %d + %d, want %d with both > 0", p1, p2, 2*n+1)
	}
	if r := front.Counter("city-a").Received.Load(); r != n {
		t.Errorf("intake node received %d", r)
	}
	info, err := bc.stream.Info(context.Background())
	if err != nil || info.State.Msgs != 0 {
		t.Errorf("work queue not empty after acknowledgement: %+v %v", info.State, err)
	}
	bc.Close()
	// no line was stored twice
	seen := map[string]bool{}
	st.Search(eventstore.Query{Tenant: "city-a"}, func(ev *event.Event) bool {
		if seen[ev.Raw] {
			t.Errorf("stored twice: %q", ev.Raw)
		}
		seen[ev.Raw] = true
		return true
	})
}

// hangStore never stores: the worker holding it is stuck mid-batch, as a
// crashed worker would be.
type hangStore struct {
	EventStore
	release chan struct{}
}

func (h hangStore) Append(...*event.Event) error {
	<-h.release
	return errors.New("crashed")
}

// TestBusRedelivery: a worker takes lines and dies before storing them;
// after ack_wait JetStream hands them to the next worker, and all are
// stored.
func TestBusRedelivery(t *testing.T) {
	ns := natstest.Start(t)
	cfg := busTestConfig(t, ns.URL, 1)
	st, _ := eventstore.Open(cfg.Store)
	nc, err := nats.Connect(ns.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// the crashing worker
	hang := hangStore{EventStore: st, release: make(chan struct{})}
	in1, w1 := worker(t, cfg, hang)
	js, _ := jetstream.New(nc)
	const n = 100
	for i := range n {
		m := nats.NewMsg("kyojin.raw.city-a")
		m.Header.Set(hdrTenant, "city-a")
		m.Header.Set(hdrFormat, "syslog")
		m.Header.Set(hdrReceived, time.Now().UTC().Format(time.RFC3339Nano))
		m.Data = fmt.Appendf(nil, "<13>Nov 22 05:00:00 h app: line %d", i)
		if _, err := js.PublishMsg(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	// a line whose header names another tenant than its subject: refused
	bad := nats.NewMsg("kyojin.raw.city-b")
	bad.Header.Set(hdrTenant, "city-a")
	bad.Data = []byte("<13>Nov 22 05:00:00 h forged: x")
	js.PublishMsg(context.Background(), bad)
	// every line delivered to the first worker and none acknowledged
	cons, err := js.Consumer(context.Background(), "KYOJIN_RAW", "kyojin-city-a")
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ci, err := cons.Info(context.Background())
		if err == nil && ci.NumAckPending == n && ci.NumPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("first worker holds %+v", ci)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// crash: the connection goes away without a single acknowledgement
	w1.nc.Close()
	close(hang.release)
	in1.Close()
	in2, w2 := worker(t, cfg, st)
	defer func() { w2.StopConsuming(); in2.Close(); w2.Close() }()
	waitCount(t, st, "city-a", n, 15*time.Second)
	ci, _ := cons.Info(context.Background())
	if ci.NumRedelivered == 0 && ci.Delivered.Consumer <= n {
		t.Errorf("no redelivery recorded: %+v", ci)
	}
	if count(t, st, "city-b") != 0 || in2.Counter(Unassigned).Dropped.Load()+in1.Counter(Unassigned).Dropped.Load() != 1 {
		t.Errorf("forged line: stored %d, unassigned dropped %d/%d", count(t, st, "city-b"),
			in1.Counter(Unassigned).Dropped.Load(), in2.Counter(Unassigned).Dropped.Load())
	}
}

// TestBusBackpressure: with no worker and a tenant quota of 50 lines,
// JetStream refuses the rest; the TCP sender is held back (not dropped)
// once the lines in flight (bounded by bus.pending) are refused,
// UDP lines are counted as dropped, and once a worker drains the stream
// every TCP line is stored exactly once.
func TestBusBackpressure(t *testing.T) {
	ns := natstest.Start(t)
	cfg := loadTestConfig(t, fmt.Sprintf(floodConfig, 256, fmt.Sprintf("bus: {url: %q, tenant_max_msgs: 50, ack_wait: 30, pending: 16}\n", ns.URL)))
	st, _ := eventstore.Open(cfg.Store)
	front := NewIntake(cfg, nil, discardLog())
	bc, err := ConnectBus(context.Background(), cfg, "intake", discardLog())
	if err != nil {
		t.Fatal(err)
	}
	bc.Publish(front)
	srv := NewServer(cfg, front)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	const n = 500
	var written atomic.Int64
	go flood(ctx, srv.Addr("tcp-a").String(), n, &written)
	deadline := time.Now().Add(10 * time.Second)
	for front.Free("city-a") > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	c := front.Counter("city-a")
	info, _ := bc.stream.Info(context.Background())
	// taken: the quota plus at most the publish window (pending) in flight
	if front.Free("city-a") != 0 || info.State.Msgs != 50 || c.Received.Load() > 50+2*16 || c.Dropped.Load() != 0 {
		t.Fatalf("quota not enforced by pushback: free %d, stream %d, received %d, dropped %d",
			front.Free("city-a"), info.State.Msgs, c.Received.Load(), c.Dropped.Load())
	}
	// city-b is not refused
	sendLines(t, srv.Addr("tcp-b").String(), "b", 5)
	u, _ := net.Dial("udp", srv.Addr("udp-a").String())
	u.Write([]byte("<13>Nov 22 05:00:00 h udp: x"))
	u.Close()
	deadline = time.Now().Add(5 * time.Second)
	for (c.Dropped.Load() < 1 || front.Counter("city-b").Received.Load() < 5) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c.Dropped.Load() != 1 || front.Counter("city-b").Received.Load() != 5 {
		t.Fatalf("udp dropped %d (want 1), city-b received %d (want 5)", c.Dropped.Load(), front.Counter("city-b").Received.Load())
	}
	in, w := worker(t, cfg, st)
	waitCount(t, st, "city-a", n, 20*time.Second)
	waitCount(t, st, "city-b", 5, 5*time.Second)
	cancel()
	srv.Wait()
	w.StopConsuming()
	in.Close()
	w.Close()
	bc.Close()
	if c.Received.Load() != n {
		t.Errorf("received %d, want %d", c.Received.Load(), n)
	}
}

// TestBusTLS: the bus over TLS with a verified client certificate; a node
// without one is refused.
func TestBusTLS(t *testing.T) {
	dir := pki(t, "worker-1")
	ns := natstest.StartTLS(t, natstest.TLS{Cert: dir + "/server.crt", Key: dir + "/server.key", CA: dir + "/ca.crt"})
	bus := fmt.Sprintf("bus: {url: %q, ca: %q, cert: %q, key: %q}\n", ns.URL, dir+"/ca.crt", dir+"/worker-1.crt", dir+"/worker-1.key")
	cfg := loadTestConfig(t, fmt.Sprintf(floodConfig, 64, bus))
	st, _ := eventstore.Open(cfg.Store)
	in, bc := worker(t, cfg, st)
	bc.Publish(in)
	if err := in.Submit(context.Background(), "city-b", "syslog", []byte("<13>Nov 22 05:00:00 h tls: over tls")); err != nil {
		t.Fatal(err)
	}
	waitCount(t, st, "city-b", 1, 10*time.Second)
	bc.StopConsuming()
	in.Close()
	bc.Close()
	noCert := loadTestConfig(t, fmt.Sprintf(floodConfig, 64, fmt.Sprintf("bus: {url: %q, ca: %q}\n", ns.URL, dir+"/ca.crt")))
	if bc, err := ConnectBus(context.Background(), noCert, "stranger", discardLog()); err == nil {
		bc.Close()
		t.Error("a node without a client certificate joined the bus")
	}
}

// TestBusOutage: nats-server dies while a TCP sender keeps writing and
// comes back; every line reaches the store (at least once).
func TestBusOutage(t *testing.T) {
	ns := natstest.Start(t)
	cfg := busTestConfig(t, ns.URL, 30)
	st, _ := eventstore.Open(cfg.Store)
	in, bc := worker(t, cfg, st)
	bc.Publish(in)
	srv := NewServer(cfg, in)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	sendLines(t, srv.Addr("tcp-a").String(), "before", 200)
	waitCount(t, st, "city-a", 200, 10*time.Second)
	ns.Stop()
	sendLines(t, srv.Addr("tcp-a").String(), "during", 200)
	time.Sleep(300 * time.Millisecond)
	ns.Restart(t)
	deadline := time.Now().Add(30 * time.Second)
	distinct := func() int {
		seen := map[string]bool{}
		st.Search(eventstore.Query{Tenant: "city-a", Filters: []eventstore.Filter{{Field: "program", Value: "during"}}}, func(ev *event.Event) bool {
			seen[ev.Raw] = true
			return true
		})
		return len(seen)
	}
	for distinct() < 200 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := distinct(); n != 200 {
		t.Errorf("lines sent during the outage stored: %d of 200", n)
	}
	cancel()
	srv.Wait()
	bc.StopConsuming()
	in.Close()
	bc.Close()
	if d := in.Counter("city-a").Dropped.Load(); d != 0 {
		t.Errorf("dropped %d TCP lines", d)
	}
}
