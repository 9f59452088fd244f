// Package testdaemon runs real daemons (nginx, squid, unbound…) for tests:
// free loopback ports, finding the binary or skipping with a message, a
// process group that is killed with its forked workers, and a private
// nginx. The cloud and tamper tests share it so that every daemon a test
// starts is stopped the same way (the house rule: no daemon left running).
package testdaemon

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// FreeTCPPort returns a loopback TCP port that was free a moment ago.
func FreeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// FreeUDPPort returns a loopback UDP port that was free a moment ago.
func FreeUDPPort(t testing.TB) int {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port
}

// LookBin finds a program on PATH or in the sbin folders, or skips t: CI
// installs it (scripts/test), a developer machine may not have it.
func LookBin(t testing.TB, name string) string {
	t.Helper()
	for _, d := range []string{"", "/usr/sbin/", "/sbin/"} {
		if p, err := exec.LookPath(d + name); err == nil {
			return p
		}
	}
	t.Skipf("%s not installed (Debian package in scripts/test); skipping", name)
	return ""
}

// Output sends cmd's output to a file (no pipe a forked worker could hold
// open) and puts cmd in its own process group, for Stop. The returned
// function reads what the daemon wrote so far.
func Output(t testing.TB, cmd *exec.Cmd) func() string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "daemon-*.log")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = 2 * time.Second
	return func() string { b, _ := os.ReadFile(f.Name()); return string(b) }
}

// Stop kills cmd's process group (daemons such as nginx fork workers) and
// reaps it. It may be called more than once.
func Stop(cmd *exec.Cmd) {
	if cmd.Process != nil && cmd.ProcessState == nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	}
}

// WaitFor polls cond every 50 ms for up to d.
func WaitFor(d time.Duration, cond func() bool) bool {
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// Nginx is a private nginx: its own prefix, pid file and temporary
// folders, no daemonizing, stopped when the test ends.
type Nginx struct {
	Cmd    *exec.Cmd
	Prefix string // folder of nginx.conf and the logs
	Base   string // http://127.0.0.1:PORT
	Log    func() string
}

// StartNginx starts nginx with http, the inside of the http block (server
// blocks, log settings), on port, and waits until GET Base+probe answers.
// In httpConf, {prefix} stands for the prefix folder.
func StartNginx(t testing.TB, port int, httpConf, probe string) *Nginx {
	t.Helper()
	bin := LookBin(t, "nginx")
	prefix := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers would run as nobody and not enter the 0700 temp dirs
	}
	conf := fmt.Sprintf(`daemon off;
%[2]s
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {}
http {
  client_body_temp_path %[1]s/t1; proxy_temp_path %[1]s/t2; fastcgi_temp_path %[1]s/t3;
  uwsgi_temp_path %[1]s/t4; scgi_temp_path %[1]s/t5;
`, prefix, user) + strings.ReplaceAll(httpConf, "{prefix}", prefix) + "\n}\n"
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n := &Nginx{Cmd: exec.Command(bin, "-p", prefix, "-c", confPath), Prefix: prefix, Base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	n.Log = Output(t, n.Cmd)
	if err := n.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Stop(n.Cmd) })
	if !WaitFor(10*time.Second, func() bool {
		resp, err := http.Get(n.Base + probe)
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	}) {
		t.Fatalf("nginx did not start: %s", n.Log())
	}
	return n
}
