package cli

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kyojin/kyojin/notify"
)

func TestNotifyValidate(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
		err  string
	}{
		{[]string{"notify", "validate", "--config", "../notify/testdata/example.yaml"}, 0, "OK（経路 5、Webhook 1、エスカレーション 1）", ""},
		{[]string{"notify", "validate", "../notify/testdata/example.yaml"}, 0, "OK", ""},
		{[]string{"--lang=en", "notify", "validate", "--config", "../notify/testdata/semantic.bad.yaml"}, 2, "", "semantic.bad.yaml:26:5: error: routes[1].webhooks: no webhook named nochat"},
		{[]string{"notify", "outbox"}, 2, "", "--config F を指定してください"},
		{[]string{"notify", "test", "--config", "../notify/testdata/example.yaml"}, 2, "", "--route R を指定してください"},
		{[]string{"notify", "frobnicate", "--config", "../notify/testdata/example.yaml"}, 2, "", "不明なサブコマンド"},
		{[]string{"notify"}, 2, "", "サブコマンド"},
	} {
		code, out, errOut := run(t, tc.args...)
		if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errOut, tc.err) {
			t.Errorf("%v: exit %d\nstdout %s\nstderr %s", tc.args, code, out, errOut)
		}
	}
}

// TestNotifyTestAndOutbox: `notify test` reaches a real HTTPS receiver and
// reports each destination; `notify outbox` lists what waits.
func TestNotifyTestAndOutbox(t *testing.T) {
	var fail atomic.Bool
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get(notify.HeaderSignature) == "" || fail.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
	secret := filepath.Join(dir, "secret")
	os.WriteFile(secret, []byte("0123456789abcdef-cli-test\n"), 0o600)
	cfgFile := filepath.Join(dir, "notify.yaml")
	os.WriteFile(cfgFile, []byte(fmt.Sprintf(`outbox: {dir: %s}
webhooks:
  - {name: soc, url: "%s/hook", ca_file: %s, secret: {file: %s}}
routes:
  - {name: soc, webhooks: [soc]}
`, filepath.Join(dir, "outbox"), srv.URL, ca, secret)), 0o644)

	code, out, errOut := run(t, "notify", "test", "--config", cfgFile, "--route", "soc")
	if code != 0 || !strings.Contains(out, "webhook\tsoc\t送信しました") || hits.Load() != 1 {
		t.Fatalf("test: %d %q %q", code, out, errOut)
	}
	fail.Store(true)
	code, out, _ = run(t, "notify", "test", "--config", cfgFile, "--route", "soc")
	if code != 1 || !strings.Contains(out, "NG: HTTP 503") {
		t.Errorf("failing test: %d %q", code, out)
	}
	if code, _, errOut := run(t, "notify", "test", "--config", cfgFile, "--route", "nope"); code != 2 || !strings.Contains(errOut, `no route "nope"`) {
		t.Errorf("unknown route: %d %q", code, errOut)
	}

	// Something waits in the outbox (enqueued, not yet delivered).
	cfg, _ := notify.LoadConfig(cfgFile)
	d, err := notify.New(cfg, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Enqueue(context.Background(), notify.Message{Kind: notify.KindAlert, Tenant: "kakuu-city", Severity: notify.SevHigh, Title: "x"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "notify", "outbox", "--config", cfgFile)
	if code != 0 || !strings.Contains(out, "送信待ち 1 件、配送不能 0 件") || !strings.Contains(out, "webhook:soc") {
		t.Errorf("outbox: %d %q", code, out)
	}
	code, out, _ = run(t, "notify", "outbox", "--config", cfgFile, "--json")
	var j struct{ Pending []struct{ ID, Route string } }
	if code != 0 || json.Unmarshal([]byte(out), &j) != nil || len(j.Pending) != 1 || j.Pending[0].Route != "soc" {
		t.Errorf("outbox json: %d %q", code, out)
	}
	if code, _, errOut := run(t, "notify", "requeue", "--config", cfgFile, "../../etc/passwd"); code != 1 || !strings.Contains(errOut, "戻せません") {
		t.Errorf("requeue bad id: %d %q", code, errOut)
	}
}
