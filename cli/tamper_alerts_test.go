package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/notify/notifytest"
	"github.com/kyojin/kyojin/store"
)

// TestTamperRaisesConsoleAlerts: with db and notify in the tamper
// configuration, a modified file is raised as a console alert (besides the
// JSON line) and as a signed "tamper" webhook; the same change again within
// the window is the same alert and no new notification; an incident is
// then opened from the alert.
func TestTamperRaisesConsoleAlerts(t *testing.T) {
	dir, cfg := tamperSite(t)
	r := notifytest.New(t, nil)
	ncfg := filepath.Join(dir, "notify.yaml")
	os.WriteFile(ncfg, []byte("console_url: https://soc.example.lg.jp/\noutbox:\n  dir: "+filepath.Join(dir, "outbox")+"\nwebhooks:\n"+r.Webhook("soc")+
		"routes:\n  - name: web\n    kinds: [tamper]\n    webhooks: [soc]\n"), 0o600)
	y, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append([]byte("db: console\nnotify: notify.yaml\n"), y...), 0o644)
	if code, _, errs := run(t, "tamper", "keygen", "--out", filepath.Join(dir, "tamper.key")); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := run(t, "tamper", "baseline", "--config", cfg); code != 0 {
		t.Fatal(errs)
	}
	page := filepath.Join(dir, "www", "index.html")
	for i := range 2 {
		os.WriteFile(page, []byte("<h1>hacked</h1>"), 0o644)
		code, out, errs := run(t, "tamper", "scan", "--config", cfg)
		if code != 1 || !strings.Contains(out, `"kind":"modified"`) || !strings.Contains(errs, "アラートの記録先: "+filepath.Join(dir, "console", "kyojin.db")) {
			t.Fatalf("scan %d: %d %s %s", i, code, out, errs)
		}
	}
	st, err := openTamperStore(context.Background(), filepath.Join(dir, "console"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	list, n, err := st.ListAlerts(context.Background(), store.AlertFilter{Tenants: store.OneTenant("city-a")})
	if err != nil || n != 1 {
		t.Fatalf("alerts: %d %v", n, err)
	}
	a, err := st.Alert(context.Background(), store.OneTenant("city-a"), list[0].ID)
	if err != nil || a.Rule != "kyojin-tamper-modified" || a.Source != "tamper" || a.Level != "high" || a.Count != 2 ||
		!strings.Contains(a.Title, "ファイルが改ざんされました") || len(a.Events) != 2 || !strings.Contains(a.Events[0].Raw, `"restored":"restored"`) {
		t.Fatalf("alert: %+v %v", a, err)
	}
	got := r.Got()
	if len(got) != 1 || got[0].Kind != notify.KindTamper || got[0].Tenant != "city-a" || got[0].Link != "https://soc.example.lg.jp/alerts/"+strconv.FormatInt(a.ID, 10) ||
		got[0].Data["restored"] != "はい / yes" || r.BadSignatures() != 0 {
		t.Errorf("webhooks: %+v", got)
	}
	// The CSIRT opens an incident from the alert.
	sealer, _ := auth.NewSealer(bytes.Repeat([]byte{9}, 32))
	svc, err := incident.New(incident.Options{Store: st, Audit: audit.New(st), Sealer: sealer, Alerts: incident.StoreAlerts{Store: st}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	inc, err := svc.CreateFromAlerts(context.Background(), "csirt", "city-a", []string{strconv.FormatInt(a.ID, 10)}, "", incident.TypeDefacement)
	if err != nil || inc.Title != a.Title || inc.Source != incident.SourceAlerts {
		t.Fatalf("incident: %+v %v", inc, err)
	}
	if a, _ = st.Alert(context.Background(), store.OneTenant("city-a"), a.ID); a.Status != store.AlertAcknowledged || len(a.Notes) != 1 || a.Notes[0].Text != incident.LinkNote(inc.Ref) {
		t.Errorf("alert after the incident: %+v", a)
	}
}
