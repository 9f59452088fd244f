package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kyojin/kyojin/store"
)

// dumpAlerts adds every alert (with its events) and suppression to snap,
// read under the all-tenants scope.
func (s *DB) dumpAlerts(ctx context.Context, snap *store.Snapshot) error {
	q, done, err := s.reader(ctx, store.AllTenants)
	if err != nil {
		return err
	}
	defer done()
	rows, err := q.QueryContext(ctx, `SELECT `+alertCols+` FROM alerts ORDER BY id`)
	if err != nil {
		return s.wrap("dump alerts", err)
	}
	byID := map[int64]int{}
	for rows.Next() {
		a, _, err := scanAlert(rows)
		if err != nil {
			rows.Close()
			return s.wrap("dump alerts", err)
		}
		a.Events = []store.AlertEvent{}
		byID[a.ID] = len(snap.Alerts)
		snap.Alerts = append(snap.Alerts, *a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap("dump alerts", err)
	}
	rows, err = q.QueryContext(ctx, `SELECT alert_id, at, source, host, raw, ref FROM alert_events ORDER BY alert_id, seq`)
	if err != nil {
		return s.wrap("dump alert events", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, at int64
		var ev store.AlertEvent
		if err := rows.Scan(&id, &at, &ev.Source, &ev.Host, &ev.Raw, &ev.Ref); err != nil {
			return s.wrap("dump alert events", err)
		}
		ev.Time = fromTS(at)
		if i, ok := byID[id]; ok {
			snap.Alerts[i].Events = append(snap.Alerts[i].Events, ev)
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("dump alert events", err)
	}
	snap.Suppressions, err = s.suppressions(ctx, q, store.AllTenants, time.Time{})
	return err
}

// alertPartitions creates the partitions the snapshot's alerts need. It
// runs before the restore transaction: creating a partition locks the
// parent table, which that transaction holds.
func (s *DB) alertPartitions(ctx context.Context, snap *store.Snapshot) error {
	if s.d.EnsureAlertPartition == nil {
		return nil
	}
	for _, a := range snap.Alerts {
		if err := s.d.EnsureAlertPartition(ctx, s.db, a.FirstSeen); err != nil {
			return s.wrap("alert partition", err)
		}
	}
	return nil
}

// restoreAlerts writes the snapshot's alerts and suppressions inside the
// restore transaction, keeping their ids.
func (s *DB) restoreAlerts(ctx context.Context, tx *sql.Tx, snap *store.Snapshot) error {
	if s.d.ScopeTx != nil {
		if err := s.d.ScopeTx(ctx, tx, "*"); err != nil {
			return s.wrap("restore alerts scope", err)
		}
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM alerts`).Scan(&n); err != nil {
		return s.wrap("count alerts", err)
	}
	if n > 0 {
		return fmt.Errorf("restore: table alerts has %d rows: %w", n, store.ErrNotEmpty)
	}
	var maxAlert, maxSup int64
	for i := range snap.Alerts {
		a := snap.Alerts[i]
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO alerts (`+alertCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			a.ID, a.Tenant, a.Rule, a.Title, a.Level, a.Credit, a.Source, a.Host, a.SrcIP, a.DstIP, a.DedupKey, ts(a.FirstSeen), ts(a.LastSeen),
			a.Count, a.Status, a.Assignee, len(a.Events), mustJSON(a.Notes), ts(a.UpdatedAt)); err != nil {
			return s.wrap("restore alert", err)
		}
		for j, ev := range a.Events {
			if _, err := tx.ExecContext(ctx, s.q(insertAlertEventSQL), a.ID, a.Tenant, ts(a.FirstSeen), j, ts(ev.Time), ev.Source, ev.Host, ev.Raw, ev.Ref); err != nil {
				return s.wrap("restore alert event", err)
			}
		}
		maxAlert = max(maxAlert, a.ID)
	}
	for _, sp := range snap.Suppressions {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO alert_suppressions (id, tenant, rule, host, src_ip, until_at, reason, who, created_at, hits, last_hit)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), sp.ID, sp.Tenant, sp.Rule, sp.Host, sp.SrcIP, ts(sp.Until), sp.Reason, sp.Who, ts(sp.CreatedAt), sp.Hits, ts(sp.LastHit)); err != nil {
			return s.wrap("restore suppression", err)
		}
		maxSup = max(maxSup, sp.ID)
	}
	if s.d.Numbered {
		// PostgreSQL sequences do not follow explicit ids.
		for _, q := range []struct {
			sql string
			v   int64
		}{{`SELECT setval('alerts_id_seq', $1)`, maxAlert}, {`SELECT setval(pg_get_serial_sequence('alert_suppressions', 'id'), $1)`, maxSup}} {
			if q.v == 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, q.sql, q.v); err != nil {
				return s.wrap("restore alert sequences", err)
			}
		}
	}
	return nil
}
