package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
)

// Hit builds an alert hit as detection raises it (exported for the cloud
// package's tests).
func Hit(tenant, rule, key string, at time.Time) store.Alert {
	return store.Alert{Tenant: tenant, Rule: rule, Title: "title " + rule, Level: "high",
		Credit: "Sigma rule " + rule + " by tester — DRL 1.1", Source: "squid", Host: "proxy1", SrcIP: key, DedupKey: key,
		FirstSeen: at, LastSeen: at, Count: 1,
		Events: []store.AlertEvent{{Time: at, Source: "squid", Raw: fmt.Sprintf("line %s %s", key, at.Format(time.RFC3339))}}}
}

// testAlertDedup: hits of one (tenant, rule, key) within the window are one
// alert; outside the window, after closing, or under another key, tenant
// or rule they are new alerts. The event list stays bounded.
func testAlertDedup(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 22, 23, 59, 0, 0, time.UTC) // the batch crosses a day (partition) boundary
	w := 10 * time.Minute
	var batch []store.Alert
	for i := range 30 {
		batch = append(batch, Hit("town-a", "r1", "10.0.0.1", t0.Add(time.Duration(i)*time.Second)))
	}
	batch = append(batch, Hit("town-a", "r1", "10.0.0.2", t0), Hit("town-b", "r1", "10.0.0.1", t0), Hit("town-a", "r2", "10.0.0.1", t0))
	st, err := s.RecordAlerts(ctx, batch, w, t0)
	must(t, err)
	if st.Created != 4 || st.Merged != 29 || st.Suppressed != 0 {
		t.Fatalf("first batch: %+v", st)
	}
	list, total, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants, Rule: "r1", Tenant: "town-a"})
	must(t, err)
	if total != 2 || len(list) != 2 {
		t.Fatalf("town-a r1: %d %+v", total, list)
	}
	id := list[0].ID
	if list[0].DedupKey != "10.0.0.1" {
		id = list[1].ID
	}
	a, err := s.Alert(ctx, store.AllTenants, id)
	must(t, err)
	if list[0].Events != nil || list[1].Events != nil {
		t.Error("ListAlerts loads events")
	}
	for i, ev := range a.Events {
		if want := t0.Add(time.Duration(i) * time.Second); !ev.Time.Equal(want) || ev.Raw != fmt.Sprintf("line 10.0.0.1 %s", want.Format(time.RFC3339)) {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	if a.Count != 30 || len(a.Events) != store.MaxAlertEvents || !a.FirstSeen.Equal(t0) || !a.LastSeen.Equal(t0.Add(29*time.Second)) || a.Status != store.AlertNew {
		t.Fatalf("deduplicated alert: count %d events %d first %v last %v status %s", a.Count, len(a.Events), a.FirstSeen, a.LastSeen, a.Status)
	}
	// A later batch within the window merges into the stored row…
	st, err = s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "10.0.0.1", t0.Add(5*time.Minute))}, w, t0)
	must(t, err)
	got, err := s.Alert(ctx, store.AllTenants, a.ID)
	must(t, err)
	if st.Merged != 1 || got.Count != 31 || len(got.Events) != store.MaxAlertEvents {
		t.Fatalf("merge into stored: %+v count %d", st, got.Count)
	}
	// An alert with room for events gets the later hits' events.
	other, _, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants, Tenant: "town-b"})
	must(t, err)
	_, err = s.RecordAlerts(ctx, []store.Alert{Hit("town-b", "r1", "10.0.0.1", t0.Add(time.Minute)), Hit("town-b", "r1", "10.0.0.1", t0.Add(2*time.Minute))}, w, t0)
	must(t, err)
	b, err := s.Alert(ctx, store.AllTenants, other[0].ID)
	must(t, err)
	if b.Count != 3 || len(b.Events) != 3 || !b.Events[2].Time.Equal(t0.Add(2*time.Minute)) || b.Events[0].Ref != "" {
		t.Fatalf("events appended: %+v", b)
	}
	// …one beyond the window starts a new alert…
	st, err = s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "10.0.0.1", t0.Add(30*time.Minute))}, w, t0)
	must(t, err)
	if st.Created != 1 {
		t.Fatalf("beyond the window: %+v", st)
	}
	// …and so does one after the alert was closed.
	must(t, s.SetAlertStatus(ctx, store.AllTenants, a.ID, store.AlertClosed, store.AlertNote{Time: t0, Author: "soc", Text: "done"}))
	list, _, err = s.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants, Status: store.AlertNew, Tenant: "town-a", Rule: "r1"})
	must(t, err)
	newest := list[0]
	must(t, s.SetAlertStatus(ctx, store.AllTenants, newest.ID, store.AlertClosed, store.AlertNote{Time: t0, Author: "soc"}))
	st, err = s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "10.0.0.1", t0.Add(31*time.Minute))}, w, t0)
	must(t, err)
	if st.Created != 1 {
		t.Fatalf("after close: %+v", st)
	}
	// Invalid hits are refused whole.
	if _, err := s.RecordAlerts(ctx, []store.Alert{Hit("Bad,Tenant", "r1", "k", t0)}, w, t0); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("invalid tenant: %v", err)
	}
}

// testAlertSuppression: an active suppression drops matching hits and
// counts them; host narrows it; an expired one drops nothing.
func testAlertSuppression(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	sp := &store.Suppression{Tenant: "town-a", Rule: "r1", Host: "proxy1", Until: t0.Add(time.Hour), Reason: "誤検知（更新サーバー）", Who: "csirt-a", CreatedAt: t0}
	must(t, s.AddSuppression(ctx, sp))
	expired := &store.Suppression{Tenant: "town-a", Rule: "r2", Until: t0.Add(-time.Minute), Reason: "old", Who: "x", CreatedAt: t0.Add(-time.Hour)}
	must(t, s.AddSuppression(ctx, expired))
	other := Hit("town-a", "r1", "10.0.0.9", t0)
	other.Host = "proxy2"
	st, err := s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "10.0.0.1", t0), Hit("town-a", "r1", "10.0.0.2", t0.Add(time.Second)),
		Hit("town-b", "r1", "10.0.0.1", t0), other, Hit("town-a", "r2", "10.0.0.1", t0)}, time.Minute, t0)
	must(t, err)
	if st.Suppressed != 2 || st.Created != 3 {
		t.Fatalf("suppression: %+v", st)
	}
	// Past its end the suppression drops nothing.
	st, err = s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "10.0.0.1", t0.Add(2*time.Hour))}, time.Minute, t0.Add(2*time.Hour))
	must(t, err)
	if st.Suppressed != 0 || st.Created != 1 {
		t.Fatalf("after the suppression ended: %+v", st)
	}
	active, err := s.Suppressions(ctx, store.OneTenant("town-a"), t0)
	must(t, err)
	if len(active) != 1 || active[0].ID != sp.ID || active[0].Hits != 2 || active[0].Reason != sp.Reason || !active[0].Until.Equal(sp.Until) {
		t.Fatalf("active suppressions: %+v", active)
	}
	all, err := s.Suppressions(ctx, store.OneTenant("town-a"), time.Time{})
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("all suppressions: %+v", all)
	}
	if b, err := s.Suppressions(ctx, store.OneTenant("town-b"), time.Time{}); err != nil || len(b) != 0 {
		t.Fatalf("town-b sees town-a's suppressions: %+v %v", b, err)
	}
	if err := s.AddSuppression(ctx, &store.Suppression{Tenant: "town-a", Rule: "r1"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("suppression without end: %v", err)
	}
}

// testAlertIsolation: no read or write reaches outside the scope; the zero
// scope sees nothing, and a tenant id that would smuggle a list is ignored.
func testAlertIsolation(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	_, err := s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "k", t0), Hit("town-b", "r1", "k", t0), Hit("town-c", "r1", "k", t0)}, time.Minute, t0)
	must(t, err)
	all, total, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants})
	must(t, err)
	if total != 3 {
		t.Fatalf("all: %d", total)
	}
	byTenant := map[string]int64{}
	for _, a := range all {
		byTenant[a.Tenant] = a.ID
	}
	for _, c := range []struct {
		scope store.Tenants
		want  []string
	}{
		{store.Tenants{}, nil},
		{store.OneTenant("town-a"), []string{"town-a"}},
		{store.Tenants{IDs: []string{"town-a", "town-c"}}, []string{"town-a", "town-c"}},
		{store.Tenants{IDs: []string{"town-a,town-b", "*"}}, nil},
	} {
		list, n, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: c.scope})
		must(t, err)
		var got []string
		for _, a := range list {
			got = append(got, a.Tenant)
		}
		slices.Sort(got)
		if n != len(c.want) || !slices.Equal(got, c.want) {
			t.Errorf("scope %+v: %d %v, want %v", c.scope, n, got, c.want)
		}
		// Asking for another tenant explicitly does not widen the scope.
		if list, _, _ := s.ListAlerts(ctx, store.AlertFilter{Tenants: c.scope, Tenant: "town-b"}); len(list) > 0 && !c.scope.Has("town-b") {
			t.Errorf("scope %+v lists town-b through the tenant filter", c.scope)
		}
	}
	a := store.OneTenant("town-a")
	if _, err := s.Alert(ctx, a, byTenant["town-b"]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("town-a reads town-b's alert: %v", err)
	}
	if _, err := s.Alert(ctx, store.Tenants{}, byTenant["town-a"]); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("zero scope reads an alert: %v", err)
	}
	if err := s.SetAlertStatus(ctx, a, byTenant["town-b"], store.AlertClosed, store.AlertNote{Author: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("town-a closes town-b's alert: %v", err)
	}
	b, err := s.Alert(ctx, store.AllTenants, byTenant["town-b"])
	must(t, err)
	if b.Status != store.AlertNew || len(b.Notes) != 0 {
		t.Errorf("town-b's alert changed: %+v", b)
	}
	if err := s.SetAlertStatus(ctx, a, byTenant["town-a"], "bogus", store.AlertNote{}); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("unknown status: %v", err)
	}
}

// testAlertHandling: status changes keep a history, acknowledging assigns,
// filters and paging select as documented.
func testAlertHandling(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	var hits []store.Alert
	for i := range 25 {
		h := Hit("town-a", fmt.Sprintf("rule-%02d", i%5), fmt.Sprintf("10.0.0.%d", i), t0.Add(time.Duration(i)*time.Minute))
		if i%5 == 0 {
			h.Level, h.Title = "critical", "マイナンバー利用事務系のアドレス 100%_done"
		}
		hits = append(hits, h)
	}
	_, err := s.RecordAlerts(ctx, hits, time.Minute, t0)
	must(t, err)
	sc := store.OneTenant("town-a")
	page1, total, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: sc, Limit: 10})
	must(t, err)
	page3, _, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: sc, Limit: 10, Offset: 20})
	must(t, err)
	if total != 25 || len(page1) != 10 || len(page3) != 5 || !page1[0].LastSeen.Equal(t0.Add(24*time.Minute)) || !page3[4].LastSeen.Equal(t0) {
		t.Fatalf("paging: total %d, %d and %d rows", total, len(page1), len(page3))
	}
	for _, c := range []struct {
		f    store.AlertFilter
		want int
	}{
		{store.AlertFilter{Level: "critical"}, 5},
		{store.AlertFilter{Rule: "rule-01"}, 5},
		{store.AlertFilter{Text: "マイナンバー"}, 5},
		{store.AlertFilter{Text: "100%_D"}, 5}, // LIKE wildcards are literal, case ignored
		{store.AlertFilter{Text: "1%"}, 0},
		{store.AlertFilter{Text: "10.0.0.13"}, 1},
		{store.AlertFilter{Since: t0.Add(20 * time.Minute)}, 5},
		{store.AlertFilter{Until: t0.Add(2 * time.Minute)}, 2},
	} {
		c.f.Tenants = sc
		_, n, err := s.ListAlerts(ctx, c.f)
		must(t, err)
		if n != c.want {
			t.Errorf("filter %+v: %d, want %d", c.f, n, c.want)
		}
	}
	id := page1[0].ID
	must(t, s.SetAlertStatus(ctx, sc, id, store.AlertAcknowledged, store.AlertNote{Time: t0, Author: "csirt-a", Text: "調査中"}))
	must(t, s.SetAlertStatus(ctx, sc, id, store.AlertClosed, store.AlertNote{Time: t0.Add(time.Hour), Author: "soc", Text: "誤検知"}))
	a, err := s.Alert(ctx, sc, id)
	must(t, err)
	if a.Status != store.AlertClosed || a.Assignee != "csirt-a" || len(a.Notes) != 2 || a.Notes[1].Text != "誤検知" || !a.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("handled alert: %+v", a)
	}
	if _, n, _ := s.ListAlerts(ctx, store.AlertFilter{Tenants: sc, Status: store.AlertClosed}); n != 1 {
		t.Errorf("closed: %d", n)
	}
	if _, err := s.Alert(ctx, sc, 1<<40); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing alert: %v", err)
	}
	// Another component raises an alert directly (tamper check, incident).
	for range 2 {
		st, err := store.RaiseAlert(ctx, s, store.Alert{Tenant: "town-a", Rule: "KYOJIN-AUDIT-TAMPER", Title: "監査ログの改ざんを検出", Level: "critical",
			Credit: "kyojin", Source: "web", DedupKey: "audit"}, time.Hour, t0)
		must(t, err)
		if st.Created+st.Merged != 1 {
			t.Fatalf("RaiseAlert: %+v", st)
		}
	}
	raised, n, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: sc, Rule: "KYOJIN-AUDIT-TAMPER"})
	must(t, err)
	if n != 1 || raised[0].Count != 2 || !raised[0].FirstSeen.Equal(t0) || raised[0].Status != store.AlertNew {
		t.Errorf("raised alert: %+v", raised)
	}
}

// testAlertConcurrentMerge: several writers (detection workers sharing
// one database) merging into the same alert lose no count.
func testAlertConcurrentMerge(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	_, err := s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "k", t0)}, time.Hour, t0)
	must(t, err)
	const writers, rounds, per = 6, 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*rounds)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				h := Hit("town-a", "r1", "k", t0.Add(time.Duration(w*rounds+r+1)*time.Second))
				h.Count = per
				if _, err := s.RecordAlerts(ctx, []store.Alert{h}, time.Hour, t0); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	list, n, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants})
	must(t, err)
	if n != 1 || list[0].Count != 1+writers*rounds*per || !list[0].LastSeen.Equal(t0.Add(writers*rounds*time.Second)) {
		t.Fatalf("after concurrent merges: %d alerts, %+v", n, list)
	}
	a, err := s.Alert(ctx, store.AllTenants, list[0].ID)
	must(t, err)
	if len(a.Events) != store.MaxAlertEvents {
		t.Errorf("events: %d", len(a.Events))
	}
}

// testAlertHints: a hit's ID hint merges only into an open alert of the
// same tenant, rule and key within the window; RecordAlerts reports the
// alert each hit went to.
func testAlertHints(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	hits := []store.Alert{Hit("town-a", "r1", "k", t0), Hit("town-b", "r1", "k", t0)}
	_, err := s.RecordAlerts(ctx, hits, time.Hour, t0)
	must(t, err)
	a, b := hits[0].ID, hits[1].ID
	if a == 0 || b == 0 || a == b {
		t.Fatalf("ids of stored hits: %d %d", a, b)
	}
	withHint := func(tenant, key string, hint int64, at time.Time) store.Alert {
		h := Hit(tenant, "r1", key, at)
		h.ID = hint
		return h
	}
	for _, c := range []struct {
		name string
		hit  store.Alert
		same bool // stored in the hinted alert
	}{
		{"valid hint", withHint("town-a", "k", a, t0.Add(time.Minute)), true},
		{"another tenant's alert", withHint("town-a", "k", b, t0.Add(2*time.Minute)), false},
		{"another key", withHint("town-a", "k2", a, t0.Add(3*time.Minute)), false},
		{"beyond the window", withHint("town-a", "k", a, t0.Add(3*time.Hour)), false},
		{"no such alert", withHint("town-a", "k3", 1<<40, t0), false},
	} {
		batch := []store.Alert{c.hit}
		_, err := s.RecordAlerts(ctx, batch, time.Hour, t0)
		must(t, err)
		if got := batch[0].ID == c.hit.ID; got != c.same || batch[0].ID == 0 {
			t.Errorf("%s: stored in %d (hint %d)", c.name, batch[0].ID, c.hit.ID)
		}
	}
	ga, err := s.Alert(ctx, store.AllTenants, a)
	must(t, err)
	gb, err := s.Alert(ctx, store.AllTenants, b)
	must(t, err)
	// town-a's first alert: its own hit, the valid hint, and the hit of
	// "another tenant's alert" (found by key, not by the foreign hint).
	if ga.Count != 3 || len(ga.Events) != 3 || gb.Count != 1 || len(gb.Events) != 1 {
		t.Errorf("counts: town-a %d (%d events), town-b %d (%d events)", ga.Count, len(ga.Events), gb.Count, len(gb.Events))
	}
	// A suppressed hit is stored nowhere.
	must(t, s.AddSuppression(ctx, &store.Suppression{Tenant: "town-a", Rule: "r1", Until: t0.Add(24 * time.Hour), Reason: "r", Who: "w", CreatedAt: t0}))
	batch := []store.Alert{withHint("town-a", "k", a, t0.Add(4*time.Minute))}
	_, err = s.RecordAlerts(ctx, batch, time.Hour, t0)
	must(t, err)
	if batch[0].ID != 0 {
		t.Errorf("suppressed hit stored in %d", batch[0].ID)
	}
}

// testAlertHostileText: NUL bytes and invalid UTF-8 from hostile log lines
// are stored (made visible), never failing the batch they arrive in.
func testAlertHostileText(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	h := Hit("town-a", "r\x00", "k\xff", t0)
	h.Title, h.Host, h.Events[0].Raw = "t\x00itle", "h\xfe\xff", "GET /\x00\xc3 HTTP/1.1 '; DROP TABLE alerts; --"
	batch := []store.Alert{h, Hit("town-a", "r2", "k", t0)}
	st, err := s.RecordAlerts(ctx, batch, time.Minute, t0)
	must(t, err)
	if st.Created != 2 {
		t.Fatalf("stats %+v", st)
	}
	a, err := s.Alert(ctx, store.AllTenants, batch[0].ID)
	must(t, err)
	if a.Rule != `r\x00` || a.Title != `t\x00itle` || a.Host != "h\uFFFD" || a.DedupKey != "k\uFFFD" ||
		a.Events[0].Raw != "GET /\\x00\uFFFD HTTP/1.1 '; DROP TABLE alerts; --" {
		t.Errorf("stored %q %q %q %q %q", a.Rule, a.Title, a.Host, a.DedupKey, a.Events[0].Raw)
	}
	must(t, s.SetAlertStatus(ctx, store.AllTenants, a.ID, store.AlertClosed, store.AlertNote{Time: t0, Author: "x", Text: "n\x00\xff"}))
	must(t, s.AddSuppression(ctx, &store.Suppression{Tenant: "town-a", Rule: "r2", Until: t0.Add(time.Hour), Reason: "\xff\x00", Who: "w", CreatedAt: t0}))
}
