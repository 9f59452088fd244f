package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func tamperSite(t *testing.T) (dir, cfg string) {
	t.Helper()
	dir = t.TempDir()
	os.MkdirAll(filepath.Join(dir, "www", "about"), 0o755)
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("<h1>〇〇市</h1>"), 0o644)
	os.WriteFile(filepath.Join(dir, "www", "about", "index.html"), []byte("about"), 0o644)
	cfg = filepath.Join(dir, "tamper.yaml")
	os.WriteFile(cfg, []byte(`tenants:
  - id: city-a
    sites:
      - id: www
        roots: [www]
        baseline: baseline
        key: tamper.key
        restore: true
        debounce: 20ms
`), 0o644)
	return dir, cfg
}

func TestTamperCLI(t *testing.T) {
	dir, cfg := tamperSite(t)
	key := filepath.Join(dir, "tamper.key")
	if code, _, errs := run(t, "tamper", "keygen", "--out", key); code != 0 || !strings.Contains(errs, "署名鍵を作成しました") {
		t.Fatalf("keygen: %d %s", code, errs)
	}
	if code, _, _ := run(t, "tamper", "keygen", "--out", key); code != 1 {
		t.Errorf("keygen over an existing key: exit %d", code)
	}
	if code, _, errs := run(t, "tamper", "verify", "--config", cfg); code != 1 || !strings.Contains(errs, "検証できません") {
		t.Errorf("verify without a baseline: %d %s", code, errs)
	}
	if code, _, errs := run(t, "tamper", "baseline", "--config", cfg); code != 0 || !strings.Contains(errs, "city-a/www: ベースラインを作成しました（3 件") {
		t.Fatalf("baseline: %d %s", code, errs)
	}
	if code, _, errs := run(t, "tamper", "verify", "--config", cfg); code != 0 || !strings.Contains(errs, "署名は正しいです") {
		t.Fatalf("verify: %d %s", code, errs)
	}
	// A restore copy altered in the object store: verify says so.
	objs, _ := filepath.Glob(filepath.Join(dir, "baseline", "objects", "*", "*"))
	if len(objs) != 2 {
		t.Fatalf("objects %v", objs)
	}
	orig, _ := os.ReadFile(objs[0])
	os.WriteFile(objs[0], []byte("poisoned"), 0o600)
	if code, _, errs := run(t, "tamper", "verify", "--config", cfg); code != 1 || !strings.Contains(errs, "復旧用の写しが 1 件") {
		t.Errorf("verify with an altered copy: %d %s", code, errs)
	}
	os.WriteFile(objs[0], orig, 0o600)
	if code, out, errs := run(t, "tamper", "scan", "--config", cfg); code != 0 || out != "" || !strings.Contains(errs, "変更はありません") {
		t.Fatalf("clean scan: %d %q %s", code, out, errs)
	}
	os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte("<h1>hacked</h1>"), 0o644)
	code, out, errs := run(t, "--lang=en", "tamper", "scan", "--config", cfg, "--site", "city-a/www")
	if code != 1 || !strings.Contains(errs, "1 change(s), 0 site(s) failed") {
		t.Fatalf("scan: %d %s", code, errs)
	}
	var c struct{ Tenant, Site, Kind, Severity, Path, Details, Restored string }
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatalf("alert line %q: %v", out, err)
	}
	if c.Tenant != "city-a" || c.Site != "www" || c.Kind != "modified" || c.Severity != "high" || !strings.HasSuffix(c.Path, "www/index.html") || c.Restored != "restored" || c.Details == "" {
		t.Errorf("alert %+v", c)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "www", "index.html")); string(b) != "<h1>〇〇市</h1>" {
		t.Errorf("not restored: %q", b)
	}
	// The baseline itself altered: exit 1 and a critical alert.
	os.WriteFile(filepath.Join(dir, "baseline", "manifest.sig"), []byte("AAAA"), 0o600)
	alerts := filepath.Join(dir, "alerts.jsonl")
	if code, _, _ := run(t, "tamper", "scan", "--config", cfg, "--alerts", alerts); code != 1 {
		t.Errorf("scan with a forged signature: exit %d", code)
	}
	if b, _ := os.ReadFile(alerts); !strings.Contains(string(b), `"kind":"baseline-signature","severity":"critical"`) {
		t.Errorf("alerts file: %s", b)
	}
	if code, _, _ := run(t, "tamper", "scan", "--config", cfg, "--site", "nosuch"); code != 2 {
		t.Errorf("unknown site: exit %d", code)
	}
	if code, _, _ := run(t, "tamper", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("tenants:\n  - id: X\n    sites: []\n"), 0o644)
	if code, _, errs := run(t, "tamper", "scan", "--config", bad); code != 2 || !strings.Contains(errs, "bad.yaml:2:5: エラー: tenants[0].id: テナント ID は") {
		t.Errorf("bad config: %d %s", code, errs)
	}
}

func TestTamperWatchCLI(t *testing.T) {
	dir, cfg := tamperSite(t)
	if code, _, errs := run(t, "tamper", "keygen", "--out", filepath.Join(dir, "tamper.key")); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := run(t, "tamper", "baseline", "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	alerts := filepath.Join(dir, "alerts.jsonl")
	ctx, cancel := context.WithCancel(context.Background())
	old := serveContext
	serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	defer func() { serveContext = old }()
	done := make(chan int)
	go func() {
		code, _, _ := run(t, "tamper", "watch", "--config", cfg, "--alerts", alerts)
		done <- code
	}()
	time.Sleep(300 * time.Millisecond) // watch starts: full scan, then notifications
	os.WriteFile(filepath.Join(dir, "www", "about", "index.html"), []byte("defaced"), 0o644)
	var got string
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if b, _ := os.ReadFile(alerts); strings.Contains(string(b), `"kind":"modified"`) {
			got = string(b)
			break
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("watch exit %d", code)
	}
	if !strings.Contains(got, `about/index.html`) || !strings.Contains(got, `"detector":"`) {
		t.Fatalf("watch alerts: %q", got)
	}
}
