package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
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

// partitionName is an alerts day partition (alerts_pYYYYMMDD).
var partitionName = regexp.MustCompile(`^alerts_p([0-9]{8})$`)

// drop drops the day partitions of alerts and alert_events wholly before
// cut's UTC day whose alerts were all last seen before cut (an alert first
// seen on that day and merged into since stays, with its day), and returns
// how many alerts went. Retention then deletes the remaining old rows.
func (p *partitions) drop(ctx context.Context, db *sql.DB, cut time.Time) (int64, error) {
	cutDay := cut.UTC().Truncate(24 * time.Hour)
	rows, err := db.QueryContext(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'alerts'::regclass`)
	if err != nil {
		return 0, err
	}
	var days []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, err
		}
		if m := partitionName.FindStringSubmatch(name); m != nil {
			if d, err := time.Parse("20060102", m[1]); err == nil && !d.Add(24*time.Hour).After(cutDay) {
				days = append(days, m[1])
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var total int64
	for _, day := range days {
		n, err := dropDay(ctx, db, day, cut)
		if err != nil {
			return total, fmt.Errorf("drop alerts_p%s: %w", day, err)
		}
		total += n
		delete(p.days, day) // a late alert of that day creates it again
	}
	return total, nil
}

// dropDay drops one day's partitions when none of its alerts was seen
// since cut; day comes from the catalogue and matched partitionName.
func dropDay(ctx context.Context, db *sql.DB, day string, cut time.Time) (int64, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, partitionLockKey); err != nil {
		return 0, err
	}
	if err := scopeTx(ctx, tx, "*"); err != nil {
		return 0, err
	}
	// The lock keeps writers from adding rows while we decide (DROP takes
	// it too, but only after the check).
	if _, err := tx.ExecContext(ctx, `LOCK TABLE alerts_p`+day+`, alert_events_p`+day+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		return 0, err
	}
	var n, recent int64
	if err := tx.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE last_seen >= $1) FROM alerts_p`+day, cut.UnixMicro()).Scan(&n, &recent); err != nil {
		return 0, err
	}
	if recent > 0 {
		return 0, nil
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE alert_events_p`+day+`, alerts_p`+day); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}
