package cli

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestServeTransferListeners: `kyojin serve` opens one listener per zone;
// each serves the console with its own side, and a forged upload is refused
// on both.
func TestServeTransferListeners(t *testing.T) {
	dir := t.TempDir()
	inet, lgwan := freeAddr(t), freeAddr(t)
	cfg := filepath.Join(dir, "kyojin.yaml")
	os.WriteFile(cfg, []byte("listen: 127.0.0.1:0\ntransfer:\n  internet_listen: "+inet+"\n  lgwan_listen: "+lgwan+"\n  approve_all: true\n"), 0o600)
	out, _ := startServe(t, regexp.MustCompile(`ファイル転送（LGWAN 側）: http://\S+/transfer\n`), "--dev", "--config", cfg, "--data", dir)
	for _, addr := range []string{inet, lgwan} {
		if !strings.Contains(out.String(), addr+"/transfer") {
			t.Fatalf("listener %s not announced: %s", addr, out.String())
		}
		res, err := http.Get("http://" + addr + "/login")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("login page on %s: %d", addr, res.StatusCode)
		}
		res, err = http.Post("http://"+addr+"/transfer/upload", "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusForbidden {
			t.Errorf("forged upload on %s: %d", addr, res.StatusCode)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "quarantine.key")); err != nil {
		t.Errorf("default quarantine key not created: %v", err)
	}
}

func TestServeTransferConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "kyojin.yaml")
	os.WriteFile(cfg, []byte("transfer:\n  internet_listen: 127.0.0.1:9001\n"), 0o600)
	if code, _, errs := run(t, "serve", "--config", cfg); code != 2 || !strings.Contains(errs, "lgwan_listen") {
		t.Errorf("one listener: %d %s", code, errs)
	}
	os.WriteFile(cfg, []byte("transfer:\n  internet_listen: 127.0.0.1:9001\n  lgwan_listen: 127.0.0.1:9001\n"), 0o600)
	if code, _, errs := run(t, "serve", "--config", cfg); code != 2 || !strings.Contains(errs, "別にしてください") {
		t.Errorf("same listener twice: %d %s", code, errs)
	}
}
