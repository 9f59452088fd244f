package cli

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/sqlite"
)

// storeFlags are the flags of every command that opens kyojin's state.
type storeFlags struct {
	data string // data directory (SQLite file, keys, certificate)
	db   string // postgres://… overrides the SQLite file
}

func defaultDataDir() string {
	if d := os.Getenv("KYOJIN_DATA"); d != "" {
		return d
	}
	return "kyojin-data"
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", defaultDataDir(), "データディレクトリ（SQLite データベース、鍵、証明書）。環境変数 KYOJIN_DATA")
	fs.StringVar(&f.db, "db", os.Getenv("KYOJIN_DB"), "PostgreSQL の接続先 postgres://…（省略時はデータディレクトリの SQLite）。環境変数 KYOJIN_DB")
}

// open opens the store without migrating it.
func (f *storeFlags) open() (store.Store, error) {
	if f.db != "" {
		if !postgres.IsDSN(f.db) {
			return nil, usageError("--db must be a postgres:// URL")
		}
		return postgres.Open(f.db)
	}
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	return sqlite.Open(filepath.Join(f.data, "kyojin.db"))
}

// openMigrated opens the store and brings its schema up to date.
func (f *storeFlags) openMigrated(ctx context.Context) (store.Store, error) {
	s, err := f.open()
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}
