package testdaemon

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestFreePorts(t *testing.T) {
	for _, p := range []int{FreeTCPPort(t), FreeUDPPort(t)} {
		if p <= 0 || p > 65535 {
			t.Errorf("port %d", p)
		}
	}
}

// A private nginx serves its root, and Stop ends it with its workers.
func TestStartNginx(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("hello nginx"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := FreeTCPPort(t)
	n := StartNginx(t, port, "access_log {prefix}/access.log;\n  server { listen 127.0.0.1:"+strconv.Itoa(port)+"; root "+root+"; }", "/index.html")
	resp, err := http.Get(n.Base + "/index.html")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello nginx" {
		t.Fatalf("body %q", b)
	}
	if _, err := os.Stat(filepath.Join(n.Prefix, "access.log")); err != nil {
		t.Errorf("{prefix} was not the prefix: %v", err)
	}
	Stop(n.Cmd)
	Stop(n.Cmd) // twice is fine
	if _, err := http.Get(n.Base + "/"); err == nil {
		t.Error("nginx still answers after Stop")
	} else if !strings.Contains(err.Error(), "refused") {
		t.Logf("after Stop: %v", err)
	}
}
