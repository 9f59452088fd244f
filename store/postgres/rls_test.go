package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/storetest"
)

// asRole rewrites a pgtest DSN to log in as role.
func asRole(t *testing.T, dsn, role string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// TestAlertsRowLevelSecurity runs the store as a real non-superuser role
// (superusers bypass row-level security) that owns the schema, as a
// production deployment does, and proves that the policy filters rows by
// the transaction's tenant scope — also for the owner (FORCE), also for
// writes — and that alerts land in one partition per day.
func TestAlertsRowLevelSecurity(t *testing.T) {
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	u, _ := url.Parse(dsn)
	dbName := strings.TrimPrefix(u.Path, "/")
	for _, q := range []string{`CREATE ROLE kyojin_app LOGIN NOSUPERUSER NOBYPASSRLS`, `ALTER DATABASE ` + dbName + ` OWNER TO kyojin_app`,
		`CREATE ROLE kyojin_reader LOGIN NOSUPERUSER NOBYPASSRLS`} {
		if _, err := admin.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s, err := postgres.Open(asRole(t, dsn, "kyojin_app"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d1 := time.Date(2026, 11, 21, 23, 0, 0, 0, time.UTC)
	d2 := d1.Add(2 * time.Hour)
	if _, err := s.RecordAlerts(ctx, []store.Alert{storetest.Hit("town-a", "r", "k", d1), storetest.Hit("town-b", "r", "k", d1),
		storetest.Hit("town-a", "r", "k2", d2), storetest.Hit("town-b", "r", "k2", d2)}, time.Minute, d2); err != nil {
		t.Fatal(err)
	}
	var parts []string
	rows, err := admin.QueryContext(ctx, `SELECT relid::text FROM pg_partition_tree('alerts') WHERE isleaf ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p string
		rows.Scan(&p)
		parts = append(parts, p)
	}
	rows.Close()
	if strings.Join(parts, ",") != "alerts_p20261121,alerts_p20261122" {
		t.Errorf("partitions = %v", parts)
	}
	if _, err := admin.ExecContext(ctx, `GRANT SELECT ON alerts, alert_events, alert_suppressions TO kyojin_reader`); err != nil {
		t.Fatal(err)
	}
	count := func(db *sql.DB, scope string, table ...string) int {
		t.Helper()
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if scope != "-" {
			if _, err := tx.ExecContext(ctx, `SELECT set_config('kyojin.tenants', $1, true)`, scope); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		tbl := "alerts"
		if len(table) > 0 {
			tbl = table[0]
		}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+tbl).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	reader, err := sql.Open("pgx", asRole(t, dsn, "kyojin_reader"))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	for _, db := range []struct {
		name string
		db   *sql.DB
	}{{"owner (FORCE)", s.SQL()}, {"reader", reader}} {
		for scope, want := range map[string]int{"-": 0, "": 0, "town-a": 2, "town-b": 2, "town-a,town-b": 4, "*": 4, "town-c": 0} {
			for _, tbl := range []string{"alerts", "alert_events"} { // one event per alert
				if got := count(db.db, scope, tbl); got != want {
					t.Errorf("%s with kyojin.tenants=%q sees %d rows of %s, want %d", db.name, scope, got, tbl, want)
				}
			}
		}
	}
	// The superuser bypasses RLS: the rows are really there.
	if got := count(admin, "-"); got != 4 {
		t.Errorf("superuser sees %d rows", got)
	}
	// Writes: a transaction scoped to town-a cannot insert or move rows
	// into town-b (WITH CHECK).
	tx, err := s.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	tx.ExecContext(ctx, `SELECT set_config('kyojin.tenants', 'town-a', true)`)
	_, err = tx.ExecContext(ctx, `UPDATE alerts SET tenant='town-b' WHERE tenant='town-a'`)
	tx.Rollback()
	if err == nil || !strings.Contains(err.Error(), "row-level security") {
		t.Errorf("moving a row to another tenant: %v", err)
	}
	// The store's own scoped reads agree.
	if _, n, err := s.ListAlerts(ctx, store.AlertFilter{Tenants: store.OneTenant("town-b")}); err != nil || n != 2 {
		t.Errorf("ListAlerts town-b as kyojin_app: %d %v", n, err)
	}
}
