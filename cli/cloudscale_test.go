package cli

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/cloud/natstest"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
)

// TestCloudSearchPostgres: import and search work the same with the events
// in PostgreSQL (--store postgres://…), one tenant at a time.
func TestCloudSearchPostgres(t *testing.T) {
	owner := pgtest.Start(t).NewDB(t)
	db, err := sql.Open("pgx", owner)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE ROLE kyojin_cli LOGIN NOSUPERUSER NOBYPASSRLS`); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--store", "/tmp/dir"}, {"--store", owner, "--grant", "x;y"}} {
		if code, _, _ := runCloudCLI(t, "", append([]string{"cloud", "migrate"}, args...)...); code == 0 {
			t.Errorf("migrate %v accepted", args)
		}
	}
	if code, out, errs := runCloudCLI(t, "", "cloud", "migrate", "--store", owner, "--grant", "kyojin_cli"); code != 0 || !strings.Contains(out, "version 1") {
		t.Fatalf("migrate: %d %s %s", code, out, errs)
	}
	// the cloud works as the granted, unprivileged role
	u, _ := url.Parse(owner)
	u.User = url.User("kyojin_cli")
	dsn := u.String()
	for _, c := range []struct{ tenant, line string }{
		{"city-a", `203.0.113.5 - - [22/Nov/2026:05:00:00 +0900] "GET /a?id=1%20union%20select HTTP/1.1" 200 5 "-" "sqlmap/1.5"`},
		{"city-b", `10.0.0.1 - - [22/Nov/2026:05:00:00 +0900] "GET /b HTTP/1.1" 200 1 "-" "sqlmap/1.5"`},
	} {
		if code, out, errs := runCloudCLI(t, c.line+"\nnot a log line\n", "cloud", "import", "-", "--tenant", c.tenant, "--format", "web", "--store", dsn); code != 0 {
			t.Fatalf("import %s: %d %s %s", c.tenant, code, out, errs)
		}
	}
	cases := []struct {
		args        []string
		code        int
		want, avoid string
	}{
		{[]string{"--tenant", "city-a", "c-useragent~SQLMAP"}, 0, `"src_ip":"203.0.113.5"`, "10.0.0.1"},
		{[]string{"--tenant", "city-b", "c-useragent~sqlmap"}, 0, `"src_ip":"10.0.0.1"`, "203.0.113.5"},
		{[]string{"--tenant", "city-a", "parse_error~"}, 0, "not a log line", "203.0.113.5"},
		{[]string{"--tenant", "city-a", "--from", "2026-11-21T20:30:00Z", "--to", "2026-11-21T21:30:00Z"}, 1, "", "203.0.113.5"},
		{[]string{"--tenant", "city-a", "--from", "2026-11-21T19:30:00Z", "--to", "2026-11-21T20:30:00Z"}, 0, "203.0.113.5", "not a log line"},
		{[]string{"--tenant", "city-c"}, 1, "", "sqlmap"},
	}
	for _, c := range cases {
		code, out, errs := runCloudCLI(t, "", append([]string{"cloud", "search", "--store", dsn}, c.args...)...)
		if code != c.code || !strings.Contains(out, c.want) || c.avoid != "" && strings.Contains(out, c.avoid) {
			t.Errorf("%v: exit %d, output %q (%s)", c.args, code, out, errs)
		}
	}
}

// TestCloudServeRoles runs an intake node and a worker node of one
// configuration with a real nats-server between them.
func TestCloudServeRoles(t *testing.T) {
	ns := natstest.Start(t)
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "cloud.yaml")
	body := "store: store\ntimezone: UTC\nlisteners:\n  - {name: tcp, type: tcp, address: \"" + addr + "\"}\ntenants:\n  - {id: pref, name: 県, sources: [{listener: tcp}]}\n"
	os.WriteFile(cfg, []byte(body+fmt.Sprintf("bus: {url: %q}\n", ns.URL)), 0o600)
	plain := filepath.Join(dir, "plain.yaml")
	os.WriteFile(plain, []byte(body), 0o600)
	for _, args := range [][]string{{"--config", plain, "--role", "worker"}, {"--config", plain, "--role", "intake"}, {"--config", cfg, "--role", "boss"}} {
		if code, _, errs := runCloudCLI(t, "", append([]string{"cloud", "serve"}, args...)...); code != 2 {
			t.Errorf("%v: exit %d (%s)", args, code, errs)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	old := serveContext
	serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	defer func() { serveContext = old }()
	done := make(chan string, 2)
	for _, role := range []string{"intake", "worker"} {
		go func() {
			code, _, errs := runCloudCLI(t, "", "cloud", "serve", "--config", cfg, "--role", role)
			done <- fmt.Sprintf("%s exit %d %s", role, code, errs)
		}()
	}
	var c net.Conn
	for range 200 {
		if c, err = net.Dial("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if c == nil {
		t.Fatal("intake node did not listen")
	}
	fmt.Fprintf(c, "<13>Nov 22 05:00:00 fw kernel: DROP IN=eth0 OUT= SRC=10.9.9.9 DST=192.0.2.1 PROTO=UDP SPT=1 DPT=53\n")
	c.Close()
	var out string
	for range 250 {
		if _, out, _ = runCloudCLI(t, "", "cloud", "search", "--config", plain, "--tenant", "pref", "dst_port=53"); out != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	for range 2 {
		if r := <-done; !strings.Contains(r, "exit 0") {
			t.Error(r)
		}
	}
	if !strings.Contains(out, `"src_ip":"10.9.9.9"`) {
		t.Fatalf("event did not reach the worker's store: %q", out)
	}
}
