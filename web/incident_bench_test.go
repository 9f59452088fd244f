package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/storetest"
)

// benchIncidentServer is a console whose store holds n incidents (one in
// openEvery still open, spread over a year, in five tenants) and n audit
// entries, loaded in one restore transaction.
func benchIncidentServer(b *testing.B, n, openEvery int) *Server {
	b.Helper()
	st := storetest.SQLite(b)
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	snap := &store.Snapshot{Format: store.SnapshotFormat, Schema: 5, Settings: map[string]string{}}
	states := incident.States
	for i := range n {
		at := now.Add(-time.Duration(i) * 365 * 24 * time.Hour / time.Duration(n))
		state := incident.StateClosed
		if i%openEvery == 0 {
			state = states[i%(len(states)-1)]
		}
		inc := store.Incident{Tenant: fmt.Sprintf("t%d", i%5), ID: fmt.Sprintf("id%06d", i), Ref: fmt.Sprintf("INC-20261122-%06d", i),
			Title: "端末の不審な通信 " + fmt.Sprint(i), Type: string(incident.Types[i%len(incident.Types)]), Source: "alerts", Impact: i % 5,
			State: string(state), Assignee: "csirt1", CreatedAt: at, UpdatedAt: at, StateSince: at, Version: 1, ClosedAt: closedAt(state, at),
			Data: `{"description":"アラートから作成","alerts":["a1"],"checklist":[{"id":"unplug","ja":"切り離す","en":"unplug"}]}`}
		dom := incident.Incident{State: state, Impact: incident.Impact(inc.Impact), StateSince: at}
		inc.WarnAt = dom.WarnAt()
		snap.Incidents = append(snap.Incidents, store.IncidentRecord{Incident: inc})
		snap.Audit = append(snap.Audit, store.AuditEntry{Seq: int64(i + 1), Time: at, Actor: "csirt1", Action: "incident.transition",
			Target: "incident:t0/" + inc.Ref, Details: `{"from":"triage","to":"policy"}`, PrevHash: "x", Hash: "y"})
	}
	if err := st.Restore(context.Background(), snap); err != nil {
		b.Fatal(err)
	}
	sealer, _ := auth.NewSealer(make([]byte, 32))
	svc, err := incident.New(incident.Options{Store: st, Audit: audit.New(st), Sealer: sealer, Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{Store: st, Incidents: svc, HomeTenant: "t0", Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// asOperator is a request as the prefecture's SOC operator, who sees every
// tenant and the audit log of the console (both pages render for them).
func asOperator(path string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	st := &reqState{id: "bench", lang: "ja", session: &store.Session{State: stOK, CSRF: "c"},
		subject: &auth.Subject{User: &store.User{Name: "soc"}, Grants: []store.Grant{{Role: string(auth.RoleSOCOperator)}, {Role: string(auth.RoleCISO)}}}}
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
}

func closedAt(s incident.State, at time.Time) time.Time {
	if s == incident.StateClosed {
		return at.Add(time.Hour)
	}
	return time.Time{}
}

func benchPage(b *testing.B, h handlerFunc, path, want string) {
	b.Helper()
	for b.Loop() {
		w := httptest.NewRecorder()
		if err := h(w, asOperator(path)); err != nil {
			b.Fatal(err)
		}
		if !strings.Contains(w.Body.String(), want) {
			b.Fatalf("page lacks %q", want)
		}
	}
}

// BenchmarkIncidentListVsAudit renders the first page of the incident list
// (100 rows, the count, and SLA warnings over every open incident) and of
// the audit log (its own page size) over 10,000 records each, in the same
// run: docs/performance-incident.md.
func BenchmarkIncidentListVsAudit(b *testing.B) {
	// One incident in 50 open (200): a prefecture's year.
	s := benchIncidentServer(b, 10000, 50)
	b.Run("incidents", func(b *testing.B) { benchPage(b, s.incidentList, "/incidents", `id="incidents"`) })
	b.Run("incidents-filtered", func(b *testing.B) {
		benchPage(b, s.incidentList, "/incidents?open=1&type=ransomware", `id="incidents"`)
	})
	b.Run("audit", func(b *testing.B) { benchPage(b, s.auditPage, "/audit", "incident.transition") })
	// Stress: a third open (3,334), every one overdue.
	stress := benchIncidentServer(b, 10000, 3)
	b.Run("incidents-3334-open", func(b *testing.B) { benchPage(b, stress.incidentList, "/incidents", `id="incidents"`) })
	b.Run("audit-same-store", func(b *testing.B) { benchPage(b, stress.auditPage, "/audit", "incident.transition") })
}
