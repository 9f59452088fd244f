package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/kyojin/kyojin/store"
)

// RetainAlerts implements store.AlertStore: per-tenant retention of
// alerts, in one transaction scoped to the tenant.
func (s *DB) RetainAlerts(ctx context.Context, tenant string, keepFrom time.Time) (int64, error) {
	if !tenantIDRE.MatchString(tenant) {
		return 0, fmt.Errorf("retain alerts of %q: %w", tenant, store.ErrInvalid)
	}
	return s.deleteAlerts(ctx, store.OneTenant(tenant), "tenant=? AND ", []any{tenant}, keepFrom)
}

// DropAlertsBefore implements store.AlertStore: whole partitions where the
// engine has them, then rows.
func (s *DB) DropAlertsBefore(ctx context.Context, cut time.Time) (int64, error) {
	var dropped int64
	if s.d.DropAlertPartitions != nil {
		n, err := s.d.DropAlertPartitions(ctx, s.db, cut)
		if err != nil {
			return 0, s.wrap("drop alert partitions", err)
		}
		dropped = n
	}
	n, err := s.deleteAlerts(ctx, store.AllTenants, "", nil, cut)
	return dropped + n, err
}

// deleteAlerts deletes the alerts matching cond (a prefix ending in AND)
// last seen before cut, and their events.
func (s *DB) deleteAlerts(ctx context.Context, within store.Tenants, cond string, args []any, cut time.Time) (int64, error) {
	tx, err := s.scopedTx(ctx, within)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	a := append(append([]any{}, args...), ts(cut))
	// Events first: they are found through their alert.
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM alert_events WHERE alert_id IN (SELECT id FROM alerts WHERE `+cond+`last_seen < ?)`), a...); err != nil {
		return 0, s.wrap("delete alert events", err)
	}
	res, err := tx.ExecContext(ctx, s.q(`DELETE FROM alerts WHERE `+cond+`last_seen < ?`), a...)
	if err != nil {
		return 0, s.wrap("delete alerts", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.wrap("delete alerts", err)
	}
	return n, s.wrap("commit alert retention", tx.Commit())
}
