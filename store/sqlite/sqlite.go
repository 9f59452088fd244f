// Package sqlite is the default console store: one SQLite file in the data
// directory, through the pure-Go driver modernc.org/sqlite (no cgo).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"github.com/kyojin/kyojin/store/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Migrations are the schema versions, oldest first.
var Migrations = sqlstore.Migrations(sqlstore.Types{Serial: "INTEGER PRIMARY KEY AUTOINCREMENT", Ref: "INTEGER", Blob: "BLOB", Engine: "sqlite"})

// Open opens (creating if needed) the database file at path. Call Migrate
// before use.
func Open(path string) (*sqlstore.DB, error) {
	// WAL lets readers proceed during a write; busy_timeout waits for the
	// writer instead of failing; foreign keys are off by default in SQLite.
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// One writer at a time is what SQLite allows anyway; a single
	// connection also makes the audit append trivially serial.
	db.SetMaxOpenConns(1)
	if err := db.PingContext(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	return sqlstore.New(db, sqlstore.Dialect{
		Name:       "sqlite",
		Migrations: Migrations,
		IsConflict: func(err error) bool {
			var se *sqlite.Error
			if errors.As(err, &se) {
				c := se.Code()
				return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
			}
			return false
		},
	}), nil
}
