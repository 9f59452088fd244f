package web

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/store"
)

// withStoreIncidents turns on incident handling over the console's own
// alert store, as `kyojin serve` wires it.
func withStoreIncidents(t testing.TB, svc **incident.Service) func(*Options) {
	return func(o *Options) {
		sealer, err := auth.NewSealer(bytes.Repeat([]byte{5}, 32))
		if err != nil {
			t.Fatal(err)
		}
		*svc, err = incident.New(incident.Options{Store: o.Store, Audit: o.Audit, Sealer: sealer, Log: o.Log,
			Alerts: incident.StoreAlerts{Store: o.Store, Now: o.Now}, Catalog: o.Catalog, Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		o.Incidents, o.HomeTenant = *svc, "kakuu"
	}
}

// TestIncidentFromStoredAlert: an alert in the store is opened, the
// "create incident" link leads to the prefilled form, the incident lists
// the alert, and the alert's history names the incident. Another body's
// alert cannot be used.
func TestIncidentFromStoredAlert(t *testing.T) {
	var svc *incident.Service
	e := newEnv(t, withStoreIncidents(t, &svc))
	ids := cloudData(t, e)
	e.user("csirt-a", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	e.user("viewer", true, store.Grant{Role: "auditor"})
	b := e.browser()
	b.login("csirt-a")
	path := fmt.Sprintf("/alerts/%d", ids["kakuu"])
	want := fmt.Sprintf("/incidents/new?alerts=%d&amp;tenant=kakuu", ids["kakuu"])
	if code, body := b.get(path); code != 200 || !strings.Contains(body, want) {
		t.Fatalf("alert page lacks %q: %d", want, code)
	}
	if code, body := b.get(html.UnescapeString(want)); code != 200 || !strings.Contains(body, fmt.Sprint(ids["kakuu"])) {
		t.Fatalf("prefilled form: %d", code)
	}
	// Another tenant's alert is "not found" for this tenant.
	if code, body := b.post("/incidents/new", url.Values{"tenant": {"kakuu"}, "alerts": {fmt.Sprint(ids["town-b"])}}); code != 400 || !strings.Contains(body, "見つかりません") {
		t.Errorf("foreign alert: %d", code)
	}
	code, body := b.post("/incidents/new", url.Values{"tenant": {"kakuu"}, "alerts": {fmt.Sprint(ids["kakuu"])}, "type": {"malware"}})
	if code != 200 || !strings.HasPrefix(b.last, "/incidents/t/kakuu/") || !strings.Contains(body, "title-of-kakuu") {
		t.Fatalf("create from alert: %d %s", code, b.last)
	}
	list, err := svc.List(context.Background(), store.IncidentFilter{Tenants: []string{"kakuu"}})
	if err != nil || len(list) != 1 || len(list[0].Details.Alerts) != 1 || list[0].Details.Alerts[0] != fmt.Sprint(ids["kakuu"]) {
		t.Fatalf("incidents: %+v %v", list, err)
	}
	ref := list[0].Ref
	a, err := e.store.Alert(context.Background(), store.AllTenants, ids["kakuu"])
	if err != nil || a.Status != store.AlertAcknowledged || len(a.Notes) != 1 || a.Notes[0].Text != incident.LinkNote(ref) || a.Notes[0].Author != "csirt-a" {
		t.Fatalf("alert after linking: %+v %v", a, err)
	}
	if _, body := b.get(path); !strings.Contains(body, incident.LinkNote(ref)) {
		t.Error("alert page lacks the incident note")
	}
	other, _ := e.store.Alert(context.Background(), store.AllTenants, ids["town-b"])
	if other.Status != store.AlertNew || len(other.Notes) != 0 {
		t.Errorf("other tenant's alert touched: %+v", other)
	}
	// Monthly statistics count the stored alerts per tenant.
	src := incident.StoreAlerts{Store: e.store}
	now := e.now()
	if n, err := src.CountAlerts(context.Background(), "kakuu", now.Add(-24*time.Hour), now.Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("CountAlerts = %d, %v", n, err)
	}
	if n, _ := src.CountAlerts(context.Background(), "kakuu", now.Add(time.Hour), now.Add(2*time.Hour)); n != 0 {
		t.Errorf("CountAlerts outside the range = %d", n)
	}
	// Without incidents.handle there is no link.
	v := e.browser()
	v.login("viewer")
	if _, body := v.get(path); strings.Contains(body, "alert-new-incident") {
		t.Error("auditor sees the create-incident link")
	}
}

// TestTamperAlertInConsole: an alert raised outside the cloud's detection
// (kyojin tamper with db:, through store.RaiseAlert) is listed on /alerts,
// its change shown as escaped text, and opens a defacement incident.
func TestTamperAlertInConsole(t *testing.T) {
	var svc *incident.Service
	e := newEnv(t, withStoreIncidents(t, &svc))
	raw := `{"kind":"modified","path":"/srv/www/index.html","details":"<script>alert(1)</script>"}`
	stats, err := store.RaiseAlert(context.Background(), e.store, store.Alert{Tenant: "kakuu", Rule: "kyojin-tamper-modified", Title: "kakuu/www: ファイルが改ざんされました /srv/www/index.html",
		Level: "high", Source: "tamper", Credit: "kyojin tamper", DedupKey: "www|/srv/www/index.html",
		Events: []store.AlertEvent{{Time: e.now(), Source: "tamper/scan", Host: "www", Raw: raw}}}, time.Minute, e.now())
	if err != nil || len(stats.CreatedIDs) != 1 {
		t.Fatalf("raise: %+v %v", stats, err)
	}
	id := stats.CreatedIDs[0]
	e.user("csirt-a", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	b := e.browser()
	b.login("csirt-a")
	if _, body := b.get("/alerts?q=kyojin-tamper"); !strings.Contains(body, "ファイルが改ざんされました") {
		t.Fatal("tamper alert not listed")
	}
	_, body := b.get(fmt.Sprintf("/alerts/%d", id))
	if strings.Contains(body, "<script>alert(1)") || !strings.Contains(body, "&lt;script&gt;") || !strings.Contains(body, "alert-new-incident") {
		t.Fatal("tamper alert detail page")
	}
	code, body := b.post("/incidents/new", url.Values{"tenant": {"kakuu"}, "alerts": {fmt.Sprint(id)}, "type": {string(incident.TypeDefacement)}})
	if code != 200 || !strings.Contains(body, "ファイルが改ざんされました") || !strings.Contains(body, "web-defacement") && !strings.Contains(body, "Web サイトの改ざん") {
		t.Fatalf("incident from tamper alert: %d %s", code, b.last)
	}
}
