package cli

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/notify/notifytest"
)

// TestServeIncidentNotify: `kyojin serve` with `notify:` in its
// configuration runs the dispatcher (and with `intel:` opens the
// threat-intelligence list); a report from outside opens an
// incident in the home tenant, which reaches a real HTTPS receiver as a
// signed incident-opened webhook and climbs the tenant's ladder (nobody
// has received it).
func TestServeIncidentNotify(t *testing.T) {
	dir := t.TempDir()
	r := notifytest.New(t, nil)
	ncfg := filepath.Join(dir, "notify.yaml")
	ny := "console_url: https://soc.example.lg.jp/\noutbox:\n  dir: " + filepath.Join(dir, "outbox") + "\nwebhooks:\n" + r.Webhook("soc") + `routes:
  - name: csirt
    kinds: [incident-opened]
    webhooks: [soc]
  - name: lead
    explicit: true
    webhooks: [soc]
ladders:
  - name: kakuu-incident
    steps:
      - {after: 0s, level: CSIRT責任者, route: lead}
`
	cfg := filepath.Join(dir, "kyojin.yaml")
	intelDir := filepath.Join(dir, "cloud")
	os.MkdirAll(intelDir, 0o700)
	for name, body := range map[string]string{ncfg: ny, cfg: "home_tenant: kakuu\nnotify: " + ncfg + "\nintel: " + intelDir + "\n"} {
		if err := os.WriteFile(name, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, _ := startServe(t, regexp.MustCompile(`開発モード、平文 HTTP）: http://\S+/\n`), "--dev", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	if !strings.Contains(out.String(), "通知: "+ncfg+"（経路 2、Webhook 1、エスカレーション 1）") ||
		!strings.Contains(out.String(), "脅威情報リスト: "+filepath.Join(intelDir, "intel", "indicators.jsonl")) {
		t.Errorf("startup output: %s", out.String())
	}
	base := regexp.MustCompile(`(http://\S+)/\n`).FindStringSubmatch(out.String())[1]
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	res, err := c.Get(base + "/report-incident")
	if err != nil {
		t.Fatal(err)
	}
	page := readAll(t, res)
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF token: %s", page)
	}
	res, err = c.PostForm(base+"/report-incident", url.Values{"csrf": {csrf[1]}, "who": {"住民"}, "kind": {"website"},
		"title": {"市のサイトが別サイトに飛ぶ"}, "description": {"トップページから広告サイトへ転送されます"}})
	if err != nil {
		t.Fatal(err)
	}
	ack := readAll(t, res)
	ref := regexp.MustCompile(`INC-\d{8}-[0-9A-Z]+`).FindString(ack)
	if res.StatusCode != 200 || ref == "" {
		t.Fatalf("report: %d %s", res.StatusCode, ack)
	}
	got, ok := r.Wait(10*time.Second, func(ps []notify.WebhookPayload) bool { return len(ps) >= 2 })
	if !ok {
		t.Fatalf("webhooks: %v", notifytest.Kinds(got))
	}
	kinds := map[notify.Kind]notify.WebhookPayload{}
	for _, p := range got {
		kinds[p.Kind] = p
	}
	op, esc := kinds[notify.KindIncidentOpened], kinds[notify.KindEscalation]
	if op.Tenant != "kakuu" || op.Data["incident_id"] != ref || !strings.HasPrefix(op.Link, "https://soc.example.lg.jp/incidents/t/kakuu/") ||
		esc.Data["level"] != "CSIRT責任者" || r.BadSignatures() != 0 {
		t.Errorf("webhooks: %+v", got)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	var b strings.Builder
	if _, err := io.Copy(&b, res.Body); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestServeBadNotifyConfig: every problem of the notify file is reported
// and serve does not start.
func TestServeBadNotifyConfig(t *testing.T) {
	dir := t.TempDir()
	ncfg := filepath.Join(dir, "notify.yaml")
	os.WriteFile(ncfg, []byte("outbox:\n  dirr: x\nroutes:\n  - name: a\n    webhooks: [missing]\n"), 0o600)
	cfg := filepath.Join(dir, "kyojin.yaml")
	os.WriteFile(cfg, []byte("notify: "+ncfg+"\n"), 0o600)
	code, _, errs := run(t, "serve", "--dev", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	if code != 2 || !strings.Contains(errs, "notify.yaml:2:3") || !strings.Contains(errs, "\"dirr\"") || !strings.Contains(errs, "2 errors") {
		t.Errorf("bad notify config: %d %s", code, errs)
	}
}
