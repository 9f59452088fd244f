package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/sqlite"
	"github.com/kyojin/kyojin/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return storetest.Migrated(t, func() (store.Store, error) { return sqlite.Open(filepath.Join(t.TempDir(), "kyojin.db")) })
	})
}

func TestStatusBeforeMigrate(t *testing.T) {
	s, err := sqlite.Open(filepath.Join(t.TempDir(), "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	st, err := s.MigrationStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != len(sqlite.Migrations) || st[0].Applied {
		t.Errorf("fresh database status = %+v", st)
	}
}
