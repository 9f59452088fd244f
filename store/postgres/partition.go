package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"
)

// partitionLockKey serialises partition creation across connections and
// processes ("kyop").
const partitionLockKey = 0x6b796f70

// partitions remembers the alert partitions known to exist, per database
// handle, so the hot path issues DDL once per day at most.
type partitions struct {
	mu   sync.Mutex
	days map[string]bool
}

// ensure creates alerts_pYYYYMMDD and alert_events_pYYYYMMDD for the UTC
// day of t when missing. The bounds are Unix microseconds, the unit of
// first_seen; dropping a day (retention) is dropping its two partitions.
func (p *partitions) ensure(ctx context.Context, db *sql.DB, t time.Time) error {
	day := t.UTC().Truncate(24 * time.Hour)
	name := day.Format("20060102")
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.days[name] {
		return nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, partitionLockKey); err != nil {
		return err
	}
	// names and bounds are generated here, never from input.
	for _, parent := range []string{"alerts", "alert_events"} {
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s_p%s PARTITION OF %s FOR VALUES FROM (%d) TO (%d)`,
			parent, name, parent, day.UnixMicro(), day.Add(24*time.Hour).UnixMicro())); err != nil {
			return fmt.Errorf("create partition %s_p%s: %w", parent, name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	p.days[name] = true
	return nil
}

// scopeTx sets the row-level security scope for the transaction only
// (set_config(..., true) is SET LOCAL), so a pooled connection never
// carries one request's scope into the next.
func scopeTx(ctx context.Context, tx *sql.Tx, tenants string) error {
	_, err := tx.ExecContext(ctx, `SELECT set_config('kyojin.tenants', $1, true)`, tenants)
	return err
}
