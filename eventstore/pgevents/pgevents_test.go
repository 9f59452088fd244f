package pgevents_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/eventstore/eventstoretest"
	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
)

// appRole is the cloud's role in the tests: LOGIN, not a superuser, no
// BYPASSRLS — the role row-level security must hold against.
const appRole = "kyojin_cloud"

// setup makes a fresh database migrated by the superuser (the owner) and
// returns the owner's DSN and the application role's DSN.
func setup(t testing.TB, srv *pgtest.Server) (owner, app string) {
	t.Helper()
	owner = srv.NewDB(t)
	st, err := pgevents.Open(owner)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil { // idempotent
		t.Fatal(err)
	}
	db := sqlDB(t, owner)
	if _, err := db.Exec(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '` + appRole + `') THEN
		CREATE ROLE ` + appRole + ` LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE; END IF; END $$`); err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, appRole); err != nil {
		t.Fatal(err)
	}
	if err := st.Grant(ctx, "x; DROP TABLE kyojin_events"); err == nil {
		t.Error("role name with SQL accepted")
	}
	u, _ := url.Parse(owner)
	u.User = url.User(appRole)
	return owner, u.String()
}

// filled starts a server and returns a store, as the application role,
// holding hours hourly events of city-a and city-b from eventstoretest.T0.
func filled(t *testing.T, hours int) (owner, app string, st *pgevents.Store) {
	t.Helper()
	owner, app = setup(t, pgtest.Start(t))
	st, err := pgevents.Open(app)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i := range hours {
		if err := st.Append(eventstoretest.Event("city-a", i, "10.0.0.1"), eventstoretest.Event("city-b", i, "10.0.0.2")); err != nil {
			t.Fatal(err)
		}
	}
	return owner, app, st
}

func sqlDB(t testing.TB, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	srv := pgtest.Start(t)
	eventstoretest.Run(t, func(t *testing.T) eventstoretest.Store {
		_, app := setup(t, srv)
		st, err := pgevents.Open(app)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(context.Background()); err != nil { // current: no DDL needed
			t.Fatal(err)
		}
		return st
	})
}

// TestRowLevelSecurity proves the isolation in the database itself, with
// the application's real non-superuser role: without the tenant setting it
// sees and writes nothing, with it only its tenant, also when it reads a
// day partition directly; and it cannot switch the policy off.
func TestRowLevelSecurity(t *testing.T) {
	owner, app, st := filled(t, 30)
	adb, odb := sqlDB(t, app), sqlDB(t, owner)
	var super, bypass bool
	if err := adb.QueryRow(`SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user`).Scan(&super, &bypass); err != nil || super || bypass {
		t.Fatalf("application role is privileged: super=%v bypassrls=%v %v", super, bypass, err)
	}
	count := func(db *sql.DB, tenant, query string) (int, error) {
		tx, err := db.Begin()
		if err != nil {
			return 0, err
		}
		defer tx.Rollback()
		if tenant != "" {
			if _, err := tx.Exec(`SELECT set_config('kyojin.tenant', $1, true)`, tenant); err != nil {
				return 0, err
			}
		}
		var n int
		err = tx.QueryRow(query).Scan(&n)
		return n, err
	}
	cases := []struct {
		name, tenant, query string
		want                int
	}{
		{"owner sees all (superuser bypasses)", "", `SELECT count(*) FROM kyojin_events`, 60},
		{"no tenant set: nothing", "", `SELECT count(*) FROM kyojin_events`, 0},
		{"tenant a: only a", "city-a", `SELECT count(*) FROM kyojin_events`, 30},
		{"tenant a asking for b", "city-a", `SELECT count(*) FROM kyojin_events WHERE tenant = 'city-b'`, 0},
		{"unknown tenant", "city-z", `SELECT count(*) FROM kyojin_events`, 0},
	}
	for i, c := range cases {
		db := adb
		if i == 0 {
			db = odb
		}
		if n, err := count(db, c.tenant, c.query); err != nil || n != c.want {
			t.Errorf("%s: %d (%v), want %d", c.name, n, err, c.want)
		}
	}
	// direct access to a partition: no privilege for the application role
	if _, err := count(adb, "city-a", `SELECT count(*) FROM kyojin_events_20261120`); err == nil || !strings.Contains(err.Error(), "permission denied") {
		t.Errorf("direct partition read: %v", err)
	}
	// partitions carry the policy themselves, forced
	var forced bool
	if err := odb.QueryRow(`SELECT relforcerowsecurity FROM pg_class WHERE relname = 'kyojin_events_20261120'`).Scan(&forced); err != nil || !forced {
		t.Errorf("partition without forced row security: %v %v", forced, err)
	}
	// writing another tenant's row with the setting of a: refused
	tx, _ := adb.Begin()
	tx.Exec(`SELECT set_config('kyojin.tenant', 'city-a', true)`)
	_, err := tx.Exec(`INSERT INTO kyojin_events (tenant, time, received) VALUES ('city-b', '2026-11-20T12:00:00Z', now())`)
	tx.Rollback()
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("cross-tenant insert: %v", err)
	}
	// deleting the other tenant's rows: silently nothing
	tx, _ = adb.Begin()
	tx.Exec(`SELECT set_config('kyojin.tenant', 'city-a', true)`)
	res, err := tx.Exec(`DELETE FROM kyojin_events WHERE tenant = 'city-b'`)
	tx.Commit()
	if n, _ := res.RowsAffected(); err != nil || n != 0 {
		t.Errorf("cross-tenant delete: %d %v", n, err)
	}
	// the application role cannot disable the policy or drop the table
	for _, ddl := range []string{`ALTER TABLE kyojin_events DISABLE ROW LEVEL SECURITY`, `ALTER TABLE kyojin_events NO FORCE ROW LEVEL SECURITY`,
		`DROP POLICY kyojin_events_tenant ON kyojin_events`, `DROP TABLE kyojin_events_20261120`, `SET row_security = off; SELECT count(*) FROM kyojin_events`} {
		if _, err := adb.Exec(ddl); err == nil {
			t.Errorf("application role may run %q", ddl)
		}
	}
	// the store itself still sees b intact
	var n int
	st.Search(eventstore.Query{Tenant: "city-b"}, func(*event.Event) bool { n++; return true })
	if n != 30 {
		t.Errorf("city-b after attacks: %d, want 30", n)
	}
}

// TestPartitionsAndDrop: one partition per UTC day, created on demand;
// DropBefore removes whole days for every tenant.
func TestPartitionsAndDrop(t *testing.T) {
	owner, _, st := filled(t, 72)
	parts := func() []string {
		rows, err := sqlDB(t, owner).Query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
			WHERE i.inhparent = 'kyojin_events'::regclass ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	if got := strings.Join(parts(), " "); got != "kyojin_events_20261120 kyojin_events_20261121 kyojin_events_20261122 kyojin_events_20261123" {
		t.Fatalf("partitions: %s", got)
	}
	n, err := st.DropBefore(time.Date(2026, 11, 22, 5, 0, 0, 0, time.UTC))
	if err != nil || n != 2 {
		t.Fatalf("drop: %d %v", n, err)
	}
	for _, tenant := range []string{"city-a", "city-b"} {
		c := 0
		st.Search(eventstore.Query{Tenant: tenant}, func(*event.Event) bool { c++; return true })
		if c != 34 { // days 22 (24) and 23 (10)
			t.Errorf("%s after drop: %d, want 34", tenant, c)
		}
	}
	// a dropped day is recreated when events for it arrive again
	if err := st.Append(eventstoretest.Event("city-a", 0, "192.0.2.1")); err != nil {
		t.Fatal(err)
	}
	if got := len(parts()); got != 3 {
		t.Errorf("partitions after re-append: %d", got)
	}
}

func TestIsDSN(t *testing.T) {
	for in, want := range map[string]bool{"postgres://h/db": true, "postgresql://x": true, "/var/lib/kyojin/events": false, "store": false} {
		if got := pgevents.IsDSN(in); got != want {
			t.Errorf("IsDSN(%q) = %v", in, got)
		}
	}
}

// TestDefinerSearchPath: the SECURITY DEFINER functions run with a fixed
// search_path, so the application role cannot redirect them.
func TestDefinerSearchPath(t *testing.T) {
	owner, _ := setup(t, pgtest.Start(t))
	rows, err := sqlDB(t, owner).Query(`SELECT proname, array_to_string(proconfig, ',') FROM pg_proc WHERE proname LIKE 'kyojin_events_%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var name, cfg string
		rows.Scan(&name, &cfg)
		n++
		if cfg != "search_path=public, pg_temp" {
			t.Errorf("%s: %q", name, cfg)
		}
	}
	if n != 2 {
		t.Errorf("%d definer functions", n)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	owner, _ := setup(t, pgtest.Start(t))
	if _, err := sqlDB(t, owner).Exec(`INSERT INTO kyojin_events_schema (version, name) VALUES (99, 'future')`); err != nil {
		t.Fatal(err)
	}
	st, err := pgevents.Open(owner)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(context.Background()); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Errorf("newer schema: %v", err)
	}
}
