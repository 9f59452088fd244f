package postgres_test

import (
	"testing"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/sqlite"
	"github.com/kyojin/kyojin/store/storetest"
)

func TestConformance(t *testing.T) {
	srv := pgtest.Start(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return storetest.Migrated(t, func() (store.Store, error) { return postgres.Open(srv.NewDB(t)) })
	})
}

// The two engines must agree on the schema history, or a backup taken on
// one could not be restored on the other.
func TestMigrationsMirrorSQLite(t *testing.T) {
	if len(postgres.Migrations) != len(sqlite.Migrations) {
		t.Fatalf("postgres has %d migrations, sqlite %d", len(postgres.Migrations), len(sqlite.Migrations))
	}
	for i := range postgres.Migrations {
		p, s := postgres.Migrations[i], sqlite.Migrations[i]
		if p.Version != s.Version || p.Name != s.Name {
			t.Errorf("migration %d: postgres %d %q, sqlite %d %q", i, p.Version, p.Name, s.Version, s.Name)
		}
	}
}

func TestIsDSN(t *testing.T) {
	for in, want := range map[string]bool{"postgres://h/db": true, "postgresql://x": true, "/var/lib/kyojin/kyojin.db": false, "": false} {
		if got := postgres.IsDSN(in); got != want {
			t.Errorf("IsDSN(%q) = %v", in, got)
		}
	}
}
