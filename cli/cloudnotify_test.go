package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/notify/notifytest"
)

// TestCloudServeNotifies: `kyojin cloud serve` with db and notify sends a
// signed webhook for an alert its Sigma rule raised — once, although four
// lines matched (dedup) — linking to the console, and says so at start.
func TestCloudServeNotifies(t *testing.T) {
	dir := t.TempDir()
	rcv := notifytest.New(t, nil)
	writeExeRule(t, filepath.Join(dir, "rules"))
	os.WriteFile(filepath.Join(dir, "notify.yaml"), []byte("console_url: https://soc.example.lg.jp\noutbox: {dir: "+filepath.Join(dir, "outbox")+"}\nwebhooks:\n"+
		rcv.Webhook("soc")+"routes:\n  - {name: soc, min_severity: medium, webhooks: [soc]}\n"), 0o600)
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cfg, []byte("store: store\ntimezone: UTC\nrules: rules\ndb: console-data\nnotify: notify.yaml\nlisteners:\n  - {name: tcp, type: tcp, format: squid, address: \""+addr+"\"}\n"+
		"tenants:\n  - {id: city-a, name: A市, sources: [{listener: tcp}]}\n"), 0o600)
	c, stop := startCloudServe(t, cfg, addr)
	for range 4 {
		fmt.Fprintf(c, "%d.000 5 10.20.0.7 TCP_MISS/200 5000 GET http://dl.example/setup.exe - HIER_DIRECT/203.0.113.9 application/octet-stream\n", time.Now().Unix())
	}
	c.Close()
	if _, ok := rcv.Wait(20*time.Second, func(ps []notify.WebhookPayload) bool { return len(ps) > 0 }); !ok {
		t.Error("no webhook within 20 s")
	}
	time.Sleep(500 * time.Millisecond) // a merged hit must not notify again
	code, errs := stop()
	if code != 0 || !strings.Contains(errs, "notify.yaml") {
		t.Fatalf("serve exit %d: %s", code, errs)
	}
	got := rcv.Got()
	if rcv.BadSignatures() != 0 || len(got) != 1 || got[0].Kind != notify.KindAlert || got[0].Tenant != "city-a" || got[0].Title != "Executable download" || got[0].Severity != notify.SevHigh ||
		!strings.HasPrefix(got[0].Link, "https://soc.example.lg.jp/alerts/") || !strings.Contains(fmt.Sprint(got[0].Data["rule_author"]), "kyojin tests") {
		t.Fatalf("webhooks: %+v", got)
	}
}
