package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/kyojin/kyojin/store"
)

// Dump reads every durable record. Sessions and login attempts are
// deliberately left out: they are short-lived and restoring them would
// resurrect logins.
func (s *DB) Dump(ctx context.Context) (*store.Snapshot, error) {
	snap := &store.Snapshot{Format: store.SnapshotFormat, CreatedAt: time.Now().UTC(), Settings: map[string]string{}}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range st {
		if m.Applied && m.Version > snap.Schema {
			snap.Schema = m.Version
		}
	}
	if snap.Users, err = s.ListUsers(ctx); err != nil {
		return nil, err
	}
	if snap.Grants, err = s.grants(ctx, `SELECT user_id, role, scope FROM grants ORDER BY user_id, role, scope`); err != nil {
		return nil, err
	}
	for _, u := range snap.Users {
		t, err := s.TOTP(ctx, u.ID)
		if err == nil {
			snap.TOTP = append(snap.TOTP, *t)
		} else if err != store.ErrNotFound {
			return nil, err
		}
		creds, err := s.WebAuthnCredentials(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		snap.WebAuthn = append(snap.WebAuthn, creds...)
	}
	if snap.Audit, err = s.AuditEntries(ctx, store.AuditFilter{}); err != nil {
		return nil, err
	}
	transfers, err := s.ListTransfers(ctx, 1<<31-1)
	if err != nil {
		return nil, err
	}
	for _, t := range transfers {
		files, err := s.TransferFiles(ctx, t.ID)
		if err != nil {
			return nil, err
		}
		snap.Transfers = append(snap.Transfers, store.TransferRecord{Transfer: t, Files: files})
	}
	if err := s.dumpAlerts(ctx, snap); err != nil {
		return nil, err
	}
	if snap.Incidents, err = s.dumpIncidents(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT k, v FROM settings ORDER BY k`)
	if err != nil {
		return nil, s.wrap("settings", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, s.wrap("scan setting", err)
		}
		snap.Settings[k] = v
	}
	return snap, s.wrap("settings", rows.Err())
}

// Restore writes a snapshot into an empty store in one transaction, keeping
// user ids so that grants, credentials and the audit log stay consistent.
func (s *DB) Restore(ctx context.Context, snap *store.Snapshot) error {
	if snap.Format != store.SnapshotFormat {
		return fmt.Errorf("restore: unknown backup format %q (want %s)", snap.Format, store.SnapshotFormat)
	}
	st, err := s.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	known := 0
	for _, m := range st {
		known = max(known, m.Version)
	}
	if snap.Schema > known {
		return fmt.Errorf("restore: backup has schema %d, this kyojin knows %d: upgrade kyojin first", snap.Schema, known)
	}
	var n int
	for _, t := range []string{"users", "audit_log", "settings", "transfers", "incidents"} {
		if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return s.wrap("count "+t, err)
		}
		if n > 0 {
			return fmt.Errorf("restore: table %s has %d rows: %w", t, n, store.ErrNotEmpty)
		}
	}
	if err := s.alertPartitions(ctx, snap); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("begin restore", err)
	}
	defer tx.Rollback()
	exec := func(what, q string, args ...any) error {
		if _, err := tx.ExecContext(ctx, s.q(q), args...); err != nil {
			return s.wrap("restore "+what, err)
		}
		return nil
	}
	var maxID int64
	for _, u := range snap.Users {
		if err := exec("user", `INSERT INTO users (id, `+userCols[4:]+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Name, u.DisplayName, u.PasswordHash, b2i(u.Disabled), u.FailedLogins, ts(u.LockedUntil), ts(u.CreatedAt), ts(u.UpdatedAt), b2i(u.MustChangePassword)); err != nil {
			return err
		}
		maxID = max(maxID, u.ID)
	}
	for _, g := range snap.Grants {
		if err := exec("grant", `INSERT INTO grants (user_id, role, scope) VALUES (?, ?, ?)`, g.UserID, g.Role, g.Scope); err != nil {
			return err
		}
	}
	for _, t := range snap.TOTP {
		if err := exec("totp", `INSERT INTO totp (user_id, sealed, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, ?)`,
			t.UserID, t.Sealed, b2i(t.Confirmed), t.LastStep, ts(t.CreatedAt)); err != nil {
			return err
		}
	}
	for _, c := range snap.WebAuthn {
		if err := exec("webauthn", `INSERT INTO webauthn (id, user_id, name, data, created_at) VALUES (?, ?, ?, ?, ?)`,
			c.ID, c.UserID, c.Name, c.Data, ts(c.CreatedAt)); err != nil {
			return err
		}
	}
	for _, e := range snap.Audit {
		if err := exec("audit entry", `INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, ts(e.Time), e.Actor, e.Action, e.Target, e.Details, e.PrevHash, e.Hash); err != nil {
			return err
		}
	}
	for k, v := range snap.Settings {
		if err := exec("setting", `INSERT INTO settings (k, v) VALUES (?, ?)`, k, v); err != nil {
			return err
		}
	}
	for _, tr := range snap.Transfers {
		if err := s.insertTransfer(ctx, tx, &tr.Transfer, tr.Files); err != nil {
			return err
		}
	}
	if err := s.restoreAlerts(ctx, tx, snap); err != nil {
		return err
	}
	for i := range snap.Incidents {
		if err := s.restoreIncident(ctx, tx, &snap.Incidents[i]); err != nil {
			return err
		}
	}
	if s.d.Numbered && maxID > 0 {
		// PostgreSQL identity sequences do not follow explicit ids.
		if _, err := tx.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), $1)`, maxID); err != nil {
			return s.wrap("restore user id sequence", err)
		}
	}
	return s.wrap("commit restore", tx.Commit())
}
