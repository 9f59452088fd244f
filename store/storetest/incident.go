package storetest

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
)

func sampleIncident(tenant, id string, at time.Time) *store.Incident {
	return &store.Incident{Tenant: tenant, ID: id, Ref: "REF-" + id, Title: "端末の身代金要求画面", Type: "ransomware", Source: "staff",
		State: "reported", Reporter: "staff1", CreatedAt: at, UpdatedAt: at, StateSince: at, Data: `{"alerts":["a1"]}`}
}

func testIncidents(t *testing.T, s store.Store, _ Opener) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	inc := sampleIncident("city-a", "i1", now)
	must(t, s.CreateIncident(ctx, inc, &store.IncidentEvent{At: now, Actor: "staff1", Kind: "create", To: "reported", Comment: "報告"}))
	if inc.Version != 1 {
		t.Fatalf("version after create = %d", inc.Version)
	}
	got, err := s.Incident(ctx, "city-a", "i1")
	must(t, err)
	if !reflect.DeepEqual(got, inc) {
		t.Fatalf("incident round trip:\n got %+v\nwant %+v", got, inc)
	}
	if byRef, err := s.IncidentByRef(ctx, "city-a", "REF-i1"); err != nil || byRef.ID != "i1" {
		t.Fatalf("by ref: %v %v", byRef, err)
	}
	if err := s.CreateIncident(ctx, sampleIncident("city-a", "i1", now), nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate id: %v", err)
	}

	// Two handlers read version 1; the second write is refused.
	a, _ := s.Incident(ctx, "city-a", "i1")
	b, _ := s.Incident(ctx, "city-a", "i1")
	a.State, a.Impact, a.Assignee, a.StateSince, a.UpdatedAt = "received", 3, "csirt1", now.Add(time.Minute), now.Add(time.Minute)
	must(t, s.UpdateIncident(ctx, a, &store.IncidentEvent{At: now.Add(time.Minute), Actor: "csirt1", Kind: "transition", From: "reported", To: "received"}))
	if a.Version != 2 {
		t.Fatalf("version after update = %d", a.Version)
	}
	b.State = "triage"
	if err := s.UpdateIncident(ctx, b, nil); !errors.Is(err, store.ErrStale) {
		t.Fatalf("stale update: %v", err)
	}
	ghost := sampleIncident("city-a", "nope", now)
	if err := s.UpdateIncident(ctx, ghost, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of a missing incident: %v", err)
	}
	got, _ = s.Incident(ctx, "city-a", "i1")
	if got.State != "received" || got.Impact != 3 || got.Assignee != "csirt1" || got.Version != 2 {
		t.Fatalf("after update: %+v", got)
	}
	evs, err := s.IncidentEvents(ctx, "city-a", "i1")
	must(t, err)
	if len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 2 || evs[1].To != "received" || evs[0].Comment != "報告" || !evs[1].At.Equal(now.Add(time.Minute)) {
		t.Fatalf("timeline: %+v", evs)
	}

	// Filters, order and paging.
	for i, typ := range []string{"malware", "web-defacement", "malware"} {
		x := sampleIncident("city-a", string(rune('p'+i)), now.Add(time.Duration(i+1)*time.Hour))
		x.Type = typ
		must(t, s.CreateIncident(ctx, x, nil))
	}
	// A closed one (ClosedAt set) drops out of Open.
	last, _ := s.Incident(ctx, "city-a", "r")
	last.State, last.ClosedAt = "closed", now.Add(4*time.Hour)
	must(t, s.UpdateIncident(ctx, last, nil))
	list, err := s.ListIncidents(ctx, store.IncidentFilter{Tenants: []string{"city-a"}})
	must(t, err)
	if len(list) != 4 || list[0].ID != "r" || list[3].ID != "i1" {
		t.Fatalf("list order: %v", ids(list))
	}
	for _, c := range []struct {
		f    store.IncidentFilter
		want int
	}{
		{store.IncidentFilter{Tenants: []string{"city-a"}, Type: "malware"}, 2},
		{store.IncidentFilter{Tenants: []string{"city-a"}, State: "received"}, 1},
		{store.IncidentFilter{Tenants: []string{"city-a"}, Impact: 3}, 1},
		{store.IncidentFilter{Tenants: []string{"city-a"}, Since: now.Add(90 * time.Minute)}, 2},
		{store.IncidentFilter{Tenants: []string{"city-a"}, Until: now.Add(90 * time.Minute)}, 2},
		{store.IncidentFilter{Tenants: []string{"city-a"}, Open: true}, 3},
		{store.IncidentFilter{Tenants: []string{"city-a"}, State: "closed"}, 1},
		{store.IncidentFilter{}, 0},
	} {
		n, err := s.CountIncidents(ctx, c.f)
		must(t, err)
		l, err := s.ListIncidents(ctx, c.f)
		must(t, err)
		if n != c.want || len(l) != c.want {
			t.Errorf("filter %+v: count %d, list %d, want %d", c.f, n, len(l), c.want)
		}
	}
	// Warning times: found by WarnBy, ordered by BySLA.
	for id, at := range map[string]time.Time{"p": now.Add(3 * time.Hour), "q": now.Add(2 * time.Hour)} {
		x, _ := s.Incident(ctx, "city-a", id)
		x.WarnAt = at
		must(t, s.UpdateIncident(ctx, x, nil))
	}
	warn, err := s.ListIncidents(ctx, store.IncidentFilter{Tenants: []string{"city-a"}, Open: true, WarnBy: now.Add(3 * time.Hour), BySLA: true})
	must(t, err)
	if len(warn) != 2 || warn[0].ID != "q" || warn[1].ID != "p" || !warn[0].WarnAt.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("warnings by SLA: %v", ids(warn))
	}
	if n, _ := s.CountIncidents(ctx, store.IncidentFilter{Tenants: []string{"city-a"}, WarnBy: now.Add(150 * time.Minute)}); n != 1 {
		t.Fatalf("warning by 2h30: %d", n)
	}
	page, err := s.ListIncidents(ctx, store.IncidentFilter{Tenants: []string{"city-a"}, Limit: 2, Offset: 1})
	must(t, err)
	if len(page) != 2 || page[0].ID != "q" {
		t.Fatalf("page: %v", ids(page))
	}
}

func ids(l []store.Incident) []string {
	var out []string
	for _, i := range l {
		out = append(out, i.ID)
	}
	return out
}

// One tenant never reads, updates or lists another tenant's incidents.
func testIncidentTenants(t *testing.T, s store.Store, _ Opener) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	must(t, s.CreateIncident(ctx, sampleIncident("city-a", "a1", now), nil))
	must(t, s.CreateIncident(ctx, sampleIncident("town-b", "b1", now), nil))
	if _, err := s.Incident(ctx, "town-b", "a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant read: %v", err)
	}
	if _, err := s.IncidentByRef(ctx, "town-b", "REF-a1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant ref: %v", err)
	}
	stolen := sampleIncident("town-b", "a1", now)
	stolen.Version = 1
	if err := s.UpdateIncident(ctx, stolen, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant update: %v", err)
	}
	if err := s.AddEvidence(ctx, &store.IncidentEvidence{Tenant: "town-b", IncidentID: "a1", ID: "e", Name: "x", Sealed: []byte{1}}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant evidence: %v", err)
	}
	l, err := s.ListIncidents(ctx, store.IncidentFilter{Tenants: []string{"town-b"}})
	must(t, err)
	if len(l) != 1 || l[0].ID != "b1" {
		t.Fatalf("town-b sees %v", ids(l))
	}
	all, err := s.ListIncidents(ctx, store.IncidentFilter{AllTenants: true})
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("all tenants: %v", ids(all))
	}
	if evs, _ := s.IncidentEvents(ctx, "town-b", "a1"); len(evs) != 0 {
		t.Fatalf("cross-tenant timeline: %+v", evs)
	}
}

func testIncidentEvidence(t *testing.T, s store.Store, _ Opener) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	must(t, s.CreateIncident(ctx, sampleIncident("city-a", "i1", now), nil))
	e := &store.IncidentEvidence{Tenant: "city-a", IncidentID: "i1", ID: "ev1", Name: "脅迫文.png", ContentType: "image/png", Size: 3,
		SHA256: "abc", Sealed: []byte{0, 1, 2, 255}, UploadedBy: "csirt1", UploadedAt: now}
	must(t, s.AddEvidence(ctx, e, &store.IncidentEvent{At: now, Actor: "csirt1", Kind: "evidence", Comment: "脅迫文.png"}))
	if err := s.AddEvidence(ctx, e, nil); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate evidence: %v", err)
	}
	list, err := s.ListEvidence(ctx, "city-a", "i1")
	must(t, err)
	if len(list) != 1 || list[0].Sealed != nil || list[0].Name != "脅迫文.png" || list[0].Size != 3 {
		t.Fatalf("list evidence: %+v", list)
	}
	got, err := s.Evidence(ctx, "city-a", "i1", "ev1")
	must(t, err)
	if !bytes.Equal(got.Sealed, e.Sealed) || !reflect.DeepEqual(got, e) {
		t.Fatalf("evidence round trip: %+v", got)
	}
	if _, err := s.Evidence(ctx, "town-b", "i1", "ev1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant evidence read: %v", err)
	}
	evs, _ := s.IncidentEvents(ctx, "city-a", "i1")
	if len(evs) != 1 || evs[0].Kind != "evidence" {
		t.Fatalf("evidence event: %+v", evs)
	}
}

func testIncidentDumpRestore(t *testing.T, s store.Store, open Opener) {
	now := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	must(t, s.CreateIncident(ctx, sampleIncident("city-a", "i1", now), &store.IncidentEvent{At: now, Actor: "x", Kind: "create", To: "reported"}))
	must(t, s.AddEvidence(ctx, &store.IncidentEvidence{Tenant: "city-a", IncidentID: "i1", ID: "ev1", Name: "log.txt", ContentType: "text/plain",
		Size: 1, SHA256: "h", Sealed: []byte("sealed"), UploadedBy: "x", UploadedAt: now}, nil))
	snap, err := s.Dump(ctx)
	must(t, err)
	if snap.Schema < 5 || len(snap.Incidents) != 1 || len(snap.Incidents[0].Events) != 1 || string(snap.Incidents[0].Evidence[0].Sealed) != "sealed" {
		t.Fatalf("dump: schema %d, %+v", snap.Schema, snap.Incidents)
	}
	dst := open(t)
	must(t, dst.Restore(ctx, snap))
	again, err := dst.Dump(ctx)
	must(t, err)
	if !reflect.DeepEqual(again.Incidents, snap.Incidents) {
		t.Fatalf("restore round trip:\n got %+v\nwant %+v", again.Incidents, snap.Incidents)
	}
	if err := dst.Restore(ctx, snap); err == nil {
		t.Fatal("restore into a non-empty store succeeded")
	}
}
