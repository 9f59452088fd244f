package web

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/storetest"
)

// cloudData seeds alerts of tenants kakuu and town-b and an event store
// with one event of each; returns the alert id per tenant.
func cloudData(t *testing.T, e *env) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	now := e.now()
	var hits []store.Alert
	for _, tn := range []string{"kakuu", "town-b"} {
		h := storetest.Hit(tn, "rule-"+tn, "10.0.0.1", now.Add(-time.Hour))
		h.Title = "title-of-" + tn
		h.Events[0].Raw = "raw-line-of-" + tn
		hits = append(hits, h)
	}
	if _, err := e.store.RecordAlerts(ctx, hits, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	list, _, err := e.store.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int64{}
	for _, a := range list {
		ids[a.Tenant] = a.ID
	}
	return ids
}

// withEvents gives the console an event store holding one event per tenant.
func withEvents(t *testing.T, at time.Time) func(*Options) {
	st, err := eventstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return withEventStore(t, st, at)
}

// eventAppender is an event store the tests can fill (segments or
// PostgreSQL).
type eventAppender interface {
	EventSearcher
	Append(evs ...*event.Event) error
	Flush() error
}

// withEventStore fills st with one event per tenant and gives it to the
// console.
func withEventStore(t *testing.T, st eventAppender, at time.Time) func(*Options) {
	t.Helper()
	for _, tn := range []string{"kakuu", "town-b"} {
		ev := &event.Event{Tenant: tn, Time: at.Add(-time.Hour), Source: "squid", Host: "proxy1", Raw: "event-of-" + tn}
		ev.Set(event.SrcIP, "10.0.0.1")
		if err := st.Append(ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Flush(); err != nil {
		t.Fatal(err)
	}
	return func(o *Options) { o.Events = st; o.HomeTenant = "kakuu" }
}

// tenantViewer is a CSIRT member of one body and the body it must not see.
type tenantViewer struct{ user, own, other string }

// tenantUsers creates CSIRT members of kakuu and town-b and a prefecture
// SOC operator ("soc"), and returns the two members.
func tenantUsers(e *env) []tenantViewer {
	e.user("csirt-a", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	e.user("csirt-b", true, store.Grant{Role: "csirt", Scope: "tenant:town-b"})
	e.user("soc", true, store.Grant{Role: "soc-operator"})
	return []tenantViewer{{"csirt-a", "kakuu", "town-b"}, {"csirt-b", "town-b", "kakuu"}}
}

// TestAlertTenantIsolation: a CSIRT member of one body never sees, opens,
// handles, exports or searches another body's alerts and events; the
// prefecture SOC sees both. Refusals look like "not found".
func TestAlertTenantIsolation(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := newEnv(t, withEvents(t, now))
	ids := cloudData(t, e)
	for _, c := range tenantUsers(e) {
		b := e.browser()
		b.login(c.user)
		for _, p := range []string{"/alerts", "/alerts?tenant=" + c.other, "/alerts?q=title-of-" + c.other, "/alerts?rule=rule-" + c.other} {
			code, body := b.get(p)
			// rows only: the form and the export link echo the query
			if code != 200 || strings.Contains(body, ">title-of-"+c.other+"<") || strings.Contains(body, fmt.Sprintf(`href="/alerts/%d"`, ids[c.other])) {
				t.Errorf("%s GET %s: %d, shows the other tenant", c.user, p, code)
			}
		}
		if _, body := b.get("/alerts"); !strings.Contains(body, "title-of-"+c.own) || !strings.Contains(body, `href="/events"`) {
			t.Errorf("%s does not see its own alert or the menu", c.user)
		}
		if code, body := b.get(fmt.Sprintf("/alerts/%d", ids[c.other])); code != 404 || strings.Contains(body, "raw-line-of-"+c.other) {
			t.Errorf("%s opens the other tenant's alert: %d", c.user, code)
		}
		if code, body := b.get(fmt.Sprintf("/alerts/%d", ids[c.own])); code != 200 || !strings.Contains(body, "raw-line-of-"+c.own) || !strings.Contains(body, "by tester") {
			t.Errorf("%s own alert: %d", c.user, code)
		}
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{fmt.Sprintf("/alerts/%d/status", ids[c.other]), url.Values{"status": {"closed"}}},
			{fmt.Sprintf("/alerts/%d/suppress", ids[c.other]), url.Values{"hours": {"1"}, "reason": {"x"}}},
		} {
			if code, _ := b.post(p.path, p.form); code != 404 {
				t.Errorf("%s POST %s: %d", c.user, p.path, code)
			}
		}
		_, csv := b.get("/alerts/export")
		if !strings.Contains(csv, "title-of-"+c.own) || strings.Contains(csv, c.other) {
			t.Errorf("%s export: %q", c.user, csv)
		}
		if _, csv := b.get("/alerts/export?tenant=" + c.other); strings.Contains(csv, c.other) {
			t.Errorf("%s export with tenant=%s: %q", c.user, c.other, csv)
		}
		if code, body := b.get("/events?tenant=" + c.other); code != 404 || strings.Contains(body, "event-of-"+c.other) {
			t.Errorf("%s searches the other tenant's events: %d", c.user, code)
		}
		if code, body := b.get("/events"); code != 200 || !strings.Contains(body, "event-of-"+c.own) || strings.Contains(body, "event-of-"+c.other) {
			t.Errorf("%s own events: %d", c.user, code)
		}
	}
	// Nothing the refused requests tried happened.
	for tn, id := range ids {
		a, err := e.store.Alert(context.Background(), store.AllTenants, id)
		if err != nil || a.Status != store.AlertNew || len(a.Notes) != 0 {
			t.Errorf("alert of %s changed: %+v %v", tn, a, err)
		}
	}
	if sups, _ := e.store.Suppressions(context.Background(), store.AllTenants, time.Time{}); len(sups) != 0 {
		t.Errorf("suppressions created: %+v", sups)
	}
	b := e.browser()
	b.login("soc")
	_, body := b.get("/alerts")
	if !strings.Contains(body, "title-of-kakuu") || !strings.Contains(body, "title-of-town-b") {
		t.Error("the SOC does not see every tenant")
	}
	if _, body := b.get("/alerts?tenant=town-b"); strings.Contains(body, "title-of-kakuu") || !strings.Contains(body, "title-of-town-b") {
		t.Error("tenant filter")
	}
	if code, body := b.get("/events?tenant=town-b"); code != 200 || !strings.Contains(body, "event-of-town-b") {
		t.Errorf("SOC events of town-b: %d", code)
	}
}

// TestAlertHandling: acknowledge, close and suppress from the detail page,
// each recorded in the audit log; the suppression reaches the store; a
// missing CSRF token or bad input changes nothing.
func TestAlertHandling(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := newEnv(t, withEvents(t, now))
	ids := cloudData(t, e)
	e.user("csirt-a", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	b := e.browser()
	b.login("csirt-a")
	path := fmt.Sprintf("/alerts/%d", ids["kakuu"])
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|\son[a-z]+=|style=|javascript:`)
	for _, p := range []string{"/alerts", "/events", path} { // the strict CSP holds on the new pages
		if code, body := b.get(p); code != 200 || inline.MatchString(body) {
			t.Errorf("%s: %d, inline %q", p, code, inline.FindString(body))
		}
	}
	if code, _ := b.post(path+"/status", url.Values{"status": {"acknowledged"}, "csrf": {"wrong"}}); code != 403 {
		t.Errorf("without CSRF: %d", code)
	}
	for _, bad := range []url.Values{{"status": {"suppressed"}}, {"status": {"bogus"}}} {
		if code, _ := b.post(path+"/status", bad); code != 400 {
			t.Errorf("status %v: %d", bad, code)
		}
	}
	code, body := b.post(path+"/status", url.Values{"status": {"acknowledged"}, "note": {"調査を開始"}})
	if code != 200 || b.last != path || !strings.Contains(body, "対応中") || !strings.Contains(body, "調査を開始") {
		t.Fatalf("acknowledge: %d %s", code, b.last)
	}
	for _, bad := range []url.Values{{"hours": {"0"}, "reason": {"x"}}, {"hours": {"721"}, "reason": {"x"}}, {"hours": {"2"}, "reason": {" "}}} {
		if code, _ := b.post(path+"/suppress", bad); code != 400 {
			t.Errorf("suppress %v: %d", bad, code)
		}
	}
	if code, body = b.post(path+"/suppress", url.Values{"hours": {"2"}, "reason": {"更新サーバーへの正規通信"}, "host": {"1"}}); code != 200 || !strings.Contains(body, "抑止") {
		t.Fatalf("suppress: %d", code)
	}
	sups, err := e.store.Suppressions(context.Background(), store.OneTenant("kakuu"), e.now())
	if err != nil || len(sups) != 1 || sups[0].Rule != "rule-kakuu" || sups[0].Host != "proxy1" || sups[0].SrcIP != "" || sups[0].Who != "csirt-a" ||
		!sups[0].Until.Equal(e.now().Add(2*time.Hour)) {
		t.Fatalf("suppression: %+v %v", sups, err)
	}
	if _, body = b.get(path); !strings.Contains(body, "更新サーバーへの正規通信") || !strings.Contains(body, "有効な抑止") {
		t.Error("detail page lacks the suppression")
	}
	if code, _ = b.post(path+"/status", url.Values{"status": {"closed"}}); code != 200 {
		t.Errorf("close: %d", code)
	}
	a, _ := e.store.Alert(context.Background(), store.AllTenants, ids["kakuu"])
	if a.Status != store.AlertClosed || a.Assignee != "csirt-a" || len(a.Notes) != 3 {
		t.Errorf("alert after handling: %+v", a)
	}
	got := map[string]int{}
	es, _ := e.store.AuditEntries(context.Background(), store.AuditFilter{Action: "alert."})
	for _, en := range es {
		got[en.Action]++
		if en.Actor != "csirt-a" || !strings.Contains(en.Details, "kakuu") {
			t.Errorf("audit entry %+v", en)
		}
	}
	if got[auditAlertStatus] != 2 || got[auditAlertSuppress] != 1 {
		t.Errorf("audit: %v", got)
	}
	b.get("/alerts/export?level=high")
	b.get("/events?filters=src_ip%3D10.0.0.1")
	for act, want := range map[string]int{auditAlertExport: 1, auditEventsSearch: 2} { // /events searched above too
		if n, _ := e.store.CountAudit(context.Background(), store.AuditFilter{Action: act}); n != want {
			t.Errorf("%s audited %d times, want %d", act, n, want)
		}
	}
}

// TestAlertListFiltersAndExport: filters, paging and the CSV format
// (BOM, header, formula cells neutralised).
func TestAlertListFiltersAndExport(t *testing.T) {
	e := newEnv(t)
	now := e.now()
	var hits []store.Alert
	for i := range 60 {
		h := storetest.Hit("kakuu", fmt.Sprintf("r%d", i%3), fmt.Sprintf("10.0.1.%d", i), now.Add(-time.Duration(i)*time.Minute))
		if i == 0 {
			h.Title, h.Level = "=HYPERLINK(\"x\")", "critical"
		}
		hits = append(hits, h)
	}
	if _, err := e.store.RecordAlerts(context.Background(), hits, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	e.user("soc", true, store.Grant{Role: "soc-operator"})
	b := e.browser()
	b.login("soc")
	for _, c := range []struct {
		q    string
		code int
		want string
	}{
		{"", 200, `id="alert-total">60<`},
		{"?level=critical", 200, `id="alert-total">1<`},
		{"?rule=r1", 200, `id="alert-total">20<`},
		{"?q=10.0.1.42", 200, `id="alert-total">1<`},
		{"?status=new&page=2", 200, "新しいアラート"},
		{"?level=severe", 400, ""},
		{"?status=gone", 400, ""},
		{"?since=yesterday", 400, ""},
	} {
		code, body := b.get("/alerts" + c.q)
		if code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("GET /alerts%s: %d, want %d and %q", c.q, code, c.code, c.want)
		}
	}
	res, err := b.c.Get(e.srv.URL + "/alerts/export?level=critical")
	if err != nil {
		t.Fatal(err)
	}
	csv := readAll(t, res)
	if res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") ||
		!strings.HasPrefix(csv, "\ufeffid,tenant,level,status,rule,title,credit") || !strings.Contains(csv, `'=HYPERLINK`) || strings.Count(csv, "\n") != 2 {
		t.Errorf("CSV: %v %q", res.Header, csv)
	}
}
