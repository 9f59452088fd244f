package cloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"

	"testing"
	"time"

	"github.com/kyojin/kyojin/sigma"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/storetest"
)

// TestAlertConfigBad: every testdata/alerts-*.bad.yaml is refused with the
// error text (file:line) of its first line.
func TestAlertConfigBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/alerts-*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad configurations")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		want := strings.TrimPrefix(first, "# want: ")
		_, diags := LoadConfig(writeConfig(t, t.TempDir(), string(b)))
		var out bytes.Buffer
		diags.Write(&out, "en")
		if !diags.HasErrors() || !strings.Contains(out.String(), want) {
			t.Errorf("%s: got %q, want %q", f, out.String(), want)
		}
	}
}

func TestAlertConfigGood(t *testing.T) {
	dir := t.TempDir()
	cfg, diags := LoadConfig(writeConfig(t, dir, "store: s\ndb: data\ndedup_window: 15m\ndedup_by: [host, src_ip]\nalert_queue: 100\ntenants: []\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if cfg.DB != filepath.Join(dir, "data") || cfg.DedupWindow.Duration != 15*time.Minute || strings.Join(cfg.DedupBy, ",") != "host,src_ip" || cfg.AlertQueue != 100 {
		t.Errorf("config = %+v", cfg)
	}
	cfg, diags = LoadConfig(writeConfig(t, dir, "store: s\ndb: postgres://kyojin@db/kyojin\ntenants: []\n"))
	if diags.HasErrors() || cfg.DB != "postgres://kyojin@db/kyojin" {
		t.Errorf("postgres db: %v %v", cfg, diags.Err())
	}
}

func TestDedupKey(t *testing.T) {
	al := Alert{Host: "proxy1", SrcIP: "10.0.0.1", DstIP: "203.0.113.9", Source: "squid"}
	for _, c := range []struct {
		by   []string
		want string
	}{
		{DefaultDedup, "proxy1|10.0.0.1|203.0.113.9"},
		{[]string{"src_ip"}, "10.0.0.1"},
		{[]string{"source", "host"}, "squid|proxy1"},
		{nil, ""},
	} {
		if got := DedupKey(&al, c.by); got != c.want {
			t.Errorf("DedupKey(%v) = %q, want %q", c.by, got, c.want)
		}
	}
}

func alertAt(tenant, rule, src string, at time.Time) Alert {
	return Alert{Time: at, Tenant: tenant, Rule: rule, Title: "t " + rule, Level: "high", Credit: "c", Source: "squid",
		Host: "proxy1", SrcIP: src, Raw: fmt.Sprintf("%s %s %s", tenant, src, at.Format(time.RFC3339Nano))}
}

// TestHits: alerts of one batch fold into hits per (tenant, rule, key)
// within the window; the events kept are bounded.
func TestHits(t *testing.T) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	w := time.Minute
	var flood []Alert
	for i := range 50 {
		flood = append(flood, alertAt("a", "r", "10.0.0.1", t0.Add(time.Duration(i)*time.Second/10)))
	}
	cases := []struct {
		name   string
		batch  []Alert
		counts []int64
	}{
		{"one", []Alert{alertAt("a", "r", "10.0.0.1", t0)}, []int64{1}},
		{"flood", flood, []int64{50}},
		{"keys", []Alert{alertAt("a", "r", "10.0.0.1", t0), alertAt("a", "r", "10.0.0.2", t0), alertAt("a", "r", "10.0.0.1", t0)}, []int64{2, 1}},
		{"tenants and rules", []Alert{alertAt("a", "r", "x", t0), alertAt("b", "r", "x", t0), alertAt("a", "r2", "x", t0)}, []int64{1, 1, 1}},
		{"window", []Alert{alertAt("a", "r", "x", t0), alertAt("a", "r", "x", t0.Add(30*time.Second)), alertAt("a", "r", "x", t0.Add(3*time.Minute))}, []int64{2, 1}},
	}
	for _, c := range cases {
		hits := Hits(c.batch, DefaultDedup, w)
		var got []int64
		for _, h := range hits {
			got = append(got, h.Count)
			if len(h.Events) != int(min(h.Count, store.MaxAlertEvents)) || h.Events[0].Ref != h.Tenant+"/2026-11-22" {
				t.Errorf("%s: hit with %d events for count %d (ref %q)", c.name, len(h.Events), h.Count, h.Events[0].Ref)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(c.counts) {
			t.Errorf("%s: counts %v, want %v", c.name, got, c.counts)
		}
	}
	if h := Hits(flood, DefaultDedup, w)[0]; !h.FirstSeen.Equal(t0) || !h.LastSeen.Equal(flood[49].Time) || h.DedupKey != "proxy1|10.0.0.1|" {
		t.Errorf("flood hit: %+v", h)
	}
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func sumStats(s AlertStats) int64 { return s.Created + s.Merged + s.Suppressed + s.Dropped + s.Failed }

// TestStoreSinkDedupSuppression: through the sink into a real SQLite
// store, a flood becomes one alert with its count, another tenant's alert
// stays separate, an active suppression takes (and counts) matching
// alerts, and every raised alert is accounted for.
func TestStoreSinkDedupSuppression(t *testing.T) {
	st := storetest.SQLite(t)
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	if err := st.AddSuppression(ctx, &store.Suppression{Tenant: "b", Rule: "noisy", Until: t0.Add(time.Hour), Reason: "known scanner", Who: "soc", CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	var created []int64
	sink := NewStoreSink(st, StoreSinkOptions{Window: 10 * time.Minute, Batch: 7, Log: quietLog(), Now: func() time.Time { return t0 },
		Created: func(ids []int64) { created = append(created, ids...) }})
	for i := range 100 {
		sink.Raise(alertAt("a", "r", "10.0.0.1", t0.Add(time.Duration(i)*time.Second)))
	}
	sink.Raise(alertAt("b", "r", "10.0.0.1", t0))
	for i := range 5 {
		sink.Raise(alertAt("b", "noisy", "10.0.0.1", t0.Add(time.Duration(i)*time.Second)))
	}
	sink.Raise(alertAt("a", "r", "10.0.0.1", t0.Add(time.Hour))) // beyond the window: a new alert
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	s := sink.Stats()
	if s.Raised != 107 || sumStats(s) != s.Raised || s.Created != 3 || s.Suppressed != 5 || s.Merged != 99 || s.Dropped+s.Failed != 0 {
		t.Fatalf("stats %+v", s)
	}
	list, n, err := st.ListAlerts(ctx, store.AlertFilter{Tenants: store.OneTenant("a")})
	if err != nil || n != 2 {
		t.Fatalf("tenant a: %d %v", n, err)
	}
	if len(created) != 3 || created[0] != list[1].ID || created[2] != list[0].ID { // Close waited for the writer
		t.Errorf("created hook: %v", created)
	}
	full, err := st.Alert(ctx, store.OneTenant("a"), list[1].ID)
	if err != nil || list[1].Count != 100 || len(full.Events) != store.MaxAlertEvents || list[0].Count != 1 || list[1].Credit != "c" {
		t.Errorf("tenant a alerts: %+v %v", list, err)
	}
	sups, _ := st.Suppressions(ctx, store.OneTenant("b"), t0)
	if len(sups) != 1 || sups[0].Hits != 5 {
		t.Errorf("suppression hits: %+v", sups)
	}
}

// gatedStore holds RecordAlerts until released: a database that stalls.
type gatedStore struct {
	store.AlertStore
	gate chan struct{}
}

func (g *gatedStore) RecordAlerts(ctx context.Context, hits []store.Alert, w time.Duration, now time.Time) (store.RecordStats, error) {
	<-g.gate
	return g.AlertStore.RecordAlerts(ctx, hits, w, now)
}

// TestStoreSinkNeverBlocks: while the database stalls, Raise returns at
// once; what the bounded queue cannot hold is counted and written to the
// fallback, never lost silently.
func TestStoreSinkNeverBlocks(t *testing.T) {
	g := &gatedStore{AlertStore: storetest.SQLite(t), gate: make(chan struct{})}
	var fb syncBuffer
	sink := NewStoreSink(g, StoreSinkOptions{Queue: 4, Batch: 2, FlushEvery: time.Millisecond, Fallback: &fb, Log: quietLog()})
	t0 := time.Now()
	start := time.Now()
	for i := range 200 {
		sink.Raise(alertAt("a", "r", fmt.Sprint(i), t0))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("200 raises took %v with a stalled database", d)
	}
	close(g.gate)
	sink.Close()
	s := sink.Stats()
	if s.Dropped < 190 || sumStats(s) != 200 || s.Created != 200-s.Dropped {
		t.Errorf("stats %+v", s)
	}
	if n := int64(strings.Count(fb.String(), "\n")); n != s.Dropped {
		t.Errorf("fallback has %d lines for %d dropped", n, s.Dropped)
	}
}

// TestStoreSinkFailure: a store that refuses writes (closed database)
// makes the sink count the alerts as failed and keep them in the fallback.
func TestStoreSinkFailure(t *testing.T) {
	st := storetest.SQLite(t)
	st.Close()
	var fb syncBuffer
	sink := NewStoreSink(st, StoreSinkOptions{Fallback: &fb, Log: quietLog()})
	for i := range 3 {
		sink.Raise(alertAt("a", "r", fmt.Sprint(i), time.Now()))
	}
	sink.Close()
	if s := sink.Stats(); s.Failed != 3 || sumStats(s) != 3 {
		t.Errorf("stats %+v", s)
	}
	if strings.Count(fb.String(), `"tenant":"a"`) != 3 {
		t.Errorf("fallback: %q", fb.String())
	}
}

// TestIntakeToAlertStore is the whole path: syslog lines over TCP →
// intake → parse → Sigma → store sink → alert rows in SQLite, with dedup
// counts per source address and tenants kept apart.
func TestIntakeToAlertStore(t *testing.T) {
	set, errs := sigma.Parse([]byte(proxyRule), "proxy.yml", nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	r, _ := start(t, 1000)
	defer r.stop(t)
	st := storetest.SQLite(t)
	sink := NewStoreSink(st, StoreSinkOptions{Window: time.Hour, Log: quietLog()})
	d := NewSigmaDetector(set.Rules, nil)
	d.SendTo(sink)
	r.in.SetDetector(d)
	r.in.Start(2)
	send := func(listener string, lines ...string) {
		c, err := net.Dial("tcp", r.srv.Addr(listener).String())
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lines {
			fmt.Fprintf(c, "%s\n", l)
		}
		c.Close()
	}
	squid := func(src, url string) string {
		return fmt.Sprintf("1700000000.000 5 %s TCP_MISS/200 5000 GET %s - HIER_DIRECT/203.0.113.9 application/octet-stream", src, url)
	}
	var cityA []string
	for range 7 {
		cityA = append(cityA, squid("10.20.0.7", "http://dl.example/setup.exe"))
	}
	cityA = append(cityA, squid("10.20.0.8", "http://dl.example/other.exe"), squid("10.20.0.7", "http://dl.example/readme.txt"))
	send("squid-a", cityA...) // listener of tenant city-a
	// tenant pref by source address, RFC 3164 framed squid line
	send("tcp", "<13>Nov 22 05:00:00 proxy1 squid[1]: "+squid("10.1.2.3", "http://x.example/a.exe"))
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && d.Alerts.Load() < 9 {
		time.Sleep(20 * time.Millisecond)
	}
	r.stop(t)
	sink.Close()
	if s := sink.Stats(); s.Raised != 9 || s.Created != 3 || s.Merged != 6 {
		t.Fatalf("sink stats %+v (detector alerts %d)", s, d.Alerts.Load())
	}
	ctx := context.Background()
	list, n, err := st.ListAlerts(ctx, store.AlertFilter{Tenants: store.OneTenant("city-a")})
	if err != nil || n != 2 {
		t.Fatalf("city-a alerts: %d %v", n, err)
	}
	counts := map[string]int64{}
	for _, a := range list {
		counts[a.SrcIP] = a.Count
		full, err := st.Alert(ctx, store.OneTenant("city-a"), a.ID)
		if err != nil || a.Tenant != "city-a" || !strings.Contains(a.Credit, "kyojin tests") || a.Level != "high" ||
			int64(len(full.Events)) != a.Count || !strings.Contains(full.Events[0].Raw, "TCP_MISS/200") || full.Events[0].Source != "squid" {
			t.Errorf("alert %+v %v", full, err)
		}
	}
	if counts["10.20.0.7"] != 7 || counts["10.20.0.8"] != 1 {
		t.Errorf("dedup counts %v", counts)
	}
	pref, n, _ := st.ListAlerts(ctx, store.AlertFilter{Tenants: store.OneTenant("pref")})
	if n != 1 || pref[0].SrcIP != "10.1.2.3" || pref[0].Host != "proxy1" {
		t.Errorf("pref alerts: %+v", pref)
	}
	if _, err := st.Alert(ctx, store.OneTenant("pref"), list[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("pref reads city-a's alert: %v", err)
	}
}
