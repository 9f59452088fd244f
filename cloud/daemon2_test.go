package cloud

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/mailgate/postfixtest"
	"github.com/kyojin/kyojin/sigma"
)

// sharedSigma loads the shared Sigma rules of one rules/ subfolder, or
// returns nil when the third-party data is absent.
func sharedSigma(t *testing.T, sub string) []*sigma.Rule {
	t.Helper()
	for _, root := range []string{filepath.Join("..", ".."), filepath.Join("..", "..", "..")} {
		d := filepath.Join(root, "shared", "data", "logs", "sigma", "rules", sub)
		if _, err := os.Stat(d); err != nil {
			continue
		}
		set, errs, err := sigma.LoadDir(d, nil)
		if err != nil || len(errs) > 0 {
			t.Fatalf("shared rules %s: %v %v", sub, err, errs)
		}
		return set.Rules
	}
	t.Logf("shared Sigma rules absent (../shared/data); only the inline rule runs")
	return nil
}

// daemonDir is a private directory a daemon that drops root privileges
// (squid runs as "proxy") can write to; removed at the end of the test.
func daemonDir(t *testing.T, name string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "kyojin-"+name+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// importLog feeds a daemon's log file into intake as `kyojin cloud import
// FILE --tenant T --format F` does.
func importLog(t *testing.T, r *rig, path, tenant, format string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	err = ReadLines(bufio.NewReader(f), func(line []byte) error {
		n++
		return r.in.Submit(context.Background(), tenant, format, append([]byte(nil), line...))
	})
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatal(err)
	}
	return n
}

// TestSquidAccessLog: a private Squid (its own configuration, port and log
// directory) proxies curl requests to a local origin; its native
// access.log is imported for city-a, parsed into proxy fields, and the
// proxy Sigma rules fire: the inline .exe download rule and, with the shared
// rules present, SigmaHQ's "Telegram API Access" (api.telegram.org is
// pointed at the origin through Squid's own hosts file).
func TestSquidAccessLog(t *testing.T) {
	squid := lookBin(t, "squid")
	curl := lookBin(t, "curl")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprint(w, "payload")
	}))
	defer origin.Close()
	oport := origin.Listener.Addr().(*net.TCPAddr).Port
	dir := daemonDir(t, "squid")
	port := freeTCPPort(t)
	os.WriteFile(filepath.Join(dir, "hosts"), []byte("127.0.0.1 api.telegram.org dl.example.test\n"), 0o644)
	conf := fmt.Sprintf(`http_port 127.0.0.1:%[2]d
visible_hostname kyojin-test
pid_filename %[1]s/squid.pid
access_log stdio:%[1]s/access.log squid
cache_log %[1]s/cache.log
cache_store_log none
coredump_dir %[1]s
hosts_file %[1]s/hosts
dns_nameservers 127.0.0.1
cache deny all
http_access allow localhost
http_access deny all
shutdown_lifetime 0 seconds
logfile_rotate 0
`, dir, port)
	if os.Geteuid() == 0 {
		conf += "cache_effective_user proxy\n"
	}
	confPath := filepath.Join(dir, "squid.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	if out, err := exec.Command(squid, "-k", "parse", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("squid -k parse: %v\n%s", err, out)
	}
	cmd := exec.Command(squid, "-N", "-f", confPath)
	logb := daemonOutput(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(cmd)
	proxy := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := func(url string) error {
		out, err := exec.Command(curl, "-sS", "-o", "/dev/null", "--max-time", "5", "-x", proxy, url).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	exe := fmt.Sprintf("http://dl.example.test:%d/download/setup.exe", oport)
	if !waitFor(20*time.Second, func() bool { return get(exe) == nil }) {
		b, _ := os.ReadFile(filepath.Join(dir, "cache.log"))
		t.Fatalf("squid did not proxy: %v\n%s\n%s", get(exe), logb(), b)
	}
	if err := get(fmt.Sprintf("http://api.telegram.org:%d/bot123:abc/sendMessage", oport)); err != nil {
		t.Fatal(err)
	}
	if err := get(fmt.Sprintf("http://dl.example.test:%d/readme.txt", oport)); err != nil {
		t.Fatal(err)
	}
	access := filepath.Join(dir, "access.log")
	if !waitFor(10*time.Second, func() bool {
		b, _ := os.ReadFile(access)
		return strings.Count(string(b), "\n") >= 3
	}) {
		b, _ := os.ReadFile(access)
		t.Fatalf("squid access.log has not 3 lines:\n%s", b)
	}
	stopDaemon(cmd)

	set, errs := sigma.Parse([]byte(proxyRule), "proxy.yml", nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	rules := append(set.Rules, sharedSigma(t, "web/proxy_generic")...)
	r, _ := start(t, 1024)
	defer r.stop(t)
	var alerts syncBuffer
	r.in.SetDetector(NewSigmaDetector(rules, &alerts))
	r.in.Start(1)
	n := importLog(t, r, access, "city-a", "squid")
	r.stop(t)
	if st := r.in.Stats()["city-a"]; st.Parsed != int64(n) || st.Failed != 0 {
		t.Fatalf("squid lines: %d read, counters %+v", n, st)
	}
	got := search(t, r.store, "city-a", "source=squid", "cs-host=dl.example.test", "c-uri-extension=exe", "cs-method=GET", "src_ip=127.0.0.1")
	if len(got) != 1 || got[0].Fields["sc-status"] != "200" || got[0].Fields["dst_port"] != fmt.Sprint(oport) {
		t.Fatalf("setup.exe request: %d events %+v", len(got), got)
	}
	out := alerts.String()
	if !strings.Contains(out, `"rule":"5c5b2f4e-1d57-4b43-9a0b-1f0e2b0a7a11"`) || !strings.Contains(out, `"tenant":"city-a"`) {
		t.Errorf("no .exe download alert:\n%s", out)
	}
	if strings.Contains(out, "readme.txt") {
		t.Errorf("alert on a harmless request:\n%s", out)
	}
	if len(rules) > 1 && !strings.Contains(out, "Telegram API Access") {
		t.Errorf("shared rule Telegram API Access did not fire:\n%s", out)
	}
}

// TestUnboundQueryLog: a private Unbound on a high port answers dig
// queries from local data and logs them (log-queries, log-replies) to its
// own file; the log is imported, parsed into DNS fields, and the shared
// rule "Monero Crypto Coinmining Pool Lookup" fires on pool.minexmr.com.
func TestUnboundQueryLog(t *testing.T) {
	unbound := lookBin(t, "unbound")
	dig := lookBin(t, "dig")
	dir := daemonDir(t, "unbound")
	port := freeUDPPort(t)
	conf := fmt.Sprintf(`server:
  interface: 127.0.0.1
  port: %[2]d
  do-daemonize: no
  do-ip6: no
  username: ""
  chroot: ""
  directory: "%[1]s"
  pidfile: "%[1]s/unbound.pid"
  logfile: "%[1]s/unbound.log"
  use-syslog: no
  verbosity: 1
  log-queries: yes
  log-replies: yes
  access-control: 127.0.0.0/8 allow
  module-config: "iterator"
  local-zone: "city.example.lg.jp." static
  local-data: "www.city.example.lg.jp. A 10.3.0.80"
  local-zone: "minexmr.com." static
  local-data: "pool.minexmr.com. A 192.0.2.66"
remote-control:
  control-enable: no
`, dir, port)
	confPath := filepath.Join(dir, "unbound.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	if out, err := exec.Command("/usr/sbin/unbound-checkconf", confPath).CombinedOutput(); err != nil {
		t.Fatalf("unbound-checkconf: %v\n%s", err, out)
	}
	cmd := exec.Command(unbound, "-d", "-c", confPath)
	logb := daemonOutput(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(cmd)
	query := func(name string) string {
		out, _ := exec.Command(dig, "@127.0.0.1", "-p", fmt.Sprint(port), "+time=1", "+tries=1", "+short", name, "A").CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if !waitFor(15*time.Second, func() bool { return query("www.city.example.lg.jp") == "10.3.0.80" }) {
		b, _ := os.ReadFile(filepath.Join(dir, "unbound.log"))
		t.Fatalf("unbound did not answer: %q\n%s\n%s", query("www.city.example.lg.jp"), logb(), b)
	}
	if got := query("pool.minexmr.com"); got != "192.0.2.66" {
		t.Fatalf("pool.minexmr.com: %q", got)
	}
	logPath := filepath.Join(dir, "unbound.log")
	if !waitFor(5*time.Second, func() bool {
		b, _ := os.ReadFile(logPath)
		return strings.Contains(string(b), "pool.minexmr.com. A IN NOERROR")
	}) {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("unbound log lacks the reply line:\n%s", b)
	}
	stopDaemon(cmd)

	rules := sharedSigma(t, "network/dns")
	r, _ := start(t, 1024)
	defer r.stop(t)
	var alerts syncBuffer
	if rules != nil {
		r.in.SetDetector(NewSigmaDetector(rules, &alerts))
	}
	r.in.Start(1)
	importLog(t, r, logPath, "city-a", "unbound")
	r.stop(t)
	st := r.in.Stats()["city-a"]
	if st.Parsed < 4 { // two queries and two replies at least
		t.Fatalf("unbound lines parsed: %+v", st)
	}
	q := search(t, r.store, "city-a", "source=unbound", "query=pool.minexmr.com", "record_type=A", "src_ip=127.0.0.1")
	if len(q) < 2 {
		t.Fatalf("pool.minexmr.com: %d events (want the query and the reply)", len(q))
	}
	if rep := search(t, r.store, "city-a", "query=pool.minexmr.com", "action=reply", "response_code=NOERROR"); len(rep) != 1 {
		t.Errorf("reply line: %d events", len(rep))
	}
	if rules != nil {
		out := alerts.String()
		if !strings.Contains(out, "b593fd50-7335-4682-a36c-4edcb68e4641") || strings.Contains(out, "www.city.example.lg.jp") {
			t.Errorf("alerts:\n%s", out)
		}
	}
}

// TestPostfixMailLog: a private Postfix receives a deliverable and an
// undeliverable message from swaks; its mail log is imported for city-a,
// every line parses, and the deliveries are searchable by mail fields.
func TestPostfixMailLog(t *testing.T) {
	if why := postfixtest.Available(); why != "" {
		t.Skip(why)
	}
	swaks := lookBin(t, "swaks")
	pf := postfixtest.Start(t, postfixtest.Options{Name: "cloudlog", Domains: []string{"city.lg.jp"}})
	if out, err := exec.Command(swaks, "--server", pf.Addr, "--from", "a@good.example", "--to", "kakari@city.lg.jp", "--silent", "2").CombinedOutput(); err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	exec.Command(swaks, "--server", pf.Addr, "--from", "spam@bad.example", "--to", "victim@elsewhere.example", "--silent", "2").Run()
	if !waitFor(20*time.Second, func() bool {
		l := pf.Log()
		return strings.Contains(l, "status=sent") && strings.Contains(l, "status=bounced")
	}) {
		t.Fatalf("postfix log lacks the deliveries:\n%s", pf.Log())
	}
	r, _ := start(t, 4096)
	defer r.stop(t)
	r.in.Start(1)
	n := importLog(t, r, filepath.Join(pf.Dir, "maillog"), "city-a", "postfix")
	r.stop(t)
	if st := r.in.Stats()["city-a"]; st.Parsed != int64(n) || st.Failed != 0 {
		t.Fatalf("%d mail log lines, counters %+v", n, st)
	}
	if got := search(t, r.store, "city-a", "source=postfix", "mail_status=sent", "mail_to=kakari@city.lg.jp"); len(got) != 1 {
		t.Errorf("delivery: %d events", len(got))
	}
	if got := search(t, r.store, "city-a", "mail_status=bounced", "mail_to=victim@elsewhere.example"); len(got) != 1 {
		t.Errorf("bounce: %d events", len(got))
	}
	if got := search(t, r.store, "city-a", "mail_from=a@good.example"); len(got) == 0 {
		t.Errorf("sender not searchable")
	}
}
