package cloud

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kyojin/kyojin/internal/testdaemon"
)

// The daemon helpers are shared with the tamper tests (internal/testdaemon);
// these names keep the cloud tests short.
func freeUDPPort(t *testing.T) int                           { return testdaemon.FreeUDPPort(t) }
func freeTCPPort(t *testing.T) int                           { return testdaemon.FreeTCPPort(t) }
func lookBin(t *testing.T, name string) string               { return testdaemon.LookBin(t, name) }
func daemonOutput(t *testing.T, cmd *exec.Cmd) func() string { return testdaemon.Output(t, cmd) }
func stopDaemon(cmd *exec.Cmd)                               { testdaemon.Stop(cmd) }
func waitFor(d time.Duration, cond func() bool) bool         { return testdaemon.WaitFor(d, cond) }

// TestRsyslogForwarding: a real rsyslogd receives syslog on UDP and
// forwards it to kyojin over plain TCP (newline framing) and over TLS with
// a client certificate (RFC 5425, octet counting); the TLS stream lands in
// the tenant named by the certificate CN.
func TestRsyslogForwarding(t *testing.T) {
	rsyslogd := lookBin(t, "rsyslogd")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"); err != nil {
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
			t.Skip("rsyslog-gnutls not installed; skipping")
		}
	}
	r, dir := start(t, 1024)
	r.in.Start(2)
	defer r.stop(t)
	in := freeUDPPort(t)
	tcpPort := r.srv.Addr("tcp").(*net.TCPAddr).Port
	tlsPort := r.srv.Addr("tls").(*net.TCPAddr).Port
	work := filepath.Join(dir, "rsyslog")
	os.MkdirAll(work, 0o700)
	conf := fmt.Sprintf(`
global(workDirectory=%q
  DefaultNetstreamDriverCAFile=%q
  DefaultNetstreamDriverCertFile=%q
  DefaultNetstreamDriverKeyFile=%q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" template="RSYSLOG_ForwardFormat")
  action(type="omfwd" target="127.0.0.1" port="%d" protocol="tcp" TCP_Framing="octet-counted"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="127.0.0.1" template="RSYSLOG_SyslogProtocol23Format")
}
`, work, filepath.Join(dir, "ca.crt"), filepath.Join(dir, "city-a-relay.crt"), filepath.Join(dir, "city-a-relay.key"), in, tcpPort, tlsPort)
	confPath := filepath.Join(work, "rsyslog.conf")
	os.WriteFile(confPath, []byte(conf), 0o600)
	if out, err := exec.Command(rsyslogd, "-N1", "-f", confPath).CombinedOutput(); err != nil {
		t.Fatalf("rsyslog config check: %v\n%s", err, out)
	}
	cmd := exec.Command(rsyslogd, "-n", "-f", confPath, "-i", filepath.Join(work, "pid"))
	logb := daemonOutput(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(cmd)
	u, _ := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", in))
	defer u.Close()
	msg := "<13>Nov 22 05:00:00 fw1 kernel: [1.0] LGWAN-DROP IN=eth1 OUT=eth0 SRC=10.20.3.4 DST=198.51.100.80 PROTO=TCP SPT=40000 DPT=443 SYN"
	ok := waitFor(15*time.Second, func() bool {
		u.Write([]byte(msg)) // UDP into rsyslog may be lost before it listens: resend
		time.Sleep(200 * time.Millisecond)
		return r.in.Counter("pref").Parsed.Load() > 0 && r.in.Counter("city-a").Parsed.Load() > 0
	})
	if !ok {
		t.Fatalf("rsyslog did not forward to both listeners; stats %+v\nrsyslog: %s", r.in.Stats(), logb())
	}
	stopDaemon(cmd)
	r.stop(t) // drains the queue into the store
	if got := search(t, r.store, "pref", "dst_port=443", "src_ip=10.20.3.4", "source=netfilter"); len(got) == 0 {
		t.Errorf("plain TCP from rsyslog not stored under pref (peer 127.0.0.1/8)")
	}
	got := search(t, r.store, "city-a", "dst_port=443", "action=drop")
	if len(got) == 0 {
		t.Fatalf("TLS from rsyslog not stored under city-a")
	}
	if got[0].Host != "fw1" {
		t.Errorf("RFC 5424 host = %q", got[0].Host)
	}
}

// TestNginxAccessLog: a real nginx writes its access log to kyojin's UDP
// listener (access_log syslog:server=...), combined format.
func TestNginxAccessLog(t *testing.T) {
	r, dir := start(t, 1024)
	r.in.Start(1)
	defer r.stop(t)
	udp := r.srv.Addr("udp").(*net.UDPAddr).Port
	port := freeTCPPort(t)
	html := filepath.Join(dir, "html")
	os.MkdirAll(html, 0o755)
	os.WriteFile(filepath.Join(html, "index.html"), []byte("ok"), 0o644)
	n := testdaemon.StartNginx(t, port, fmt.Sprintf(`  access_log syslog:server=127.0.0.1:%d,tag=nginx combined;
  server { listen 127.0.0.1:%d; root %s; }`, udp, port, html), "/index.html")
	base := n.Base
	req, _ := http.NewRequest("GET", base+"/search.php?q=1%27%20or%201=1--", nil)
	req.Header.Set("User-Agent", "sqlmap/1.7")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if !waitFor(5*time.Second, func() bool { return r.in.Counter("pref").Parsed.Load() >= 2 }) {
		t.Fatalf("nginx lines not received: %+v", r.in.Stats())
	}
	stopDaemon(n.Cmd)
	r.stop(t)
	got := search(t, r.store, "pref", "source=web", "c-useragent=sqlmap/1.7", "cs-method=GET", "c-uri-extension=php", "src_ip=127.0.0.1")
	if len(got) != 1 {
		t.Fatalf("nginx sqlmap request: %d events", len(got))
	}
	if got[0].Fields["cs-uri-query"] != "q=1%27%20or%201=1--" {
		t.Errorf("query %q", got[0].Fields["cs-uri-query"])
	}
}
