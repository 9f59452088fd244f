package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/sqlite"
)

// writeExeRule writes into dir a high Sigma rule matching proxy requests
// for .exe files (author "kyojin tests").
func writeExeRule(t *testing.T, dir string) {
	t.Helper()
	os.MkdirAll(dir, 0o700)
	if err := os.WriteFile(filepath.Join(dir, "exe.yml"), []byte(`title: Executable download
id: 11111111-2222-3333-4444-555555555555
author: kyojin tests
logsource: {category: proxy}
detection:
  selection: {c-uri|endswith: .exe}
  condition: selection
level: high
`), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestCloudServeAlertStore: with db set, `kyojin cloud serve` writes Sigma
// alerts into the console's SQLite store with dedup, and no JSON-lines
// file unless alerts is set.
func TestCloudServeAlertStore(t *testing.T) {
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	writeExeRule(t, filepath.Join(dir, "rules"))
	cfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cfg, []byte("store: store\ntimezone: UTC\nrules: "+filepath.Join(dir, "rules")+"\ndb: console-data\ndedup_window: 1h\nlisteners:\n  - {name: tcp, type: tcp, format: squid, address: \""+addr+"\"}\ntenants:\n  - {id: city-a, name: A市, sources: [{listener: tcp}]}\n"), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	old := serveContext
	serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	defer func() { serveContext = old }()
	done := make(chan int)
	var errs string
	go func() {
		var code int
		code, _, errs = runCloudCLI(t, "", "cloud", "serve", "--config", cfg)
		done <- code
	}()
	var c net.Conn
	for range 100 {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c == nil {
		cancel()
		<-done
		t.Fatal("serve did not listen: " + errs)
	}
	for range 4 {
		fmt.Fprintf(c, "1700000000.000 5 10.20.0.7 TCP_MISS/200 5000 GET http://dl.example/setup.exe - HIER_DIRECT/203.0.113.9 application/octet-stream\n")
	}
	c.Close()
	time.Sleep(300 * time.Millisecond)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exit %d: %s", code, errs)
	}
	if !strings.Contains(errs, "kyojin.db") {
		t.Errorf("serve does not name the alert store: %s", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "store", "alerts.jsonl")); err == nil {
		t.Error("alerts.jsonl written although db is set and alerts is not")
	}
	st, err := sqlite.Open(filepath.Join(dir, "console-data", "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, n, err := st.ListAlerts(context.Background(), store.AlertFilter{Tenants: store.OneTenant("city-a")})
	if err != nil || n != 1 || list[0].Count != 4 || !strings.Contains(list[0].Credit, "kyojin tests") {
		t.Fatalf("stored alerts: %d %+v %v", n, list, err)
	}
}

// The console configuration's events directory reaches `kyojin serve`
// (for /events); a missing directory is a configuration error.
func TestServeEventsDirectory(t *testing.T) {
	dir := t.TempDir()
	events := filepath.Join(dir, "cloud-store")
	os.MkdirAll(events, 0o700)
	cfg := filepath.Join(dir, "kyojin.yaml")
	os.WriteFile(cfg, []byte("home_tenant: city-a\nevents: "+events+"\n"), 0o600)
	out, _ := startServe(t, regexp.MustCompile(`イベントの保存先: .*\n`), "--dev", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	if !strings.Contains(out.String(), events) {
		t.Errorf("startup output: %s", out.String())
	}
	os.WriteFile(cfg, []byte("events: "+filepath.Join(dir, "nope")+"\n"), 0o600)
	if code, _, errs := run(t, "serve", "--dev", "--config", cfg, "--data", filepath.Join(dir, "data2"), "--listen", "127.0.0.1:0"); code != 2 || !strings.Contains(errs, "nope") {
		t.Errorf("missing events directory: %d %s", code, errs)
	}
}

// `events: env:NAME` naming a PostgreSQL event store reaches `kyojin
// serve` through the cloud's store helpers (schema migrated, DSN read from
// the environment, shown without secrets).
func TestServeEventsPostgres(t *testing.T) {
	dsn := pgtest.Start(t).NewDB(t)
	t.Setenv("KYOJIN_TEST_EVENTS_DSN", dsn)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "kyojin.yaml")
	os.WriteFile(cfg, []byte("home_tenant: city-a\nevents: env:KYOJIN_TEST_EVENTS_DSN\n"), 0o600)
	out, _ := startServe(t, regexp.MustCompile(`イベントの保存先: .*\n`), "--dev", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	if !strings.Contains(out.String(), "イベントの保存先: postgres://postgres@/") {
		t.Errorf("startup output: %s", out.String())
	}
	os.WriteFile(cfg, []byte("events: env:KYOJIN_TEST_EVENTS_UNSET\n"), 0o600)
	if code, _, errs := run(t, "serve", "--dev", "--config", cfg, "--data", filepath.Join(dir, "data2"), "--listen", "127.0.0.1:0"); code != 2 || !strings.Contains(errs, "KYOJIN_TEST_EVENTS_UNSET") {
		t.Errorf("unset events variable: %d %s", code, errs)
	}
}

// A batch load with a configuration runs the same detection as live
// intake: the Sigma rule fires on the imported lines and the alert lands
// in the store, deduplicated.
func TestCloudImportDetects(t *testing.T) {
	dir := t.TempDir()
	writeExeRule(t, filepath.Join(dir, "rules"))
	cfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cfg, []byte("store: store\ntimezone: UTC\nrules: "+filepath.Join(dir, "rules")+"\ndb: console-data\ndedup_window: 1h\nlisteners:\n  - {name: tcp, type: tcp, format: squid, address: \"127.0.0.1:0\"}\ntenants:\n  - {id: city-a, name: A市, sources: [{listener: tcp}]}\n"), 0o600)
	logf := filepath.Join(dir, "access.log")
	line := "1700000000.000 5 10.20.0.7 TCP_MISS/200 5000 GET http://dl.example/setup.exe - HIER_DIRECT/203.0.113.9 application/octet-stream\n"
	os.WriteFile(logf, []byte(line+line+line+"1700000001.000 5 10.20.0.7 TCP_MISS/200 500 GET http://www.example/ - HIER_DIRECT/203.0.113.9 text/html\n"), 0o600)
	code, out, errs := runCloudCLI(t, "", "cloud", "import", logf, "--tenant", "city-a", "--format", "squid", "--config", cfg)
	if code != 0 || !strings.Contains(out, "parsed: 4") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	st, err := sqlite.Open(filepath.Join(dir, "console-data", "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, n, err := st.ListAlerts(context.Background(), store.AlertFilter{Tenants: store.OneTenant("city-a")})
	if err != nil || n != 1 || list[0].Count != 3 || list[0].Level != "high" {
		t.Fatalf("stored alerts after import: %d %+v %v", n, list, err)
	}
}
