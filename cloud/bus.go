package cloud

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/strictyaml"
)

// Bus configures NATS JetStream as the intake buffer between intake nodes
// and worker nodes (issue 8 §4 "NATS JetStream as the intake buffer so
// several intake and detection workers share the load (subjects per
// tenant)"). Intake nodes publish each raw line to SUBJECT.<tenant>; worker
// nodes share one durable pull consumer per tenant (work-queue semantics:
// each line goes to one worker) and acknowledge a line only once its event
// is stored, so a worker that dies loses nothing: JetStream redelivers.
type Bus struct {
	strictyaml.Meta `yaml:"-"`
	URL             string `yaml:"url,required"` // nats://host:4222 (tls:// for TLS)
	Stream          string `yaml:"stream"`       // default KYOJIN_RAW
	Subject         string `yaml:"subject"`      // subject prefix; default kyojin.raw
	Creds           string `yaml:"creds"`        // NATS credentials file (decentralised auth)
	CA              string `yaml:"ca"`           // tls://: CA of the server certificate
	Cert            string `yaml:"cert"`         // tls://: client certificate, when the server verifies it
	Key             string `yaml:"key"`
	// TenantMaxMsgs is the most lines one tenant may have waiting in the
	// stream; beyond it JetStream refuses that tenant's lines only (discard
	// new per subject), which pushes back on its TCP/HTTP senders and drops
	// (counted) its UDP lines, while the other tenants go on. Default 100000.
	TenantMaxMsgs int64 `yaml:"tenant_max_msgs"`
	MaxBytes      int64 `yaml:"max_bytes"`     // whole stream; default unlimited (bounded per tenant)
	MaxAgeHours   int   `yaml:"max_age_hours"` // lines older than this are discarded unread; default 168
	Replicas      int   `yaml:"replicas"`      // default 1
	Fetch         int   `yaml:"fetch"`         // lines a worker pulls ahead per tenant; default 256
	AckWait       int   `yaml:"ack_wait"`      // seconds before an unacknowledged line is redelivered; default 30
	Pending       int   `yaml:"pending"`       // unacknowledged publishes per intake node; default 4096
}

var (
	streamRE  = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	subjectRE = regexp.MustCompile(`^[a-z0-9_-]+(\.[a-z0-9_-]+)*$`)
)

func (c *Config) checkBus(base string, diags *diag.List) {
	b := c.Bus
	if b == nil {
		return
	}
	if !strings.HasPrefix(b.URL, "nats://") && !strings.HasPrefix(b.URL, "tls://") {
		diags.Add(cfgErr(&b.Meta, "bus", "url", "url", "bus.url は nats:// か tls:// で始めてください", "bus.url must start with nats:// or tls://"))
	}
	if b.Stream == "" {
		b.Stream = "KYOJIN_RAW"
	}
	if !streamRE.MatchString(b.Stream) {
		diags.Add(cfgErr(&b.Meta, "bus", "stream", "stream", "ストリーム名は英数字・-・_ です", "stream name must be letters, digits, - and _"))
	}
	if b.Subject == "" {
		b.Subject = "kyojin.raw"
	}
	if !subjectRE.MatchString(b.Subject) {
		diags.Add(cfgErr(&b.Meta, "bus", "subject", "subject", "サブジェクトにワイルドカードは使えません", "subject prefix must be dot-separated tokens without wildcards"))
	}
	for _, f := range []*string{&b.Creds, &b.CA, &b.Cert, &b.Key} {
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(base, *f)
		}
	}
	if (b.Cert == "") != (b.Key == "") {
		diags.Add(cfgErr(&b.Meta, "bus", "cert", "tls", "bus.cert と bus.key は両方書いてください", "bus.cert and bus.key go together"))
	}
	for _, v := range []struct {
		p   *int64
		def int64
	}{{&b.TenantMaxMsgs, 100_000}, {&b.MaxBytes, -1}} {
		if *v.p <= 0 {
			*v.p = v.def
		}
	}
	for _, v := range []struct {
		p        *int
		def, top int
	}{{&b.MaxAgeHours, 168, 1 << 20}, {&b.Replicas, 1, 5}, {&b.Fetch, 256, 1 << 16}, {&b.AckWait, 30, 86400}, {&b.Pending, 4096, 1 << 20}} {
		if *v.p <= 0 {
			*v.p = v.def
		}
		*v.p = min(*v.p, v.top)
	}
}

// Message headers of a raw line on the bus. The tenant is also the last
// subject token; a worker refuses a line where the two disagree.
const (
	hdrTenant   = "Kyojin-Tenant"
	hdrFormat   = "Kyojin-Format"
	hdrReceived = "Kyojin-Received"
	hdrLossy    = "Kyojin-Lossy" // set for UDP lines: refused means dropped (counted), not retried
)

// BusConn is one node's connection to the bus.
type BusConn struct {
	cfg    *Config
	b      *Bus
	log    *slog.Logger
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream

	in      *Intake // publishing side
	mu      sync.Mutex
	lanes   map[string]*pubLane
	closing chan struct{}
	retries sync.WaitGroup

	consumers []jetstream.ConsumeContext
	stop      context.CancelFunc
	closeWait time.Duration // how long Close waits for publishes to land
}

// pubLane holds a tenant's lines JetStream refused; while it holds any,
// that tenant's senders wait (TCP/HTTP) or are dropped (UDP).
type pubLane struct {
	retry []*nats.Msg
	clear chan struct{} // closed when retry empties; nil when not congested
}

// ConnectBus connects to NATS and creates or updates the stream.
func ConnectBus(ctx context.Context, cfg *Config, name string, log *slog.Logger) (*BusConn, error) {
	b := cfg.Bus
	if b == nil {
		return nil, errors.New("cloud: no bus configured")
	}
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1)}
	if b.Creds != "" {
		opts = append(opts, nats.UserCredentials(b.Creds))
	}
	if b.CA != "" {
		opts = append(opts, nats.RootCAs(b.CA))
	}
	if b.Cert != "" {
		opts = append(opts, nats.ClientCert(b.Cert, b.Key))
	}
	nc, err := nats.Connect(b.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloud: connect to the bus: %w", err)
	}
	bc := &BusConn{cfg: cfg, b: b, log: log, nc: nc, lanes: map[string]*pubLane{}, closing: make(chan struct{}), closeWait: 10 * time.Second}
	// an unanswered publish is retried after 30 s like a refused one
	bc.js, err = jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(b.Pending), jetstream.WithPublishAsyncTimeout(30*time.Second),
		jetstream.WithPublishAsyncErrHandler(func(_ jetstream.JetStream, m *nats.Msg, err error) { bc.refused(m, err) }))
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cloud: jetstream: %w", err)
	}
	bc.stream, err = bc.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:                 b.Stream,
		Description:          "kyojin raw log lines per tenant",
		Subjects:             []string{b.Subject + ".>"},
		Retention:            jetstream.WorkQueuePolicy,
		Storage:              jetstream.FileStorage,
		Replicas:             b.Replicas,
		MaxBytes:             b.MaxBytes,
		MaxAge:               time.Duration(b.MaxAgeHours) * time.Hour,
		MaxMsgsPerSubject:    b.TenantMaxMsgs,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		MaxMsgSize:           logparse.MaxLine + 1 + 1024,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cloud: stream %s: %w", b.Stream, err)
	}
	return bc, nil
}

func (bc *BusConn) subject(tenant string) string { return bc.b.Subject + "." + tenant }

// Publish makes in hand every submitted line to the bus instead of its
// local queue (intake nodes).
func (bc *BusConn) Publish(in *Intake) {
	bc.in = in
	in.front = bc
}

func (bc *BusConn) lane(tenant string) *pubLane {
	l := bc.lanes[tenant]
	if l == nil {
		l = &pubLane{}
		bc.lanes[tenant] = l
	}
	return l
}

// push implements front: publish asynchronously, after waiting (TCP,
// HTTP) or giving up (UDP) while the tenant is refused.
func (bc *BusConn) push(ctx context.Context, it item, wait bool) error {
	if it.lines != nil {
		// a batch: one message per line (the stream's subjects, acks and
		// redelivery work per line)
		for _, l := range it.lines {
			one := it
			one.lines, one.line = nil, l
			if err := bc.push(ctx, one, wait); err != nil {
				return err
			}
		}
		return nil
	}
	for {
		bc.mu.Lock()
		clear := bc.lane(it.tenant).clear
		bc.mu.Unlock()
		if clear == nil {
			break
		}
		if !wait {
			return errLaneFull
		}
		select {
		case <-clear:
		case <-ctx.Done():
			return ctx.Err()
		case <-bc.closing:
			return errQueueClosed
		}
	}
	m := nats.NewMsg(bc.subject(it.tenant))
	m.Header.Set(hdrTenant, it.tenant)
	m.Header.Set(hdrFormat, it.format)
	m.Header.Set(hdrReceived, it.received.UTC().Format(time.RFC3339Nano))
	if !wait {
		m.Header.Set(hdrLossy, "1")
	}
	m.Data = it.line
	var opts []jetstream.PublishOpt
	if !wait {
		// the UDP reader must not wait for a full publish window
		opts = append(opts, jetstream.WithStallWait(time.Millisecond))
	}
	for {
		_, err := bc.js.PublishMsgAsync(m, opts...)
		if err == nil {
			return nil
		}
		if !wait || !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// free implements front: a refused tenant takes nothing now.
func (bc *BusConn) free(tenant string) int {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	if bc.lane(tenant).clear != nil {
		return 0
	}
	return bc.capacity()
}

// capacity implements front: JetStream's quota, not this node, bounds a
// tenant; a stalled publish window makes Submit wait.
func (bc *BusConn) capacity() int { return int(min(bc.b.TenantMaxMsgs, 1<<30)) }

// refused handles a publish JetStream did not acknowledge: a lossy (UDP)
// line is counted as dropped; any other line is kept and retried, and its
// tenant's senders wait until it is in.
func (bc *BusConn) refused(m *nats.Msg, err error) {
	tenant := m.Header.Get(hdrTenant)
	if m.Header.Get(hdrLossy) != "" {
		c := bc.in.Counter(tenant)
		c.Received.Add(-1)
		if n := c.Dropped.Add(1); n&(n-1) == 0 {
			bc.log.Warn("cloud: bus refused udp lines (tenant over its limit)", "tenant", tenant, "dropped", n, "err", err)
		}
		return
	}
	bc.mu.Lock()
	defer bc.mu.Unlock()
	l := bc.lane(tenant)
	l.retry = append(l.retry, m)
	if l.clear == nil {
		l.clear = make(chan struct{})
		bc.log.Warn("cloud: bus refused lines; holding the tenant's senders", "tenant", tenant, "err", err)
		bc.retries.Add(1)
		go bc.retryLane(tenant, l)
	}
}

// retryLane republishes a tenant's refused lines, one at a time with
// backoff, until JetStream takes them all.
func (bc *BusConn) retryLane(tenant string, l *pubLane) {
	defer bc.retries.Done()
	backoff := 20 * time.Millisecond
	for {
		bc.mu.Lock()
		if len(l.retry) == 0 {
			close(l.clear)
			l.clear = nil
			bc.mu.Unlock()
			return
		}
		m := l.retry[0]
		bc.mu.Unlock()
		again := nats.NewMsg(m.Subject)
		again.Header, again.Data = m.Header, m.Data
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := bc.js.PublishMsg(ctx, again)
		cancel()
		if err == nil {
			backoff = 20 * time.Millisecond
			bc.mu.Lock()
			l.retry = l.retry[1:]
			bc.mu.Unlock()
			continue
		}
		select {
		case <-time.After(backoff):
			backoff = min(2*backoff, time.Second)
		case <-bc.closing:
			bc.mu.Lock()
			n := len(l.retry)
			l.retry = nil
			close(l.clear)
			l.clear = nil
			bc.mu.Unlock()
			bc.in.Counter(tenant).Dropped.Add(int64(n))
			bc.log.Error("cloud: shutting down with lines the bus refused", "tenant", tenant, "lost", n)
			return
		}
	}
}

// Consume starts one durable pull consumer per configured tenant, shared by
// every worker node, feeding in's fair queue; lines are acknowledged by
// in's workers once stored. Call before in.Start.
func (bc *BusConn) Consume(ctx context.Context, in *Intake) error {
	cctx, cancel := context.WithCancel(context.Background())
	bc.stop = cancel
	for _, t := range bc.cfg.Tenants {
		tenant := t.ID
		cons, err := bc.stream.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
			Durable:       "kyojin-" + tenant,
			Description:   "kyojin workers of tenant " + tenant,
			FilterSubject: bc.subject(tenant),
			AckPolicy:     jetstream.AckExplicitPolicy,
			AckWait:       time.Duration(bc.b.AckWait) * time.Second,
			MaxAckPending: 4 * bc.b.Fetch,
		})
		if err != nil {
			bc.StopConsuming()
			return fmt.Errorf("cloud: consumer of %s: %w", tenant, err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) { bc.handle(cctx, in, tenant, m) },
			jetstream.PullMaxMessages(bc.b.Fetch),
			jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
				bc.log.Debug("cloud: bus consumer", "tenant", tenant, "err", err)
			}))
		if err != nil {
			bc.StopConsuming()
			return fmt.Errorf("cloud: consume %s: %w", tenant, err)
		}
		bc.consumers = append(bc.consumers, cc)
	}
	return nil
}

// handle queues one line from the bus. It blocks while the tenant's lane
// is full, which holds back only that tenant's consumer.
func (bc *BusConn) handle(ctx context.Context, in *Intake, tenant string, m jetstream.Msg) {
	defer func() {
		if r := recover(); r != nil {
			bc.log.Error("cloud: bus handler panic", "tenant", tenant, "panic", r)
			_ = m.Term() // a line that crashes the handler is not redelivered forever
			in.Counter(tenant).Dropped.Add(1)
		}
	}()
	h := m.Headers()
	if h.Get(hdrTenant) != tenant {
		// the subject decides; a disagreeing header is a forged or broken line
		in.Unclaimed("bus")
		_ = m.Term()
		return
	}
	format := h.Get(hdrFormat)
	if !logparse.KnownFormat(format) {
		format = "syslog"
	}
	recv, err := time.Parse(time.RFC3339Nano, h.Get(hdrReceived))
	if err != nil {
		recv = in.now()
	}
	it := item{tenant: tenant, format: format, line: m.Data(), received: recv, ack: func(stored bool) {
		if stored {
			_ = m.Ack()
		} else {
			_ = m.NakWithDelay(time.Second)
		}
	}}
	// on error (stopping) the line stays unacknowledged and is redelivered
	_ = in.lanes.push(ctx, it, true)
}

// StopConsuming stops pulling; lines not yet stored are redelivered later.
func (bc *BusConn) StopConsuming() {
	if bc.stop != nil {
		bc.stop()
	}
	for _, cc := range bc.consumers {
		cc.Stop()
	}
	for _, cc := range bc.consumers {
		select {
		case <-cc.Closed():
		case <-time.After(5 * time.Second):
		}
	}
	bc.consumers = nil
}

// Close waits (up to 10 s) for outstanding and refused publishes, stops retrying, and
// closes the connection. Stop listeners and in's workers first.
func (bc *BusConn) Close() error {
	deadline := time.Now().Add(bc.closeWait)
	select {
	case <-bc.js.PublishAsyncComplete():
	case <-time.After(bc.closeWait):
		bc.log.Error("cloud: closing with unacknowledged publishes", "pending", bc.js.PublishAsyncPending())
	}
	// give refused lines their chance while JetStream drains
	for bc.congested() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(bc.closing)
	bc.retries.Wait()
	bc.StopConsuming()
	bc.nc.Close()
	return nil
}

// congested reports whether any tenant has refused lines waiting.
func (bc *BusConn) congested() bool {
	bc.mu.Lock()
	defer bc.mu.Unlock()
	for _, l := range bc.lanes {
		if l.clear != nil {
			return true
		}
	}
	return false
}
