// Package natstest starts a real, throw-away nats-server with JetStream for
// tests: the Debian package nats-server, store directory in a temporary
// directory, bound to 127.0.0.1. Tests skip with a message when the binary
// is absent (scripts/test installs it).
package natstest

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Server is a running nats-server.
type Server struct {
	URL string

	bin, addr string
	args      []string
	cmd       *exec.Cmd
	out       *bytes.Buffer
}

func binary() string {
	for _, p := range []string{"nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	return ""
}

// Start runs nats-server -js until the test ends.
func Start(t testing.TB) *Server { t.Helper(); return start(t, nil) }

// TLS names the files of a server requiring verified client certificates.
type TLS struct{ Cert, Key, CA string }

// StartTLS runs nats-server -js with TLS and client certificates verified
// against CA; URL is tls://.
func StartTLS(t testing.TB, c TLS) *Server { t.Helper(); return start(t, &c) }

func start(t testing.TB, tc *TLS) *Server {
	t.Helper()
	bin := binary()
	if bin == "" {
		t.Skip("nats-server not found (install the Debian package nats-server)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir := t.TempDir()
	s := &Server{URL: fmt.Sprintf("nats://127.0.0.1:%d", port), out: &bytes.Buffer{}}
	args := []string{"-js", "-sd", filepath.Join(dir, "js"), "-a", "127.0.0.1", "-p", fmt.Sprint(port), "-n", "kyojin-test"}
	if tc != nil {
		conf := filepath.Join(dir, "tls.conf")
		body := fmt.Sprintf("tls {\n  cert_file: %q\n  key_file: %q\n  ca_file: %q\n  verify: true\n}\n", tc.Cert, tc.Key, tc.CA)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "-c", conf)
		s.URL = fmt.Sprintf("tls://127.0.0.1:%d", port)
	}
	s.bin, s.args, s.addr = bin, args, fmt.Sprintf("127.0.0.1:%d", port)
	s.run(t)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) run(t testing.TB) {
	t.Helper()
	s.cmd = exec.Command(s.bin, s.args...)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server did not start: %v\n%s", err, s.out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Restart starts the stopped server again on the same port and store.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop()
	s.run(t)
}

// Stop ends the server (idempotent).
func (s *Server) Stop() {
	if s.cmd.Process != nil && s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		s.cmd.Wait()
	}
}
