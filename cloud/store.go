package cloud

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/eventstore/pgevents"
)

// EventStore is where intake puts events and where searches read them: the
// embedded segment store (eventstore, the default) or PostgreSQL
// (eventstore/pgevents, `store: postgres://…`). Both pass the conformance
// suite eventstore/eventstoretest.
type EventStore interface {
	Append(evs ...*event.Event) error
	// Flush makes appended events durable and searchable.
	Flush() error
	Search(q eventstore.Query, fn func(*event.Event) bool) error
	// Retain deletes tenant's days before keepFrom's day.
	Retain(tenant string, keepFrom time.Time) (int, error)
	Close() error
}

// dayDropper is a store that can also drop whole days of every tenant at
// once (PostgreSQL partitions).
type dayDropper interface {
	DropBefore(cut time.Time) (int, error)
}

// OpenStore opens the configured event store, migrating the PostgreSQL
// schema if it is behind (a current schema needs no DDL rights).
func (c *Config) OpenStore() (EventStore, error) {
	if !pgevents.IsDSN(c.Store) {
		return eventstore.Open(c.Store)
	}
	st, err := pgevents.Open(c.Store)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, fmt.Errorf("cloud: event store schema: %w", err)
	}
	return st, nil
}

// checkScale reads the scale-out settings: a store given as "env:NAME"
// (a PostgreSQL DSN may carry a password: keep it out of the file), the
// alerts file when the store is no directory, and the bus.
func (c *Config) checkScale(base string, diags *diag.List) {
	c.base = base
	if s, err := ResolveStore(c.Store); err != nil {
		diags.Add(cfgErr(&c.Meta, "", "store", "store", "環境変数が空です: "+strings.TrimPrefix(c.Store, "env:"), err.Error()))
	} else {
		c.Store = s
	}
	if pgevents.IsDSN(c.Store) && c.Alerts == "" && c.DB == "" {
		c.Alerts = filepath.Join(base, "alerts.jsonl") // not inside a DSN (FileDir)
	}
	c.checkBus(base, diags)
}

// FileDir is where the cloud keeps its own files (alerts, spills, counters):
// the store directory, or the configuration's directory when the events are
// in PostgreSQL.
func (c *Config) FileDir() string {
	if pgevents.IsDSN(c.Store) {
		return c.base
	}
	return c.Store
}

// UnstoredAlertsPath is the JSON-lines file of alerts the console's store
// could not take (in FileDir: never inside a DSN).
func (c *Config) UnstoredAlertsPath() string {
	return filepath.Join(c.FileDir(), "alerts-unstored.jsonl")
}

// OperationsDir holds the model rules' operations evidence (operations.go).
func (c *Config) OperationsDir() string { return filepath.Join(c.FileDir(), "operations") }

// ResolveStore reads a store given as "env:NAME" (a PostgreSQL DSN may
// carry a password: keep it out of configuration files); anything else is
// returned as it is.
func ResolveStore(s string) (string, error) {
	name, ok := strings.CutPrefix(s, "env:")
	if !ok {
		return s, nil
	}
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	return "", fmt.Errorf("environment variable is empty: %s", name)
}
