package cloud

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func freeUDPPort(t *testing.T) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func lookBin(t *testing.T, name string) string {
	t.Helper()
	for _, d := range []string{"", "/usr/sbin/", "/sbin/"} {
		if p, err := exec.LookPath(d + name); err == nil {
			return p
		}
	}
	t.Skipf("%s not installed (Debian package in scripts/test); skipping", name)
	return ""
}

// daemonOutput sends the daemon's output to a file (no pipe a forked
// worker could hold open) and puts it in its own process group.
func daemonOutput(t *testing.T, cmd *exec.Cmd) func() string {
	f, err := os.CreateTemp(t.TempDir(), "daemon-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	return func() string { b, _ := os.ReadFile(f.Name()); return string(b) }
}

// stopDaemon kills the daemon's process group (nginx forks workers).
func stopDaemon(cmd *exec.Cmd) {
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// waitFor polls cond for up to d.
func waitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

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
	nginx := lookBin(t, "nginx")
	r, dir := start(t, 1024)
	r.in.Start(1)
	defer r.stop(t)
	udp := r.srv.Addr("udp").(*net.UDPAddr).Port
	port := freeTCPPort(t)
	prefix := filepath.Join(dir, "nginx")
	os.MkdirAll(filepath.Join(prefix, "logs"), 0o755)
	os.MkdirAll(filepath.Join(prefix, "html"), 0o755)
	os.WriteFile(filepath.Join(prefix, "html", "index.html"), []byte("ok"), 0o644)
	conf := fmt.Sprintf(`daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/logs/error.log;
events {}
http {
  client_body_temp_path %[1]s/tmp1; proxy_temp_path %[1]s/tmp2; fastcgi_temp_path %[1]s/tmp3;
  uwsgi_temp_path %[1]s/tmp4; scgi_temp_path %[1]s/tmp5;
  access_log syslog:server=127.0.0.1:%[2]d,tag=nginx combined;
  server { listen 127.0.0.1:%[3]d; root %[1]s/html; }
}
`, prefix, udp, port)
	confPath := filepath.Join(prefix, "nginx.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	cmd := exec.Command(nginx, "-p", prefix, "-c", confPath)
	logb := daemonOutput(t, cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer stopDaemon(cmd)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	if !waitFor(10*time.Second, func() bool {
		resp, err := http.Get(base + "/index.html")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatalf("nginx did not start: %s", logb())
	}
	req, _ := http.NewRequest("GET", base+"/search.php?q=1%27%20or%201=1--", nil)
	req.Header.Set("User-Agent", "sqlmap/1.7")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if !waitFor(5*time.Second, func() bool { return r.in.Counter("pref").Parsed.Load() >= 2 }) {
		t.Fatalf("nginx lines not received: %+v", r.in.Stats())
	}
	stopDaemon(cmd)
	r.stop(t)
	got := search(t, r.store, "pref", "source=web", "c-useragent=sqlmap/1.7", "cs-method=GET", "c-uri-extension=php", "src_ip=127.0.0.1")
	if len(got) != 1 {
		t.Fatalf("nginx sqlmap request: %d events", len(got))
	}
	if got[0].Fields["cs-uri-query"] != "q=1%27%20or%201=1--" {
		t.Errorf("query %q", got[0].Fields["cs-uri-query"])
	}
}
