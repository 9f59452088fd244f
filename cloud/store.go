package cloud

import (
	"context"
	"fmt"
	"time"

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
