package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Options are what a Dispatcher gets from its host.
type Options struct {
	Log *slog.Logger
	// Now is the clock (tests inject one); default time.Now.
	Now func() time.Time
	// Acker tells the escalation ladders whether an alert or incident was
	// acknowledged; needed by Escalate.
	Acker Acker
}

// Dispatcher routes, stores and delivers notifications. One Dispatcher
// owns an outbox directory at a time.
type Dispatcher struct {
	cfg     *Config
	dir     string
	log     *slog.Logger
	now     func() time.Time
	acker   Acker
	mailer  *mailer
	tmpl    *Templates
	hooks   map[string]*hook
	routes  map[string]*RouteConfig
	ladders map[string]*LadderConfig

	mu       sync.Mutex
	pending  map[string]*Item
	inflight map[string]bool
	windows  map[string]time.Time // route → end of its quiet interval
	held     map[string]int       // route → notifications waiting for the digest
	states   map[string]*LadderState
	files    map[string]int // pending/ file → unresolved deliveries in it

	cmu        sync.Mutex // group commit
	cqueue     []*commitReq
	committing bool
	wake       chan struct{}
	lock       *os.File   // flock on DIR/lock
	ladderMu   sync.Mutex // one ladder tick at a time
	digestMu   sync.Mutex // one digest flush at a time

	enqueued, delivered, retried, dead, heldN, digests, escalations atomic.Uint64
}

// Counters are the dispatcher's totals since it started.
type Counters struct {
	Enqueued    uint64 `json:"enqueued"`  // deliveries written to the outbox
	Delivered   uint64 `json:"delivered"` // accepted by the receiver
	Retried     uint64 `json:"retried"`   // failed attempts that will be retried
	Dead        uint64 `json:"dead"`      // given up (dead letters)
	Held        uint64 `json:"held"`      // notifications gathered for a digest
	Digests     uint64 `json:"digests"`   // digests produced
	Escalations uint64 `json:"escalations"`
	Pending     int    `json:"pending"` // now in the outbox
}

// New opens the outbox of cfg (creating it), loads what a previous run
// left, and resolves the secrets. It sends nothing until Run or Process.
func New(cfg *Config, o Options) (*Dispatcher, error) {
	d, err := build(cfg, o)
	if err != nil {
		return nil, err
	}
	if err := openOutbox(d.dir); err != nil {
		return nil, err
	}
	// Two dispatchers on one outbox would deliver everything twice.
	if d.lock, err = lockDir(d.dir); err != nil {
		return nil, err
	}
	if err := d.load(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close releases the outbox (after Run has returned).
func (d *Dispatcher) Close() error {
	if d.lock == nil {
		return nil
	}
	err := d.lock.Close() // closing the descriptor drops the flock
	d.lock = nil
	return err
}

// build makes a dispatcher with its channels and secrets, without the
// outbox.
func build(cfg *Config, o Options) (*Dispatcher, error) {
	d := &Dispatcher{cfg: cfg, dir: cfg.Outbox.Dir, log: o.Log, now: o.Now, acker: o.Acker,
		hooks: map[string]*hook{}, routes: map[string]*RouteConfig{}, ladders: map[string]*LadderConfig{},
		pending: map[string]*Item{}, inflight: map[string]bool{}, windows: map[string]time.Time{},
		held: map[string]int{}, states: map[string]*LadderState{}, files: map[string]int{}, wake: make(chan struct{}, 1)}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	var err error
	if d.tmpl, err = LoadTemplates(cfg.TemplatesDir); err != nil {
		return nil, err
	}
	if cfg.SMTP != nil {
		m, err := newMailer(cfg.SMTP)
		if err != nil {
			return nil, err
		}
		d.mailer = m
	}
	for i := range cfg.Webhooks {
		h, err := newHook(&cfg.Webhooks[i])
		if err != nil {
			return nil, err
		}
		d.hooks[h.cfg.Name] = h
	}
	for i := range cfg.Routes {
		d.routes[cfg.Routes[i].Name] = &cfg.Routes[i]
	}
	for i := range cfg.Ladders {
		d.ladders[cfg.Ladders[i].Name] = &cfg.Ladders[i]
	}
	return d, nil
}

// load reads what a previous run left in the outbox.
func (d *Dispatcher) load() error {
	items, err := readPending(d.dir)
	if err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	for _, it := range items {
		d.pending[it.ID] = it
		d.files[it.file]++
	}
	states, _, err := readJSONDir[LadderState](filepath.Join(d.dir, dirLadder))
	if err != nil {
		return fmt.Errorf("notify: outbox: %w", err)
	}
	for i := range states {
		d.states[states[i].Key] = &states[i]
	}
	// Digests interrupted by a restart go out one interval after their
	// oldest notification.
	for name, r := range d.routes {
		held, _, _ := readJSONDir[heldEntry](filepath.Join(d.dir, dirHeld, name))
		if len(held) > 0 {
			d.held[name] = len(held)
			oldest := held[0].Held
			for _, h := range held {
				if h.Held.Before(oldest) {
					oldest = h.Held
				}
			}
			d.windows[name] = oldest.Add(r.Digest.D())
		}
	}
	if dirs, _ := os.ReadDir(filepath.Join(d.dir, dirHeld)); len(dirs) > 0 {
		for _, e := range dirs {
			if _, ok := d.routes[e.Name()]; !ok {
				// Visible in `kyojin notify outbox`; restore the route to send them.
				d.log.Warn("notify: held notifications of a route no longer configured", "route", e.Name())
			}
		}
	}
	if len(d.pending) > 0 || len(d.states) > 0 {
		d.log.Info("notify: outbox loaded", "pending", len(d.pending), "ladders", len(d.states), "dir", d.dir)
	}
	return nil
}

// Counters returns the totals.
func (d *Dispatcher) Counters() Counters {
	d.mu.Lock()
	n := len(d.pending)
	d.mu.Unlock()
	return Counters{Enqueued: d.enqueued.Load(), Delivered: d.delivered.Load(), Retried: d.retried.Load(),
		Dead: d.dead.Load(), Held: d.heldN.Load(), Digests: d.digests.Load(), Escalations: d.escalations.Load(), Pending: n}
}

func (r *RouteConfig) matches(m *Message) bool {
	if r.Explicit {
		return false
	}
	if len(r.Tenants) > 0 && !slices.Contains(r.Tenants, m.Tenant) && !slices.Contains(r.Tenants, "*") {
		return false
	}
	if r.MinSeverity != nil && m.Severity < *r.MinSeverity {
		return false
	}
	return len(r.Kinds) == 0 || slices.Contains(r.Kinds, m.Kind)
}

func (d *Dispatcher) prepare(m *Message) error {
	if m.Time.IsZero() {
		m.Time = d.now()
	}
	if m.Link == "" {
		m.Link = d.cfg.ConsoleURL
	}
	if m.Tenant == "" && m.Ref.Tenant != "" {
		m.Tenant = m.Ref.Tenant
	}
	return m.check()
}

// Enqueue routes m and writes one outbox entry per recipient and webhook
// of every matching route; it returns once they are on disk (fsynced), with
// the number of deliveries queued or gathered for a digest. Zero means no
// route matched, which is logged.
func (d *Dispatcher) Enqueue(ctx context.Context, m Message) (int, error) {
	return d.EnqueueBatch(ctx, []Message{m})
}

// EnqueueBatch is Enqueue for several messages with one durable commit:
// one file per outbox directory, so a batch of alerts costs about one
// fsync instead of one each. Each directory's file is written all or
// nothing; after an error the caller may send the batch again
// (at-least-once: some deliveries may repeat).
func (d *Dispatcher) EnqueueBatch(ctx context.Context, ms []Message) (int, error) {
	var b batch
	for _, m := range ms {
		if err := d.prepare(&m); err != nil {
			return 0, err
		}
		matched := false
		for i := range d.cfg.Routes {
			r := &d.cfg.Routes[i]
			if !r.matches(&m) {
				continue
			}
			matched = true
			if err := d.plan(&b, r, m, true); err != nil {
				return 0, err
			}
		}
		if !matched {
			d.log.Info("notify: no route for notification", "kind", m.Kind, "tenant", m.Tenant, "severity", m.Severity.String())
		}
	}
	return d.commit(&b)
}

// SendTo queues m for one route regardless of its rules (no digest):
// escalation steps and manual tests.
func (d *Dispatcher) SendTo(ctx context.Context, route string, m Message) (int, error) {
	r, ok := d.routes[route]
	if !ok {
		return 0, fmt.Errorf("notify: no route %q", route)
	}
	if err := d.prepare(&m); err != nil {
		return 0, err
	}
	var b batch
	if err := d.plan(&b, r, m, false); err != nil {
		return 0, err
	}
	return d.commit(&b)
}

// digestible: storms come from detections; people-driven notifications
// (incidents, escalations) always go at once, and so does anything critical.
func digestible(r *RouteConfig, m *Message) bool {
	return r.Digest > 0 && (m.Kind == KindAlert || m.Kind == KindTamper) && m.Severity < SevCritical
}

type heldEntry struct {
	Held    time.Time `json:"held"`
	Message Message   `json:"message"`
}

// batch is what one commit writes: files per outbox subdirectory.
type batch struct {
	files map[string]*batchDir // subdirectory → files
	items []*Item
	held  map[string]int // route → held entries
	n     int
}

type batchDir struct {
	names []string
	vs    []any
}

func (b *batch) add(sub, name string, v any) {
	if b.files == nil {
		b.files, b.held = map[string]*batchDir{}, map[string]int{}
	}
	bd := b.files[sub]
	if bd == nil {
		bd = &batchDir{}
		b.files[sub] = bd
	}
	bd.names = append(bd.names, name)
	bd.vs = append(bd.vs, v)
	b.n++
}

// plan decides what m becomes on route r: held for the digest, or one
// delivery per destination.
func (d *Dispatcher) plan(b *batch, r *RouteConfig, m Message, mayHold bool) error {
	now := d.now()
	if mayHold && digestible(r, &m) {
		d.mu.Lock()
		hold := now.Before(d.windows[r.Name])
		if !hold {
			d.windows[r.Name] = now.Add(r.Digest.D())
		}
		d.mu.Unlock()
		if hold {
			b.add(filepath.Join(dirHeld, r.Name), newID(now)+".json", heldEntry{Held: now, Message: m})
			b.held[r.Name]++
			return nil
		}
	}
	rd, err := d.tmpl.Render(m, r.Lang)
	if err != nil {
		return err
	}
	return d.planRendered(b, r, m, rd)
}

func (d *Dispatcher) planRendered(b *batch, r *RouteConfig, m Message, rd Rendered) error {
	items, err := d.items(r, m, rd)
	if err != nil {
		return err
	}
	for _, it := range items {
		b.add(dirPending, it.ID+".json", it)
	}
	b.items = append(b.items, items...)
	return nil
}

// commit stores the batch durably. Concurrent callers are committed
// together (group commit): the first becomes the leader and writes its own
// batch and every batch that arrives meanwhile, one file (one fsync) per
// outbox directory; the others wait for that write.
func (d *Dispatcher) commit(b *batch) (int, error) {
	req := &commitReq{b: b, done: make(chan error, 1)}
	d.cmu.Lock()
	d.cqueue = append(d.cqueue, req)
	if d.committing {
		d.cmu.Unlock()
		if err := <-req.done; err != nil {
			return 0, err
		}
		return b.n, nil
	}
	d.committing = true
	for len(d.cqueue) > 0 {
		reqs := d.cqueue
		d.cqueue = nil
		d.cmu.Unlock()
		err := d.write(reqs)
		for _, r := range reqs {
			r.done <- err
		}
		d.cmu.Lock()
	}
	d.committing = false
	d.cmu.Unlock()
	if err := <-req.done; err != nil {
		return 0, err
	}
	return b.n, nil
}

type commitReq struct {
	b    *batch
	done chan error
}

// write stores several batches: per outbox directory one file, an array
// when it holds several entries.
func (d *Dispatcher) write(reqs []*commitReq) error {
	merged := map[string]*batchDir{}
	var subs []string
	for _, r := range reqs {
		for sub, bd := range r.b.files {
			m := merged[sub]
			if m == nil {
				m = &batchDir{}
				merged[sub] = m
				subs = append(subs, sub)
			}
			m.names = append(m.names, bd.names...)
			m.vs = append(m.vs, bd.vs...)
		}
	}
	files := map[string]string{} // sub → file name
	for _, sub := range subs {
		bd := merged[sub]
		if err := os.MkdirAll(filepath.Join(d.dir, sub), 0o700); err != nil {
			return fmt.Errorf("notify: outbox: %w", err)
		}
		name, v := bd.names[0], bd.vs[0]
		if len(bd.vs) > 1 {
			name, v = batchPrefix+newID(d.now())+".json", bd.vs
		}
		if err := writeDurable(d.dir, sub, name, v); err != nil {
			return fmt.Errorf("notify: outbox: %w", err)
		}
		files[sub] = name
	}
	wake := false
	d.mu.Lock()
	for _, r := range reqs {
		for _, it := range r.b.items {
			it.file = files[dirPending]
			d.files[it.file]++
			d.pending[it.ID] = it
		}
		for route, n := range r.b.held {
			d.held[route] += n
		}
		d.enqueued.Add(uint64(len(r.b.items)))
		d.heldN.Add(uint64(r.b.n - len(r.b.items)))
		wake = wake || len(r.b.items) > 0
	}
	d.mu.Unlock()
	if wake {
		d.signal()
	}
	return nil
}

// release notes that it no longer lives in its file; the file is removed
// when nothing unresolved is left in it. Called with d.mu held.
func (d *Dispatcher) release(it *Item) {
	d.files[it.file]--
	if d.files[it.file] <= 0 {
		delete(d.files, it.file)
		if err := os.Remove(filepath.Join(d.dir, dirPending, it.file)); err != nil && !os.IsNotExist(err) {
			d.log.Error("notify: cannot remove outbox file", "file", it.file, "err", err)
		}
	}
}

// queue writes the deliveries of one rendered notification.
func (d *Dispatcher) queue(r *RouteConfig, m Message, rd Rendered) (int, error) {
	var b batch
	if err := d.planRendered(&b, r, m, rd); err != nil {
		return 0, err
	}
	return d.commit(&b)
}

// items builds one delivery per mail recipient and webhook of r.
func (d *Dispatcher) items(r *RouteConfig, m Message, rd Rendered) ([]*Item, error) {
	now := d.now()
	var items []*Item
	base := Item{Created: now, NextAttempt: now, Route: r.Name, Kind: m.Kind, Tenant: m.Tenant, Severity: m.Severity, Rendered: rd}
	for _, to := range r.Mail {
		it := base
		it.ID, it.Channel, it.Target = newID(now), "mail", to
		items = append(items, &it)
	}
	for _, name := range r.Webhooks {
		it := base
		it.ID, it.Channel, it.Target = newID(now), "webhook", name
		p := WebhookPayload{ID: it.ID, Kind: m.Kind, Tenant: m.Tenant, Severity: m.Severity, Title: m.Title,
			Time: m.Time, Link: m.Link, Data: m.Data}
		if m.Ref.ID != "" {
			ref := m.Ref
			p.Ref = &ref
		}
		if d.hooks[name].cfg.IncludeText {
			p.Subject, p.Text, p.Lang = rd.Subject, rd.Body, rd.Lang
		}
		b, err := json.Marshal(p)
		if err != nil {
			return nil, fmt.Errorf("notify: webhook payload: %w", err)
		}
		if len(b) > maxPayload {
			// Data carries text from logs; a receiver gets the rendered
			// (clipped) text and the link instead of megabytes of it.
			p.Data = map[string]any{"truncated": true}
			if b, err = json.Marshal(p); err != nil {
				return nil, fmt.Errorf("notify: webhook payload: %w", err)
			}
		}
		it.Payload = b
		items = append(items, &it)
	}
	return items, nil
}

// TestResult is the outcome of one destination of Test.
type TestResult struct {
	Channel, Target string
	Err             error // nil when the receiver accepted it
}

// Test sends a test notification to every destination of route directly,
// without the outbox (so it runs beside a serving dispatcher), and reports
// each outcome (kyojin notify test).
func Test(ctx context.Context, cfg *Config, route string, o Options) ([]TestResult, error) {
	d, err := build(cfg, o)
	if err != nil {
		return nil, err
	}
	r, ok := d.routes[route]
	if !ok {
		return nil, fmt.Errorf("notify: no route %q", route)
	}
	m := Message{Kind: KindTest, Tenant: "-", Title: "test", Data: map[string]any{"route": route}}
	if err := d.prepare(&m); err != nil {
		return nil, err
	}
	rd, err := d.tmpl.Render(m, r.Lang)
	if err != nil {
		return nil, err
	}
	items, err := d.items(r, m, rd)
	if err != nil {
		return nil, err
	}
	var out []TestResult
	for _, it := range items {
		err := d.send(ctx, it, d.now())
		if err != nil {
			d.log.Warn("notify: test delivery failed", "route", route, "channel", it.Channel, "target", it.Target, "err", err)
		}
		out = append(out, TestResult{Channel: it.Channel, Target: it.Target, Err: err})
	}
	return out, nil
}

func (d *Dispatcher) signal() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends: due deliveries, digests and escalation
// steps, woken by Enqueue and at least every second.
func (d *Dispatcher) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for tick := 0; ; {
		d.Process(context.WithoutCancel(ctx))
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-t.C:
			if tick++; tick%30 == 0 {
				if _, err := d.Rescan(); err != nil {
					d.log.Error("notify: outbox rescan", "err", err)
				}
			}
		}
	}
}

// Rescan takes in deliveries that another tool put in pending/ (kyojin
// notify requeue); Run calls it every 30 seconds.
func (d *Dispatcher) Rescan() (int, error) {
	d.cmu.Lock()
	defer d.cmu.Unlock()
	if d.committing {
		return 0, nil // next time
	}
	// Under d.mu no delivery can release (remove) a file meanwhile.
	d.mu.Lock()
	defer d.mu.Unlock()
	ents, err := os.ReadDir(filepath.Join(d.dir, dirPending))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") || d.files[name] > 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(d.dir, dirPending, name))
		if err != nil {
			continue
		}
		var items []Item
		if strings.HasPrefix(name, batchPrefix) {
			err = json.Unmarshal(b, &items)
		} else {
			items = make([]Item, 1)
			err = json.Unmarshal(b, &items[0])
		}
		if err != nil {
			d.log.Error("notify: unreadable outbox file", "file", name, "err", err)
			continue
		}
		for i := range items {
			it := &items[i]
			if _, known := d.pending[it.ID]; known {
				continue
			}
			it.file = name
			d.pending[it.ID] = it
			d.files[name]++
			n++
		}
	}
	if n > 0 {
		d.log.Info("notify: deliveries taken in from the outbox", "count", n)
		d.signal()
	}
	return n, nil
}

// Process does one round synchronously: it sends the digests whose
// interval ended, fires due escalation steps, and attempts every due
// delivery (Outbox.Workers at a time). It returns how many were delivered.
func (d *Dispatcher) Process(ctx context.Context) int {
	d.flushDigests()
	d.tickLadders(ctx)
	now := d.now()
	d.mu.Lock()
	var due []*Item
	for id, it := range d.pending {
		if !d.inflight[id] && !it.NextAttempt.After(now) {
			d.inflight[id] = true
			due = append(due, it)
		}
	}
	d.mu.Unlock()
	slices.SortFunc(due, func(a, b *Item) int { return a.Created.Compare(b.Created) })
	var ok atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, d.cfg.Outbox.Workers)
	for _, it := range due {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if d.attempt(ctx, it) {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(ok.Load())
}

func (d *Dispatcher) send(ctx context.Context, it *Item, now time.Time) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in delivery: %v", r)
		}
	}()
	switch it.Channel {
	case "mail":
		if d.mailer == nil {
			return &permanentError{errors.New("no smtp configured")}
		}
		return d.mailer.send(ctx, it, now)
	case "webhook":
		h := d.hooks[it.Target]
		if h == nil {
			return errors.New("webhook no longer configured")
		}
		return h.send(ctx, it, now)
	}
	return &permanentError{fmt.Errorf("unknown channel %q", it.Channel)}
}

func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.cfg.Outbox.RetryBase.D()
	for i := 1; i < attempts && b < d.cfg.Outbox.RetryMax.D(); i++ {
		b *= 2
	}
	return min(b, d.cfg.Outbox.RetryMax.D())
}

// attempt tries one delivery and records the outcome durably.
func (d *Dispatcher) attempt(ctx context.Context, it *Item) bool {
	now := d.now()
	err := d.send(ctx, it, now)
	log := d.log.With("id", it.ID, "route", it.Route, "channel", it.Channel, "target", it.Target, "kind", it.Kind)
	if err == nil {
		// A crash before the file goes means a duplicate, never a loss
		// (at-least-once; receivers dedupe on Message-ID or Kyojin-Delivery).
		d.mu.Lock()
		d.release(it)
		delete(d.pending, it.ID)
		delete(d.inflight, it.ID)
		d.mu.Unlock()
		d.delivered.Add(1)
		log.Info("notify: delivered", "attempts", it.Attempts+1)
		return true
	}
	it.Attempts++
	it.LastError = oneLine(err.Error(), 300)
	dead := isPermanent(err) || now.Sub(it.Created) >= d.cfg.Outbox.GiveUpAfter.D()
	if dead {
		it.Dead = now
		if werr := writeDurable(d.dir, dirDead, it.ID+".json", it); werr != nil {
			log.Error("notify: cannot write dead letter; keeping it pending", "err", werr)
			it.Dead, dead = time.Time{}, false
		}
	}
	if !dead {
		wait := d.backoff(it.Attempts)
		var ra *retryAfterError
		if errors.As(err, &ra) {
			wait = min(max(wait, ra.after), d.cfg.Outbox.RetryMax.D())
		}
		it.NextAttempt = now.Add(wait)
		// The new state goes to the delivery's own file (leaving a batch).
		if werr := writeDurable(d.dir, dirPending, it.ID+".json", it); werr != nil {
			log.Error("notify: cannot record attempt", "err", werr)
		}
	}
	d.mu.Lock()
	own := it.ID + ".json"
	if dead || it.file != own {
		d.release(it)
	}
	if dead {
		delete(d.pending, it.ID)
	} else if it.file != own {
		it.file = own
		d.files[own]++
	}
	delete(d.inflight, it.ID)
	d.mu.Unlock()
	if dead {
		d.dead.Add(1)
		log.Error("notify: delivery given up (dead letter)", "attempts", it.Attempts, "err", err, "permanent", isPermanent(err))
		return false
	}
	d.retried.Add(1)
	log.Warn("notify: delivery failed; will retry", "attempts", it.Attempts, "next", it.NextAttempt, "err", err)
	return false
}

// maxPayload bounds a webhook body.
const maxPayload = 256 << 10

// digestMax is how many notifications a digest lists; the rest are counted.
const digestMax = 50

func (d *Dispatcher) flushDigests() {
	// Two rounds at once (Run and a direct Process) must not both send
	// the same held notifications.
	d.digestMu.Lock()
	defer d.digestMu.Unlock()
	now := d.now()
	d.mu.Lock()
	var ready []string
	for route, n := range d.held {
		if n > 0 && !now.Before(d.windows[route]) {
			ready = append(ready, route)
		}
	}
	d.mu.Unlock()
	for _, route := range ready {
		if err := d.flushDigest(d.routes[route], now); err != nil {
			d.log.Error("notify: digest failed; will retry", "route", route, "err", err)
		}
	}
}

func (d *Dispatcher) flushDigest(r *RouteConfig, now time.Time) error {
	sub := filepath.Join(dirHeld, r.Name)
	held, names, err := readJSONDir[heldEntry](filepath.Join(d.dir, sub))
	if err != nil {
		return err
	}
	idx := make([]int, len(held))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return held[a].Held.Compare(held[b].Held) })
	var msgs []Message
	for _, i := range idx {
		msgs = append(msgs, held[i].Message)
	}
	if len(msgs) > 0 {
		var rd Rendered
		var m Message
		if len(msgs) == 1 {
			m = msgs[0]
			rd, err = d.tmpl.Render(m, r.Lang)
		} else {
			m = digestOf(r, msgs, now)
			listed := msgs[:min(len(msgs), digestMax)]
			rd, err = d.tmpl.render(m, r.Lang, listed, len(msgs)-len(listed))
		}
		if err != nil {
			return err
		}
		if _, err := d.queue(r, m, rd); err != nil {
			return err
		}
		d.digests.Add(1)
	}
	// Queued first, removed second: a crash in between repeats the digest
	// rather than losing it.
	for _, n := range slices.Compact(slices.Sorted(slices.Values(names))) {
		os.Remove(filepath.Join(d.dir, sub, n))
	}
	d.mu.Lock()
	d.held[r.Name] = 0
	d.windows[r.Name] = now.Add(r.Digest.D())
	d.mu.Unlock()
	return nil
}

func digestOf(r *RouteConfig, msgs []Message, now time.Time) Message {
	var tenants []string
	sev := SevInfo
	for _, m := range msgs {
		if !slices.Contains(tenants, m.Tenant) {
			tenants = append(tenants, m.Tenant)
		}
		sev = max(sev, m.Severity)
	}
	tenant := strings.Join(tenants[:min(3, len(tenants))], ", ")
	if len(tenants) > 3 {
		tenant += " …"
	}
	return Message{Kind: KindDigest, Tenant: tenant, Severity: sev, Time: now, Title: fmt.Sprintf("%d", len(msgs)),
		Link: msgs[len(msgs)-1].Link,
		Data: map[string]any{"count": len(msgs), "route": r.Name, "interval_minutes": int(r.Digest.D().Minutes())}}
}
