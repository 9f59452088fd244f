package cloud

import (
	"bytes"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
)

func TestBusConfig(t *testing.T) {
	const tenants = "tenants:\n  - {id: a, name: a, sources: [{cidr: 10.0.0.0/8}]}\n"
	bad := []struct{ body, want string }{
		{"store: s\nbus: {url: \"http://x\"}\n" + tenants, "nats://"},
		{"store: s\nbus: {stream: X}\n" + tenants, "url"},
		{"store: s\nbus: {url: \"nats://x:4222\", subject: \"kyojin.*\"}\n" + tenants, "wildcards"},
		{"store: s\nbus: {url: \"nats://x:4222\", stream: \"a.b\"}\n" + tenants, "stream name"},
		{"store: s\nbus: {url: \"nats://x:4222\", bogus: 1}\n" + tenants, "bogus"},
		{"store: s\nbus: {url: \"tls://x:4222\", cert: c.crt}\n" + tenants, "go together"},
		{"store: env:KYOJIN_TEST_UNSET_DSN\n" + tenants, "KYOJIN_TEST_UNSET_DSN"},
	}
	for _, c := range bad {
		_, diags := LoadConfig(writeConfig(t, t.TempDir(), c.body))
		var b bytes.Buffer
		diags.Write(&b, "en")
		if !diags.HasErrors() || !strings.Contains(b.String(), c.want) {
			t.Errorf("%q: got %q, want %q", c.body, b.String(), c.want)
		}
	}
	t.Setenv("KYOJIN_TEST_DSN", "postgres://kyojin_cloud@db/kyojin")
	cfg := loadTestConfig(t, "store: env:KYOJIN_TEST_DSN\nbus: {url: \"nats://n1:4222\"}\n"+tenants)
	b := cfg.Bus
	if cfg.Store != "postgres://kyojin_cloud@db/kyojin" || !strings.HasSuffix(cfg.Alerts, "alerts.jsonl") ||
		b.Stream != "KYOJIN_RAW" || b.Subject != "kyojin.raw" || b.TenantMaxMsgs != 100_000 || b.MaxBytes != -1 ||
		b.Fetch != 256 || b.AckWait != 30 || b.Pending != 4096 || b.Replicas != 1 || b.MaxAgeHours != 168 {
		t.Errorf("defaults: store %q alerts %q bus %+v", cfg.Store, cfg.Alerts, b)
	}
	if cfg.FileDir() != filepath.Dir(cfg.Alerts) {
		t.Errorf("FileDir %q with a DSN store", cfg.FileDir())
	}
}

// TestApplyRetentionPostgres: per-tenant deletes, then whole days past the
// longest retention dropped once every tenant has one.
func TestApplyRetentionPostgres(t *testing.T) {
	dsn := pgtest.Start(t).NewDB(t)
	cfg := loadTestConfig(t, "store: \""+dsn+"\"\ntenants:\n  - {id: a, name: a, retention_days: 30, sources: [{cidr: 10.0.0.0/8}]}\n  - {id: b, name: b, retention_days: 60, sources: [{cidr: 10.1.0.0/16}]}\n")
	st, err := cfg.OpenStore()
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*pgevents.Store); !ok {
		t.Fatalf("store %T, want PostgreSQL", st)
	}
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, tn := range []string{"a", "b"} {
		for _, age := range []int{0, 29, 31, 59, 100} {
			st.Append(&event.Event{Tenant: tn, Time: now.AddDate(0, 0, -age), Raw: "x"})
		}
	}
	removed, err := cfg.ApplyRetention(st, now)
	if err != nil || removed["a"] != 3 || removed["b"] != 1 {
		t.Fatalf("removed %v %v", removed, err)
	}
	for tn, want := range map[string]int{"a": 2, "b": 4} {
		n := 0
		st.Search(eventstore.Query{Tenant: tn}, func(*event.Event) bool { n++; return true })
		if n != want {
			t.Errorf("%s keeps %d, want %d", tn, n, want)
		}
	}
	// the 100-day-old partition is gone, not just emptied
	if n, _ := st.(*pgevents.Store).DropBefore(now.AddDate(0, 0, -60)); n != 0 {
		t.Errorf("partitions left past the longest retention: %d", n)
	}
}

// TestHTTPBatchLargerThanLane: a batch longer than the tenant's queue is
// accepted when the queue is free and workers drain it.
func TestHTTPBatchLargerThanLane(t *testing.T) {
	cfg := loadTestConfig(t, fmt.Sprintf(floodConfig, 4, ""))
	st, _ := eventstore.Open(cfg.Store)
	node := startFloodNode(t, cfg, st, false)
	var body strings.Builder
	for i := range 50 {
		fmt.Fprintf(&body, "<13>Nov 22 05:00:00 h batch: %d\n", i)
	}
	req, _ := http.NewRequest("POST", "http://"+node.srv.Addr("http").String()+"/v1/events", strings.NewReader(body.String()))
	req.Header.Set("Authorization", "Bearer a-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("batch of 50 into a lane of 4: %d", resp.StatusCode)
	}
	node.stop()
	if n := count(t, st, "city-a", "program=batch"); n != 50 {
		t.Errorf("stored %d of 50", n)
	}
}

// TestFileDirPaths: the cloud's own files (alerts, unstored alerts,
// operations evidence, threat intelligence) live in the store directory,
// or beside the configuration when events are in PostgreSQL — never
// inside a DSN.
func TestFileDirPaths(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("KYOJIN_TEST_STORE_DSN", "postgres://kyojin_cloud@db/kyojin")
	for _, c := range []struct {
		name, body, fileDir, alerts string
	}{
		{"directory", "store: s\ntenants: []\n", filepath.Join(dir, "s"), ""},
		{"directory with db", "store: /var/lib/kyojin/cloud\ndb: data\ntenants: []\n", "/var/lib/kyojin/cloud", ""},
		{"postgres", "store: postgres://kyojin_cloud@db/kyojin\ntenants: []\n", dir, filepath.Join(dir, "alerts.jsonl")},
		{"postgres from env", "store: env:KYOJIN_TEST_STORE_DSN\ntenants: []\n", dir, filepath.Join(dir, "alerts.jsonl")},
		{"postgres with db", "store: postgres://kyojin_cloud@db/kyojin\ndb: postgres://kyojin@db/kyojin\ntenants: []\n", dir, ""},
	} {
		cfg, diags := LoadConfig(writeConfig(t, dir, c.body))
		if diags.HasErrors() {
			t.Fatalf("%s: %v", c.name, diags.Err())
		}
		if cfg.FileDir() != c.fileDir || cfg.Alerts != c.alerts ||
			cfg.UnstoredAlertsPath() != filepath.Join(c.fileDir, "alerts-unstored.jsonl") ||
			cfg.OperationsDir() != filepath.Join(c.fileDir, "operations") {
			t.Errorf("%s: file dir %q alerts %q unstored %q operations %q", c.name, cfg.FileDir(), cfg.Alerts, cfg.UnstoredAlertsPath(), cfg.OperationsDir())
		}
	}
}
