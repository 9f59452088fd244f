package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
)

// TestEventsPostgres: /events over the PostgreSQL event store (the
// scale-out path, `events: postgres://…`) finds a tenant's events and
// never another tenant's, for CSIRT members and the prefecture SOC.
func TestEventsPostgres(t *testing.T) {
	srv := pgtest.Start(t)
	st, err := pgevents.Open(srv.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	e := newEnv(t, withEventStore(t, st, now))
	for _, c := range tenantUsers(e) {
		b := e.browser()
		b.login(c.user)
		if code, body := b.get("/events?tenant=" + c.other); code != 404 || strings.Contains(body, "event-of-"+c.other) {
			t.Errorf("%s searches the other tenant's events: %d", c.user, code)
		}
		if code, body := b.get("/events"); code != 200 || !strings.Contains(body, "event-of-"+c.own) || strings.Contains(body, "event-of-"+c.other) {
			t.Errorf("%s own events: %d", c.user, code)
		}
		if _, body := b.get("/events?filters=src_ip%3D10.9.9.9"); strings.Contains(body, "event-of-") {
			t.Errorf("%s: a filter that matches nothing shows events", c.user)
		}
	}
	b := e.browser()
	b.login("soc")
	if code, body := b.get("/events?tenant=town-b&filters=src_ip%3D10.0.0.1"); code != 200 || !strings.Contains(body, "event-of-town-b") || strings.Contains(body, "event-of-kakuu") {
		t.Errorf("SOC events of town-b: %d", code)
	}
}
