package cloud

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/notify/notifytest"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/storetest"
)

// alertsOf keeps the alert notifications (not the ladder's).
func alertsOf(ps []notify.WebhookPayload) []notify.WebhookPayload {
	var out []notify.WebhookPayload
	for _, p := range ps {
		if p.Kind == notify.KindAlert {
			out = append(out, p)
		}
	}
	return out
}

// notifyCloudConfig writes a cloud configuration with notify: and a
// notification file sending every alert to the receiver's webhook.
func notifyCloudConfig(t *testing.T, r *notifytest.Receiver, ladder string) *Config {
	t.Helper()
	dir := t.TempDir()
	ny := fmt.Sprintf(`console_url: https://soc.pref.example.lg.jp/
outbox: {dir: %s, retry_base: 1s, retry_max: 2s, give_up_after: 1m}
webhooks:
%sroutes:
  - {name: all, webhooks: [soc]}
  - {name: lead, explicit: true, webhooks: [soc]}
ladders:
  - name: alert-ladder
    steps:
      - {after: 1h, level: CSIRT責任者, route: lead}
`, filepath.Join(dir, "outbox"), r.Webhook("soc"))
	if err := os.WriteFile(filepath.Join(dir, "notify.yaml"), []byte(ny), 0o600); err != nil {
		t.Fatal(err)
	}
	body := "store: s\ndb: data\nnotify: notify.yaml\n" + ladder + "tenants: []\n"
	cfg, diags := LoadConfig(writeConfig(t, dir, body))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	return cfg
}

// TestAlertNotifications: alerts stored through the sink reach a real
// HTTPS webhook receiver signed, once per alert opened — a dedup merge,
// in the same batch or a later one, notifies nobody again — with the
// rule, credit, host and the console link; high alerts start the
// configured ladder, which an acknowledgement in the store stops.
func TestAlertNotifications(t *testing.T) {
	rcv := notifytest.New(t, nil)
	cfg := notifyCloudConfig(t, rcv, "notify_ladder: alert-ladder\n")
	st := storetest.SQLite(t)
	d, err := notify.New(cfg.NotifyConfig, notify.Options{Log: quietLog(), Acker: AlertAcker(st)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = d.Run(ctx) }()
	defer func() { cancel(); <-ran; d.Close() }()

	an := NewAlertNotifier(st, d, AlertNotifierOptions{ConsoleURL: cfg.NotifyConfig.ConsoleURL, Ladder: cfg.NotifyLadder, Log: quietLog()})
	sink := NewStoreSink(st, StoreSinkOptions{Window: 10 * time.Minute, Batch: 4, FlushEvery: 20 * time.Millisecond, Log: quietLog(), Created: an.Created})
	t0 := time.Now().Add(-time.Minute).UTC()
	for i := range 10 { // one alert: ten hits across three batches
		sink.Raise(alertAt("city-a", "r1", "10.0.0.1", t0.Add(time.Duration(i)*time.Second)))
	}
	low := alertAt("city-b", "r2", "10.0.0.2", t0)
	low.Level = "low"
	sink.Raise(low)
	if _, ok := rcv.Wait(20*time.Second, func(ps []notify.WebhookPayload) bool { return len(alertsOf(ps)) >= 2 }); !ok {
		t.Error("two alert webhooks not received within 20 s")
	}
	time.Sleep(300 * time.Millisecond) // a merge must not notify: give it the chance
	sink.Raise(alertAt("city-a", "r1", "10.0.0.1", t0.Add(30*time.Second)))
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	an.Close()
	time.Sleep(300 * time.Millisecond)
	got := alertsOf(rcv.Got())
	if rcv.BadSignatures() != 0 {
		t.Errorf("%d webhooks with a bad signature", rcv.BadSignatures())
	}
	if len(got) != 2 {
		t.Fatalf("alert webhooks = %d, want 2 (one per alert opened): %+v", len(got), got)
	}
	list, n, err := st.ListAlerts(context.Background(), store.AlertFilter{Tenants: store.OneTenant("city-a")})
	if err != nil || n != 1 || list[0].Count != 11 {
		t.Fatalf("city-a alerts %d %+v %v", n, list, err)
	}
	byTenant := map[string]notify.WebhookPayload{}
	for _, p := range got {
		byTenant[p.Tenant] = p
	}
	a := byTenant["city-a"]
	wantLink := fmt.Sprintf("https://soc.pref.example.lg.jp/alerts/%d", list[0].ID)
	if a.Title != "t r1" || a.Severity != notify.SevHigh || a.Link != wantLink || a.Data["rule_author"] != "c" || a.Data["host"] != "proxy1" ||
		a.Ref == nil || a.Ref.ID != fmt.Sprint(list[0].ID) || !strings.Contains(a.Text, "t r1") {
		t.Errorf("city-a payload %+v", a)
	}
	if byTenant["city-b"].Severity != notify.SevLow {
		t.Errorf("city-b payload %+v", byTenant["city-b"])
	}
	if notified, escalated, lost := an.Counts(); notified != 2 || escalated != 1 || lost != 0 {
		t.Errorf("counts notified %d escalated %d lost %d", notified, escalated, lost)
	}
	ls := d.Ladders()
	if len(ls) != 1 || ls[0].Ref.Tenant != "city-a" || ls[0].Ladder != "alert-ladder" {
		t.Fatalf("ladders %+v", ls)
	}
	acker := AlertAcker(st)
	if ok, err := acker.Acknowledged(context.Background(), ls[0].Ref); ok || err != nil {
		t.Errorf("new alert acknowledged=%v %v", ok, err)
	}
	if err := st.SetAlertStatus(context.Background(), store.OneTenant("city-a"), list[0].ID, store.AlertAcknowledged, store.AlertNote{Time: time.Now(), Author: "soc", Text: "見ています"}); err != nil {
		t.Fatal(err)
	}
	if ok, err := acker.Acknowledged(context.Background(), ls[0].Ref); !ok || err != nil {
		t.Errorf("acknowledged alert: %v %v", ok, err)
	}
}

// TestNotifyConfigErrors: the notification file's problems are reported
// with the cloud configuration's, with their own file and line.
func TestNotifyConfigErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notify.yaml"), []byte("outbox: {dir: o}\nroutes:\n  - {name: r, webhoks: [x]}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ body, want string }{
		{"store: s\ndb: data\nnotify: notify.yaml\ntenants: []\n", "notify.yaml:3"},
		{"store: s\ndb: data\nnotify: missing.yaml\ntenants: []\n", "missing.yaml"},
		{"store: s\nnotify: notify.yaml\ntenants: []\n", "need db"},
		{"store: s\ndb: data\nnotify_ladder: x\ntenants: []\n", "notify_ladder needs notify"},
	} {
		_, diags := LoadConfig(writeConfig(t, dir, c.body))
		var out strings.Builder
		diags.Write(&out, "en")
		if !diags.HasErrors() || !strings.Contains(out.String(), c.want) {
			t.Errorf("%q: got %q, want %q", c.body, out.String(), c.want)
		}
	}
}

// TestApplyAlertRetention: each tenant's retention_days applies to its
// alerts; the all-tenant pass runs only when every tenant has one.
func TestApplyAlertRetention(t *testing.T) {
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name      string
		retention [2]int
		want      map[string]int64
		left      int
	}{
		{"both", [2]int{30, 400}, map[string]int64{"*": 0, "city-a": 1, "city-b": 0}, 2},
		{"one without", [2]int{30, 0}, map[string]int64{"city-a": 1}, 2},
		{"both short", [2]int{30, 60}, map[string]int64{"*": 1, "city-a": 1, "city-b": 0}, 1},
	} {
		st := storetest.SQLite(t)
		ctx := context.Background()
		for _, h := range []store.Alert{storetest.Hit("city-a", "r", "k", now.AddDate(0, 0, -45)), storetest.Hit("city-b", "r", "k", now.AddDate(0, 0, -100)),
			storetest.Hit("city-b", "r2", "k", now.AddDate(0, 0, -1))} {
			if _, err := st.RecordAlerts(ctx, []store.Alert{h}, time.Hour, now); err != nil {
				t.Fatal(err)
			}
		}
		cfg := &Config{Tenants: []Tenant{{ID: "city-a", RetentionDays: c.retention[0]}, {ID: "city-b", RetentionDays: c.retention[1]}}}
		got, err := cfg.ApplyAlertRetention(ctx, st, now)
		if err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: removed %v %v, want %v", c.name, got, err, c.want)
		}
		if _, n, _ := st.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants}); n != c.left {
			t.Errorf("%s: %d alerts left, want %d", c.name, n, c.left)
		}
	}
}

// gatedNotifier holds the first batch until release is closed, so the
// notifier's queue fills behind it; everything is then sent through the
// real dispatcher.
type gatedNotifier struct {
	Notifier
	release chan struct{}
}

func (g gatedNotifier) EnqueueBatch(ctx context.Context, ms []notify.Message) (int, error) {
	<-g.release
	return g.Notifier.EnqueueBatch(ctx, ms)
}

// TestAlertNotifierBacklog: alerts created while the notification queue
// is full are held back and notified once it drains — none is lost.
func TestAlertNotifierBacklog(t *testing.T) {
	rcv := notifytest.New(t, nil)
	cfg := notifyCloudConfig(t, rcv, "")
	st := storetest.SQLite(t)
	d, err := notify.New(cfg.NotifyConfig, notify.Options{Log: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); _ = d.Run(ctx) }()
	defer func() { cancel(); <-ran; d.Close() }()
	g := gatedNotifier{Notifier: d, release: make(chan struct{})}
	an := NewAlertNotifier(st, g, AlertNotifierOptions{Queue: 1, Log: quietLog()})
	sink := NewStoreSink(st, StoreSinkOptions{Window: time.Minute, Batch: 1, FlushEvery: time.Millisecond, Log: quietLog(), Created: an.Created})
	t0 := time.Now().Add(-time.Minute).UTC()
	const n = 40
	for i := range n {
		sink.Raise(alertAt("city-a", fmt.Sprintf("r%d", i), "10.0.0.1", t0))
	}
	if err := sink.Close(); err != nil {
		t.Fatal(err)
	}
	an.mu.Lock()
	held := len(an.overflow)
	an.mu.Unlock()
	if held == 0 {
		t.Fatal("nothing held back: the queue never filled, the test proves nothing")
	}
	close(g.release)
	an.Close()
	if _, ok := rcv.Wait(20*time.Second, func(ps []notify.WebhookPayload) bool { return len(alertsOf(ps)) >= n }); !ok {
		t.Fatalf("%d of %d alert webhooks received", len(alertsOf(rcv.Got())), n)
	}
	if notified, _, lost := an.Counts(); notified != n || lost != 0 {
		t.Errorf("notified %d lost %d (held back %d)", notified, lost, held)
	}
}
