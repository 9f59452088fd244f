package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/storetest"
)

// TestAlertPartitionsDropped: alert retention past every tenant's period
// drops whole day partitions (space freed without VACUUM), but keeps the
// day of an alert seen since the cut.
func TestAlertPartitionsDropped(t *testing.T) {
	dsn := pgtest.Start(t).NewDB(t)
	s := storetest.Migrated(t, func() (store.Store, error) { return postgres.Open(dsn) })
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	if _, err := s.RecordAlerts(ctx, []store.Alert{storetest.Hit("city-a", "r", "k", t0), storetest.Hit("city-b", "r", "k", t0.Add(day)),
		storetest.Hit("city-a", "r", "k", t0.Add(2*day))}, time.Hour, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RecordAlerts(ctx, []store.Alert{storetest.Hit("city-b", "r", "k", t0.Add(5*day))}, 5*day, t0); err != nil { // city-b's alert of day 1 seen on day 6
		t.Fatal(err)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	partitions := func() map[string]bool {
		rows, err := db.Query(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE 'alert%\_p2026%'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]bool{}
		for rows.Next() {
			var n string
			rows.Scan(&n)
			out[n] = true
		}
		return out
	}
	if p := partitions(); len(p) != 8 {
		t.Fatalf("partitions before: %v", p)
	}
	n, err := s.DropAlertsBefore(ctx, t0.Add(4*day))
	if err != nil || n != 2 {
		t.Fatalf("DropAlertsBefore = %d, %v", n, err)
	}
	p := partitions()
	if p["alerts_p20261001"] || p["alert_events_p20261001"] || p["alerts_p20261003"] || !p["alerts_p20261002"] || !p["alert_events_p20261002"] {
		t.Errorf("partitions after: %v", p)
	}
}
