package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const (
	hookSecret   = "s3cret-webhook-key-0123456789"
	smtpPassword = "smtp-pa55word-never-logged"
)

// clock is the injected time of the tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receiver is a real HTTPS server that verifies signatures like a
// customer's endpoint would.
type receiver struct {
	srv     *httptest.Server
	caFile  string
	status  atomic.Int32 // answer; 0 = 204
	hits    atomic.Int32
	mu      sync.Mutex
	got     []WebhookPayload
	headers []http.Header
	badSig  atomic.Int32
	now     func() time.Time
}

func newReceiver(t testing.TB, now func() time.Time) *receiver {
	r := &receiver{now: now}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.hits.Add(1)
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err := VerifySignature([]byte(hookSecret), req.Header.Get(HeaderTimestamp), req.Header.Get(HeaderSignature), body, r.now(), 5*time.Minute); err != nil {
			r.badSig.Add(1)
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		if s := r.status.Load(); s != 0 {
			if s == http.StatusFound {
				http.Redirect(w, req, "/elsewhere", http.StatusFound)
				return
			}
			w.WriteHeader(int(s))
			return
		}
		var p WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, p)
		r.headers = append(r.headers, req.Header.Clone())
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	r.caFile = filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}), 0o644)
	return r
}

func (r *receiver) payloads() []WebhookPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]WebhookPayload(nil), r.got...)
}

// hookConfig is a configuration with one webhook (the receiver) and the
// given routes (YAML list items).
func hookConfig(t testing.TB, dir string, r *receiver, extra string) *Config {
	t.Helper()
	t.Setenv("KYOJIN_TEST_HOOK_SECRET", hookSecret)
	y := fmt.Sprintf(`outbox:
  dir: %s
  retry_base: 1m
  retry_max: 8m
  give_up_after: 1h
webhooks:
  - name: soc
    url: %s/hook
    ca_file: %s
    timeout: 2s
    secret: {env: KYOJIN_TEST_HOOK_SECRET}
%s`, dir, r.srv.URL, r.caFile, extra)
	c, diags := ParseConfig("test.yaml", []byte(y))
	if diags.HasErrors() {
		var b bytes.Buffer
		diags.Write(&b, "en")
		t.Fatalf("%s\n%s", b.String(), y)
	}
	return c
}

const oneRoute = `routes:
  - name: all
    webhooks: [soc]
`

// logBuf collects the log of a test and checks no secret ever reaches it.
func logBuf(t *testing.T) *slog.Logger {
	var b syncBuffer
	t.Cleanup(func() {
		s := b.String()
		if t.Failed() {
			t.Log(s)
		}
		for _, secret := range []string{hookSecret, smtpPassword} {
			if strings.Contains(s, secret) {
				t.Errorf("a secret reached the log:\n%s", s)
			}
		}
	})
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newDispatcher(t *testing.T, c *Config, clk *clock, acker Acker) *Dispatcher {
	t.Helper()
	d, err := New(c, Options{Log: logBuf(t), Now: clk.Now, Acker: acker})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestWebhookDelivery(t *testing.T) {
	r := newReceiver(t, time.Now) // the receiver checks against real time
	c := hookConfig(t, t.TempDir(), r, oneRoute)
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	m := sample(KindAlert)
	n, err := d.Enqueue(t.Context(), m)
	if err != nil || n != 1 {
		t.Fatalf("enqueue: %d %v", n, err)
	}
	if l, _ := ListOutbox(c.Outbox.Dir); len(l.Pending) != 1 {
		t.Fatalf("not on disk before delivery: %+v", l)
	}
	if got := d.Process(t.Context()); got != 1 {
		t.Fatalf("delivered %d", got)
	}
	p := r.payloads()
	if len(p) != 1 || r.badSig.Load() != 0 {
		t.Fatalf("received %d, bad signatures %d", len(p), r.badSig.Load())
	}
	if p[0].Kind != KindAlert || p[0].Tenant != "kakuu-city" || p[0].Severity != SevHigh || p[0].Ref.ID != "42" ||
		p[0].Data["host"] != "10.1.2.3" || !strings.Contains(p[0].Subject, "アラート") || p[0].Lang != "ja" {
		t.Errorf("payload %+v", p[0])
	}
	if r.headers[0].Get(HeaderDelivery) != p[0].ID {
		t.Errorf("delivery header %q, id %q", r.headers[0].Get(HeaderDelivery), p[0].ID)
	}
	if l, _ := ListOutbox(c.Outbox.Dir); len(l.Pending) != 0 || len(l.Dead) != 0 {
		t.Errorf("outbox not empty: pending %s dead %s", brief(l.Pending), brief(l.Dead))
	}
	if ct := d.Counters(); ct.Enqueued != 1 || ct.Delivered != 1 || ct.Pending != 0 {
		t.Errorf("counters %+v", ct)
	}
}

// TestRetryThenRecover: the receiver fails, the delivery backs off
// exponentially, the receiver recovers, the same delivery arrives once.
func TestRetryThenRecover(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	c := hookConfig(t, t.TempDir(), r, oneRoute)
	d := newDispatcher(t, c, clk, nil)
	r.status.Store(http.StatusServiceUnavailable)
	if _, err := d.Enqueue(t.Context(), sample(KindAlert)); err != nil {
		t.Fatal(err)
	}
	wantHits := int32(0)
	for i, wait := range []time.Duration{0, time.Minute, 2 * time.Minute, 4 * time.Minute} {
		clk.Advance(wait - time.Second)
		d.Process(t.Context()) // not yet due
		if r.hits.Load() != wantHits {
			t.Fatalf("attempt %d before its time (%d hits)", i, r.hits.Load())
		}
		clk.Advance(time.Second)
		d.Process(t.Context())
		wantHits++
		if r.hits.Load() != wantHits {
			t.Fatalf("attempt %d: %d hits", i, r.hits.Load())
		}
	}
	l, _ := ListOutbox(c.Outbox.Dir)
	if len(l.Pending) != 1 || l.Pending[0].Attempts != 4 || l.Pending[0].LastError != "HTTP 503" {
		t.Fatalf("pending %s", brief(l.Pending))
	}
	if next := l.Pending[0].NextAttempt.Sub(clk.Now()); next != 8*time.Minute {
		t.Errorf("backoff after 4 failures %v, want the 8m cap", next)
	}
	r.status.Store(0)
	clk.Advance(8 * time.Minute)
	if d.Process(t.Context()) != 1 || len(r.payloads()) != 1 {
		t.Fatalf("not delivered after recovery")
	}
	if ct := d.Counters(); ct.Retried != 4 || ct.Delivered != 1 || ct.Dead != 0 {
		t.Errorf("counters %+v", ct)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.Collectors()...)
	mfs, err := reg.Gather()
	got := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		got[mf.GetName()] = m.GetCounter().GetValue() + m.GetGauge().GetValue()
	}
	if err != nil || len(got) != 8 || got["kyojin_notify_retried_total"] != 4 || got["kyojin_notify_delivered_total"] != 1 || got["kyojin_notify_pending"] != 0 {
		t.Errorf("metrics %v %v", got, err)
	}
}

func TestGiveUpAndRequeue(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	c := hookConfig(t, t.TempDir(), r, oneRoute)
	d := newDispatcher(t, c, clk, nil)
	r.status.Store(http.StatusInternalServerError)
	d.Enqueue(t.Context(), sample(KindTamper))
	for range 10 {
		d.Process(t.Context())
		clk.Advance(8 * time.Minute)
	}
	l, _ := ListOutbox(c.Outbox.Dir)
	if len(l.Pending) != 0 || len(l.Dead) != 1 || l.Dead[0].Dead.IsZero() || l.Dead[0].LastError != "HTTP 500" {
		t.Fatalf("after give_up_after: pending %s dead %s", brief(l.Pending), brief(l.Dead))
	}
	if ct := d.Counters(); ct.Dead != 1 {
		t.Errorf("counters %+v", ct)
	}
	// The operator fixes the receiver and requeues the dead letter.
	r.status.Store(0)
	if err := Requeue(c.Outbox.Dir, l.Dead[0].ID); err != nil {
		t.Fatal(err)
	}
	// The running dispatcher takes it in at its next rescan.
	if n, err := d.Rescan(); n != 1 || err != nil {
		t.Fatalf("rescan %d %v", n, err)
	}
	if n, _ := d.Rescan(); n != 0 {
		t.Fatal("taken in twice")
	}
	if d.Process(t.Context()) != 1 || len(r.payloads()) != 1 {
		t.Fatal("requeued delivery not sent")
	}
	if l, _ := ListOutbox(c.Outbox.Dir); len(l.Dead)+len(l.Pending) != 0 {
		t.Errorf("outbox: pending %s dead %s", brief(l.Pending), brief(l.Dead))
	}
}

// TestNoRedirects: a 302 is not followed (it would carry the signed body
// elsewhere) and does not heal by retrying: dead at once.
func TestNoRedirects(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	c := hookConfig(t, t.TempDir(), r, oneRoute)
	d := newDispatcher(t, c, clk, nil)
	r.status.Store(http.StatusFound)
	d.Enqueue(t.Context(), sample(KindAlert))
	d.Process(t.Context())
	if r.hits.Load() != 1 {
		t.Errorf("redirect followed: %d hits", r.hits.Load())
	}
	if l, _ := ListOutbox(c.Outbox.Dir); len(l.Dead) != 1 || l.Dead[0].LastError != "HTTP 302" {
		t.Errorf("outbox: pending %s dead %s", brief(l.Pending), brief(l.Dead))
	}
}

// TestTimeoutAndLargeResponse: a receiver that hangs is cut at the
// timeout; one that answers with a huge body is read only up to the limit.
func TestTimeoutAndLargeResponse(t *testing.T) {
	var mode atomic.Int32
	var served atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if mode.Load() == 0 {
			select {
			case <-time.After(5 * time.Second):
			case <-req.Context().Done():
			}
			return
		}
		w.WriteHeader(200)
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for range 1024 { // 32 MiB offered
			n, err := w.Write(chunk)
			served.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	r := &receiver{srv: srv, caFile: filepath.Join(t.TempDir(), "ca.pem")}
	os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	c := hookConfig(t, t.TempDir(), r, oneRoute)
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	d.Enqueue(t.Context(), sample(KindAlert))
	start := time.Now()
	d.Process(t.Context())
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("timeout of 2s took %v", el)
	}
	l, _ := ListOutbox(c.Outbox.Dir)
	if len(l.Pending) != 1 || !strings.Contains(l.Pending[0].LastError, "deadline exceeded") && !strings.Contains(l.Pending[0].LastError, "Timeout") {
		t.Fatalf("pending %s", brief(l.Pending))
	}
	mode.Store(1)
	d.Close()
	d2 := newDispatcher(t, c, &clock{t: time.Now().Add(time.Hour)}, nil)
	if d2.Process(t.Context()) != 1 {
		t.Fatal("2xx with a large body not counted as delivered")
	}
	if s := served.Load(); s > 16<<20 {
		t.Errorf("read %d bytes of the answer", s)
	}
}

// TestOutboxSurvivesRestart: what one Dispatcher accepted, a new one on the
// same directory delivers.
func TestOutboxSurvivesRestart(t *testing.T) {
	r := newReceiver(t, time.Now)
	dir := t.TempDir()
	c := hookConfig(t, dir, r, oneRoute)
	d1 := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	for i := range 5 {
		m := sample(KindAlert)
		m.Ref.ID = fmt.Sprint(i)
		if _, err := d1.Enqueue(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	// d1 "crashes": never processes. A leftover temporary file of an
	// interrupted write must not confuse the next start.
	os.WriteFile(filepath.Join(dir, dirTmp, "w-123"), []byte("{half"), 0o600)
	d1.Close() // what a crash does to the lock
	d2 := newDispatcher(t, hookConfig(t, dir, r, oneRoute), &clock{t: time.Now()}, nil)
	if ct := d2.Counters(); ct.Pending != 5 {
		t.Fatalf("reloaded %d", ct.Pending)
	}
	if d2.Process(t.Context()) != 5 {
		t.Fatal("not all delivered")
	}
	ids := map[string]bool{}
	for _, p := range r.payloads() {
		ids[p.Ref.ID] = true
	}
	if len(ids) != 5 {
		t.Errorf("received %v", ids)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, dirTmp)); len(ents) != 0 {
		t.Errorf("tmp leftovers %d", len(ents))
	}
}

func TestRouting(t *testing.T) {
	r := newReceiver(t, time.Now)
	c := hookConfig(t, t.TempDir(), r, `routes:
  - name: kakuu-high
    tenants: [kakuu-city]
    min_severity: high
    webhooks: [soc]
  - name: all-incidents
    kinds: [incident-opened, incident-state]
    webhooks: [soc]
  - name: lead
    explicit: true
    webhooks: [soc]
`)
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	for _, tc := range []struct {
		kind   Kind
		tenant string
		sev    Severity
		want   int
	}{
		{KindAlert, "kakuu-city", SevHigh, 1},
		{KindAlert, "kakuu-city", SevMedium, 0},
		{KindAlert, "otsu-town", SevCritical, 0},
		{KindIncidentOpened, "otsu-town", SevLow, 1},
		{KindIncidentOpened, "kakuu-city", SevCritical, 2},
		{KindEscalation, "kakuu-city", SevLow, 0},
	} {
		m := sample(tc.kind)
		m.Tenant, m.Severity = tc.tenant, tc.sev
		if n, err := d.Enqueue(t.Context(), m); n != tc.want || err != nil {
			t.Errorf("%s %s %s: %d routes (%v), want %d", tc.kind, tc.tenant, tc.sev, n, err, tc.want)
		}
	}
	if n, err := d.SendTo(t.Context(), "lead", sample(KindEscalation)); n != 1 || err != nil {
		t.Errorf("SendTo explicit: %d %v", n, err)
	}
	if _, err := d.SendTo(t.Context(), "nope", sample(KindTest)); err == nil {
		t.Error("unknown route accepted")
	}
	if _, err := d.Enqueue(t.Context(), Message{Kind: "bogus"}); err == nil {
		t.Error("unknown kind accepted")
	}
}

// TestDigest: a storm of alerts on a route becomes one message, then one
// digest per interval; critical ones are not delayed; held notifications
// survive a restart.
func TestDigest(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	dir := t.TempDir()
	routes := `routes:
  - name: soc
    digest: 5m
    webhooks: [soc]
`
	c := hookConfig(t, dir, r, routes)
	d := newDispatcher(t, c, clk, nil)
	for i := range 20 {
		m := sample(KindAlert)
		m.Title = fmt.Sprintf("alert %d", i)
		d.Enqueue(t.Context(), m)
		clk.Advance(5 * time.Second)
	}
	crit := sample(KindAlert)
	crit.Severity, crit.Title = SevCritical, "critical one"
	d.Enqueue(t.Context(), crit)
	d.Process(t.Context())
	got := r.payloads()
	if len(got) != 2 || got[0].Title+got[1].Title != "alert 0critical one" && got[1].Title+got[0].Title != "alert 0critical one" {
		t.Fatalf("first round %d", len(got))
	}
	if l, _ := ListOutbox(dir); l.Held["soc"] != 19 {
		t.Fatalf("held %v", l.Held)
	}
	// Restart before the interval ends: the held ones are not lost.
	d.Close()
	d = newDispatcher(t, hookConfig(t, dir, r, routes), clk, nil)
	clk.Advance(3 * time.Minute) // 280s after the first alert
	d.Process(t.Context())
	if len(r.payloads()) != 2 {
		t.Fatal("digest before the interval ended")
	}
	clk.Advance(time.Minute)
	d.Process(t.Context())
	got = r.payloads()
	if len(got) != 3 || got[2].Kind != KindDigest || got[2].Data["count"] != float64(19) || !strings.Contains(got[2].Text, "alert 19") {
		t.Fatalf("digest: %d received, last %s %q %v", len(got), got[len(got)-1].Kind, got[len(got)-1].Title, got[len(got)-1].Data)
	}
	// Within the next interval, alerts are held again; one alone goes as itself.
	m := sample(KindAlert)
	m.Title = "late"
	d.Enqueue(t.Context(), m)
	d.Process(t.Context())
	if len(r.payloads()) != 3 {
		t.Fatal("sent inside the quiet interval")
	}
	clk.Advance(5 * time.Minute)
	d.Process(t.Context())
	got = r.payloads()
	if len(got) != 4 || got[3].Kind != KindAlert || got[3].Title != "late" {
		t.Fatalf("single held: %d received, last %s %q", len(got), got[len(got)-1].Kind, got[len(got)-1].Title)
	}
	if ct := d.Counters(); ct.Digests != 2 {
		t.Errorf("counters %+v", ct)
	}
}

func TestVerifySignature(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"id":"x"}`)
	ts, sig := Sign([]byte("k"), now, body)
	for _, tc := range []struct {
		name    string
		ts, sig string
		body    []byte
		at      time.Time
		want    error
	}{
		{"ok", ts, sig, body, now, nil},
		{"ok within tolerance", ts, sig, body, now.Add(4 * time.Minute), nil},
		{"stale", ts, sig, body, now.Add(6 * time.Minute), ErrStale},
		{"future", ts, sig, body, now.Add(-6 * time.Minute), ErrStale},
		{"body changed", ts, sig, []byte(`{"id":"y"}`), now, ErrBadSignature},
		{"timestamp changed", fmt.Sprint(now.Unix() + 1), sig, body, now, ErrBadSignature},
		{"no prefix", ts, strings.TrimPrefix(sig, "v1="), body, now, ErrBadSignature},
		{"short", ts, sig[:20], body, now, ErrBadSignature},
		{"not hex", ts, "v1=" + strings.Repeat("zz", 32), body, now, ErrBadSignature},
		{"bad ts", "12a", sig, body, now, ErrBadSignature},
		{"empty", "", "", body, now, ErrBadSignature},
	} {
		if err := VerifySignature([]byte("k"), tc.ts, tc.sig, tc.body, tc.at, 5*time.Minute); err != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

func FuzzVerifySignature(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	ts, sig := Sign([]byte("k"), now, []byte("b"))
	f.Add(ts, sig, []byte("b"))
	f.Add("-1", "v1=", []byte(""))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		err := VerifySignature([]byte("k"), ts, sig, body, now, 5*time.Minute)
		if err == nil {
			// Only the real signature of this body verifies (hex in any case).
			if _, want := Sign([]byte("k"), time.Unix(mustInt(ts), 0), body); !strings.EqualFold(want, sig) {
				t.Fatalf("accepted forged %q %q", ts, sig)
			}
		}
	})
}

func mustInt(s string) int64 {
	var n int64
	fmt.Sscan(s, &n)
	return n
}

func brief(items []Item) string {
	var b strings.Builder
	for _, it := range items {
		fmt.Fprintf(&b, "[%s %s/%s attempts=%d err=%q dead=%v] ", it.Kind, it.Channel, it.Target, it.Attempts, it.LastError, !it.Dead.IsZero())
	}
	return b.String()
}

// TestRun: the loop delivers what is enqueued while it runs, and what a
// previous process left, without Process being called by hand.
func TestRun(t *testing.T) {
	r := newReceiver(t, time.Now)
	dir := t.TempDir()
	c := hookConfig(t, dir, r, oneRoute)
	d0, err := New(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d0.Enqueue(t.Context(), sample(KindTamper)) // left by a "previous process"
	d0.Close()
	d, err := New(hookConfig(t, dir, r, oneRoute), Options{Log: logBuf(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error)
	go func() { done <- d.Run(ctx) }()
	d.Enqueue(t.Context(), sample(KindAlert))
	deadline := time.Now().Add(5 * time.Second)
	for len(r.payloads()) < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := r.payloads(); len(got) != 2 {
		t.Fatalf("Run delivered %d", len(got))
	}
}

// TestEnqueueBatch: one commit for many alerts; the digest rules apply
// within the batch as they do one by one.
func TestEnqueueBatch(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	dir := t.TempDir()
	c := hookConfig(t, dir, r, `routes:
  - {name: digest, digest: 5m, webhooks: [soc]}
  - {name: incidents, kinds: [incident-opened], webhooks: [soc]}
`)
	d := newDispatcher(t, c, clk, nil)
	var ms []Message
	for i := range 50 {
		m := sample(KindAlert)
		m.Title = fmt.Sprint("a", i)
		ms = append(ms, m)
	}
	ms = append(ms, sample(KindIncidentOpened))
	n, err := d.EnqueueBatch(t.Context(), ms)
	if err != nil || n != 52 { // 1 alert + 49 held + incident on both routes
		t.Fatalf("batch: %d %v", n, err)
	}
	l, _ := ListOutbox(dir)
	if len(l.Pending) != 3 || l.Held["digest"] != 49 {
		t.Fatalf("pending %d held %v", len(l.Pending), l.Held)
	}
	if ct := d.Counters(); ct.Enqueued != 3 || ct.Held != 49 {
		t.Errorf("counters %+v", ct)
	}
	bad := append(ms[:1:1], Message{Kind: "nope"})
	if n, err := d.EnqueueBatch(t.Context(), bad); err == nil || n != 0 {
		t.Errorf("bad batch: %d %v", n, err)
	}
	if l2, _ := ListOutbox(dir); len(l2.Pending) != 3 || l2.Held["digest"] != 49 {
		t.Errorf("a rejected batch stored something: %d %v", len(l2.Pending), l2.Held)
	}
	clk.Advance(5 * time.Minute)
	if d.Process(t.Context()) != 4 {
		t.Error("batch + digest not delivered")
	}
}

func pendingFiles(t *testing.T, dir string) (batches, own int) {
	ents, _ := os.ReadDir(filepath.Join(dir, dirPending))
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), batchPrefix) {
			batches++
		} else {
			own++
		}
	}
	return
}

// TestBatchFile: a batch is one file; deliveries that fail move to their
// own file, the batch file goes when nothing is left in it, and a restart
// sees exactly what is still owed.
func TestBatchFile(t *testing.T) {
	clk := &clock{t: time.Now()}
	ok, failing := newReceiver(t, clk.Now), newReceiver(t, clk.Now)
	failing.status.Store(http.StatusBadGateway)
	dir := t.TempDir()
	cfg := func() *Config {
		return hookConfig(t, dir, ok, fmt.Sprintf(`  - name: second
    url: %s/hook
    ca_file: %s
    secret: {env: KYOJIN_TEST_HOOK_SECRET}
routes:
  - {name: both, webhooks: [soc, second]}
`, failing.srv.URL, failing.caFile))
	}
	d := newDispatcher(t, cfg(), clk, nil)
	ms := make([]Message, 10)
	for i := range ms {
		ms[i] = sample(KindAlert)
		ms[i].Ref.ID = fmt.Sprint(i)
	}
	if n, err := d.EnqueueBatch(t.Context(), ms); n != 20 || err != nil {
		t.Fatalf("batch %d %v", n, err)
	}
	if b, o := pendingFiles(t, dir); b != 1 || o != 0 {
		t.Fatalf("after enqueue: %d batch files, %d own", b, o)
	}
	if d.Process(t.Context()) != 10 {
		t.Fatal("first receiver not served")
	}
	if b, o := pendingFiles(t, dir); b != 0 || o != 10 {
		t.Fatalf("after a partial round: %d batch files, %d own", b, o)
	}
	d.Close()
	d = newDispatcher(t, cfg(), clk, nil)
	if ct := d.Counters(); ct.Pending != 10 {
		t.Fatalf("restart sees %d pending", ct.Pending)
	}
	failing.status.Store(0)
	clk.Advance(time.Minute)
	if d.Process(t.Context()) != 10 || len(failing.payloads()) != 10 || len(ok.payloads()) != 10 {
		t.Fatalf("after recovery: %d + %d", len(ok.payloads()), len(failing.payloads()))
	}
	if b, o := pendingFiles(t, dir); b+o != 0 {
		t.Errorf("left %d batch files, %d own", b, o)
	}
}

// TestBatchCrashBetween: a delivery found both in a batch file and in its
// own (newer) file is loaded once, from its own file.
func TestBatchCrashBetween(t *testing.T) {
	dir := t.TempDir()
	openOutbox(dir)
	a := Item{ID: "a", Attempts: 0, Channel: "webhook", Target: "soc", Kind: KindAlert}
	b := Item{ID: "b", Channel: "webhook", Target: "soc", Kind: KindAlert}
	writeDurable(dir, dirPending, batchPrefix+"x.json", []Item{a, b})
	a.Attempts, a.LastError = 3, "HTTP 500"
	writeDurable(dir, dirPending, "a.json", a)
	items, err := readPending(dir)
	if err != nil || len(items) != 2 {
		t.Fatalf("%d items, %v", len(items), err)
	}
	for _, it := range items {
		if it.ID == "a" && (it.Attempts != 3 || it.file != "a.json") {
			t.Errorf("stale copy of a: %+v", it)
		}
	}
}

// TestConcurrentEnqueue: producers committed together (group commit) lose
// nothing and duplicate nothing, across a restart.
func TestConcurrentEnqueue(t *testing.T) {
	r := newReceiver(t, time.Now)
	dir := t.TempDir()
	d := newDispatcher(t, hookConfig(t, dir, r, oneRoute), &clock{t: time.Now()}, nil)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				m := sample(KindAlert)
				m.Ref.ID = fmt.Sprintf("%d-%d", g, i)
				if _, err := d.Enqueue(t.Context(), m); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	b, o := pendingFiles(t, dir)
	t.Logf("320 deliveries in %d batch files and %d single files", b, o)
	d.Close()
	d = newDispatcher(t, hookConfig(t, dir, r, oneRoute), &clock{t: time.Now()}, nil)
	if n := d.Process(t.Context()); n != 320 {
		t.Fatalf("delivered %d", n)
	}
	seen := map[string]int{}
	for _, p := range r.payloads() {
		seen[p.Ref.ID]++
	}
	if len(seen) != 320 {
		t.Errorf("%d distinct of 320", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s received %d times", id, n)
		}
	}
}

// TestLargeData: megabytes of log text in Data do not become a megabyte
// webhook body.
func TestLargeData(t *testing.T) {
	r := newReceiver(t, time.Now)
	d := newDispatcher(t, hookConfig(t, t.TempDir(), r, oneRoute), &clock{t: time.Now()}, nil)
	m := sample(KindAlert)
	m.Data["summary"] = strings.Repeat("x", 2<<20)
	d.Enqueue(t.Context(), m)
	if d.Process(t.Context()) != 1 {
		t.Fatal("not delivered")
	}
	p := r.payloads()[0]
	if p.Data["truncated"] != true || len(p.Text) > 10000 || !strings.Contains(p.Text, "xxxx…") {
		t.Errorf("data %v, text %d bytes", p.Data, len(p.Text))
	}
}

// TestOneDispatcherPerOutbox: a second dispatcher on the same directory
// is refused (it would deliver everything twice); Test runs beside one.
func TestOneDispatcherPerOutbox(t *testing.T) {
	r := newReceiver(t, time.Now)
	c := hookConfig(t, t.TempDir(), r, oneRoute)
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	if _, err := New(c, Options{}); err == nil || !strings.Contains(err.Error(), "in use by another dispatcher") {
		t.Fatalf("second dispatcher: %v", err)
	}
	res, err := Test(t.Context(), c, "all", Options{})
	if err != nil || len(res) != 1 || res[0].Err != nil || len(r.payloads()) != 1 || r.payloads()[0].Kind != KindTest {
		t.Fatalf("test beside a dispatcher: %+v %v", res, err)
	}
	d.Close()
	d2, err := New(c, Options{})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	d2.Close()
}

// TestRetryAfter: a receiver's Retry-After is honoured, within retry_max.
func TestRetryAfter(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	slow := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Retry-After", req.URL.Query().Get("after"))
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer slow.Close()
	os.WriteFile(r.caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: slow.Certificate().Raw}), 0o644)
	for _, tc := range []struct {
		after string
		want  time.Duration
	}{{"300", 5 * time.Minute}, {"36000", 8 * time.Minute}, {"Wed, 21 Oct 2015 07:28:00 GMT", time.Minute}, {"10", time.Minute}} {
		r.srv.URL = slow.URL + "/?after=" + strings.ReplaceAll(tc.after, " ", "%20") + "&"
		c := hookConfig(t, t.TempDir(), r, oneRoute)
		d := newDispatcher(t, c, clk, nil)
		d.Enqueue(t.Context(), sample(KindAlert))
		d.Process(t.Context())
		l, _ := ListOutbox(c.Outbox.Dir)
		if len(l.Pending) != 1 || l.Pending[0].NextAttempt.Sub(clk.Now()) != tc.want || l.Pending[0].LastError != "HTTP 429" {
			t.Errorf("Retry-After %s: %s next in %v, want %v", tc.after, brief(l.Pending), l.Pending[0].NextAttempt.Sub(clk.Now()), tc.want)
		}
	}
}
