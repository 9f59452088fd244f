package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
)

// testAlertRetention: per-tenant retention deletes only that tenant's
// alerts last seen before the cut, whatever their status; dropping days
// for every tenant keeps an alert first seen on an old day but seen since
// (on PostgreSQL its day partition survives), and a late alert of a
// dropped day can still be stored.
func testAlertRetention(t *testing.T, s store.Store, _ Opener) {
	t0 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	_, err := s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "old", "k", t0), Hit("town-a", "long", "k", t0), Hit("town-b", "old", "k", t0)}, time.Hour, t0)
	must(t, err)
	_, err = s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "long", "k", t0.Add(3*day)), Hit("town-a", "recent", "k", t0.Add(10*day))}, 4*day, t0.Add(10*day))
	must(t, err)
	ids := map[string]int64{}
	list, n, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: store.AllTenants})
	must(t, err)
	if n != 4 {
		t.Fatalf("alerts before retention: %d", n)
	}
	for _, a := range list {
		ids[a.Tenant+"/"+a.Rule] = a.ID
	}
	must(t, s.SetAlertStatus(ctx, store.OneTenant("town-a"), ids["town-a/old"], store.AlertAcknowledged, store.AlertNote{Time: t0, Author: "soc", Text: "x"}))

	if _, err := s.RetainAlerts(ctx, "", t0); !errors.Is(err, store.ErrInvalid) {
		t.Errorf("retain without tenant: %v", err)
	}
	got, err := s.RetainAlerts(ctx, "town-a", t0.Add(2*day))
	must(t, err)
	if got != 1 {
		t.Errorf("town-a retention deleted %d, want 1", got)
	}
	left := func() map[string]bool {
		t.Helper()
		out := map[string]bool{}
		for k, id := range ids {
			tn := k[:len("town-a")]
			a, err := s.Alert(ctx, store.OneTenant(tn), id)
			switch {
			case err == nil:
				out[k] = len(a.Events) > 0
			case !errors.Is(err, store.ErrNotFound):
				t.Fatal(err)
			}
		}
		return out
	}
	if l := left(); len(l) != 3 || !l["town-b/old"] || !l["town-a/long"] || !l["town-a/recent"] {
		t.Errorf("after town-a retention: %v", l)
	}
	got, err = s.DropAlertsBefore(ctx, t0.Add(2*day))
	must(t, err)
	if l := left(); got != 1 || len(l) != 2 || !l["town-a/long"] || !l["town-a/recent"] {
		t.Errorf("drop before day 2: %d, left %v", got, l)
	}
	got, err = s.DropAlertsBefore(ctx, t0.Add(5*day))
	must(t, err)
	if l := left(); got != 1 || len(l) != 1 || !l["town-a/recent"] {
		t.Errorf("drop before day 5: %d, left %v", got, l)
	}
	// A late alert of a dropped day is stored again.
	st, err := s.RecordAlerts(ctx, []store.Alert{Hit("town-b", "late", "k", t0)}, time.Hour, t0.Add(11*day))
	must(t, err)
	if st.Created != 1 {
		t.Errorf("late alert: %+v", st)
	}
	if _, n, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: store.OneTenant("town-b")}); err != nil || n != 1 {
		t.Errorf("town-b after a late alert: %d %v", n, err)
	}
}
