// Package sqlstore implements store.Store over database/sql. The SQLite and
// PostgreSQL stores differ only in their driver, their migrations, how they
// rewrite placeholders and how they serialise audit appends; everything else
// is this one implementation, so both behave the same way.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/store"
)

// Dialect is what differs between database engines.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2, ...) instead of "?".
	Numbered bool
	// Migrations in version order.
	Migrations []store.Migration
	// LockAudit runs inside the append transaction before the last entry is
	// read, so that concurrent appends are serialised.
	LockAudit func(ctx context.Context, tx *sql.Tx) error
	// IsConflict tells whether err is a unique-constraint violation.
	IsConflict func(err error) bool
	// BeginAudit starts the append transaction (SQLite needs BEGIN IMMEDIATE).
	BeginAudit func(ctx context.Context, db *sql.DB) (*sql.Tx, error)
	// ScopeTx limits a transaction to a tenant scope ("*", a
	// comma-separated id list, or "" for none) for row-level security; nil
	// where the engine has none (the queries filter by tenant anyway).
	ScopeTx func(ctx context.Context, tx *sql.Tx, tenants string) error
	// EnsureAlertPartition creates the alerts partition holding t (nil
	// where the table is not partitioned).
	EnsureAlertPartition func(ctx context.Context, db *sql.DB, t time.Time) error
	// DropAlertPartitions drops the alerts partitions of days before cut
	// whose alerts were all last seen before cut, and returns how many
	// alerts they held (nil where the table is not partitioned).
	DropAlertPartitions func(ctx context.Context, db *sql.DB, cut time.Time) (int64, error)
}

// DB is a store.Store over a database/sql handle.
type DB struct {
	db *sql.DB
	d  Dialect
}

// New wraps db. The caller has opened it with the dialect's driver.
func New(db *sql.DB, d Dialect) *DB { return &DB{db: db, d: d} }

// SQL returns the underlying handle (tests use it to tamper with rows).
func (s *DB) SQL() *sql.DB { return s.db }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// q rewrites "?" placeholders for the dialect.
func (s *DB) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Times are stored as Unix microseconds: portable and ordered in both engines.
func ts(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromTS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if s.d.IsConflict != nil && s.d.IsConflict(err) {
		return fmt.Errorf("%s: %w", op, store.ErrConflict)
	}
	return fmt.Errorf("%s (%s): %w", op, s.d.Name, err)
}

// Migrate applies every migration not yet applied, each in its own
// transaction.
func (s *DB) Migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return s.wrap("create schema_migrations", err)
	}
	applied, err := s.applied(ctx)
	if err != nil {
		return err
	}
	for _, m := range s.d.Migrations {
		if _, ok := applied[m.Version]; ok {
			continue
		}
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return s.wrap("begin migration", err)
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			tx.Rollback()
			return s.wrap(fmt.Sprintf("migration %d %s", m.Version, m.Name), err)
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`),
			m.Version, m.Name, ts(time.Now())); err != nil {
			tx.Rollback()
			return s.wrap("record migration", err)
		}
		if err := tx.Commit(); err != nil {
			return s.wrap("commit migration", err)
		}
	}
	return nil
}

func (s *DB) applied(ctx context.Context) (map[int]int64, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT version, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, s.wrap("read schema_migrations", err)
	}
	defer rows.Close()
	out := map[int]int64{}
	for rows.Next() {
		var v int
		var at int64
		if err := rows.Scan(&v, &at); err != nil {
			return nil, s.wrap("scan schema_migrations", err)
		}
		out[v] = at
	}
	return out, s.wrap("read schema_migrations", rows.Err())
}

// MigrationStatus lists every known migration and whether it ran.
func (s *DB) MigrationStatus(ctx context.Context) ([]store.MigrationStatus, error) {
	applied := map[int]int64{}
	var exists bool
	// A fresh database has no schema_migrations table yet: everything is pending.
	if _, err := s.db.ExecContext(ctx, `SELECT 1 FROM schema_migrations WHERE 1=0`); err == nil {
		exists = true
	}
	if exists {
		var err error
		if applied, err = s.applied(ctx); err != nil {
			return nil, err
		}
	}
	out := make([]store.MigrationStatus, 0, len(s.d.Migrations))
	for _, m := range s.d.Migrations {
		at, ok := applied[m.Version]
		out = append(out, store.MigrationStatus{Version: m.Version, Name: m.Name, Applied: ok, AppliedAt: fromTS(at)})
	}
	return out, nil
}

const userCols = `id, name, display_name, password_hash, disabled, failed_logins, locked_until, created_at, updated_at, must_change_password`

func scanUser(sc interface{ Scan(...any) error }) (*store.User, error) {
	var u store.User
	var dis, must int
	var locked, created, updated int64
	if err := sc.Scan(&u.ID, &u.Name, &u.DisplayName, &u.PasswordHash, &dis, &u.FailedLogins, &locked, &created, &updated, &must); err != nil {
		return nil, err
	}
	u.Disabled, u.MustChangePassword = dis != 0, must != 0
	u.LockedUntil, u.CreatedAt, u.UpdatedAt = fromTS(locked), fromTS(created), fromTS(updated)
	return &u, nil
}

// CreateUser inserts u and sets its ID and timestamps.
func (s *DB) CreateUser(ctx context.Context, u *store.User) error {
	if u.Name == "" {
		return fmt.Errorf("create user: empty name")
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.UpdatedAt = now
	err := s.db.QueryRowContext(ctx, s.q(`INSERT INTO users (`+userCols[4:]+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		u.Name, u.DisplayName, u.PasswordHash, b2i(u.Disabled), u.FailedLogins, ts(u.LockedUntil), ts(u.CreatedAt), ts(u.UpdatedAt), b2i(u.MustChangePassword)).Scan(&u.ID)
	return s.wrap("create user "+u.Name, err)
}

// UpdateUser writes every mutable field of u.
func (s *DB) UpdateUser(ctx context.Context, u *store.User) error {
	u.UpdatedAt = time.Now().UTC().Truncate(time.Microsecond)
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE users SET display_name=?, password_hash=?, disabled=?, failed_logins=?, locked_until=?, updated_at=?, must_change_password=? WHERE id=?`),
		u.DisplayName, u.PasswordHash, b2i(u.Disabled), u.FailedLogins, ts(u.LockedUntil), ts(u.UpdatedAt), b2i(u.MustChangePassword), u.ID)
	if err != nil {
		return s.wrap("update user", err)
	}
	return affected(res)
}

func affected(res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// UserByID looks a user up by id.
func (s *DB) UserByID(ctx context.Context, id int64) (*store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE id=?`), id))
	return u, s.wrap("user by id", err)
}

// UserByName looks a user up by login name.
func (s *DB) UserByName(ctx context.Context, name string) (*store.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.q(`SELECT `+userCols+` FROM users WHERE name=?`), name))
	return u, s.wrap("user by name", err)
}

// ListUsers returns all users ordered by name.
func (s *DB) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, s.wrap("list users", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.wrap("scan user", err)
		}
		out = append(out, *u)
	}
	return out, s.wrap("list users", rows.Err())
}

// SetGrants replaces the user's grants.
func (s *DB) SetGrants(ctx context.Context, userID int64, grants []store.Grant) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("begin", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM grants WHERE user_id=?`), userID); err != nil {
		return s.wrap("delete grants", err)
	}
	for _, g := range grants {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO grants (user_id, role, scope) VALUES (?, ?, ?)`), userID, g.Role, g.Scope); err != nil {
			return s.wrap("insert grant", err)
		}
	}
	return s.wrap("commit grants", tx.Commit())
}

// Grants returns the user's grants ordered by role and scope.
func (s *DB) Grants(ctx context.Context, userID int64) ([]store.Grant, error) {
	return s.grants(ctx, s.q(`SELECT user_id, role, scope FROM grants WHERE user_id=? ORDER BY role, scope`), userID)
}

func (s *DB) grants(ctx context.Context, query string, args ...any) ([]store.Grant, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap("grants", err)
	}
	defer rows.Close()
	var out []store.Grant
	for rows.Next() {
		var g store.Grant
		if err := rows.Scan(&g.UserID, &g.Role, &g.Scope); err != nil {
			return nil, s.wrap("scan grant", err)
		}
		out = append(out, g)
	}
	return out, s.wrap("grants", rows.Err())
}

// CreateSession inserts a session.
func (s *DB) CreateSession(ctx context.Context, se *store.Session) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO sessions (id, user_id, state, csrf, pending, created_at, seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		se.ID, se.UserID, se.State, se.CSRF, se.Pending, ts(se.CreatedAt), ts(se.SeenAt), ts(se.ExpiresAt))
	return s.wrap("create session", err)
}

// Session looks a session up by id (the token hash).
func (s *DB) Session(ctx context.Context, id string) (*store.Session, error) {
	var se store.Session
	var c, seen, exp int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT id, user_id, state, csrf, pending, created_at, seen_at, expires_at FROM sessions WHERE id=?`), id).
		Scan(&se.ID, &se.UserID, &se.State, &se.CSRF, &se.Pending, &c, &seen, &exp)
	if err != nil {
		return nil, s.wrap("session", err)
	}
	se.CreatedAt, se.SeenAt, se.ExpiresAt = fromTS(c), fromTS(seen), fromTS(exp)
	return &se, nil
}

// UpdateSession writes the mutable fields of a session.
func (s *DB) UpdateSession(ctx context.Context, se *store.Session) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE sessions SET user_id=?, state=?, csrf=?, pending=?, seen_at=?, expires_at=? WHERE id=?`),
		se.UserID, se.State, se.CSRF, se.Pending, ts(se.SeenAt), ts(se.ExpiresAt), se.ID)
	if err != nil {
		return s.wrap("update session", err)
	}
	return affected(res)
}

// DeleteSession removes one session; deleting a missing one is not an error.
func (s *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE id=?`), id)
	return s.wrap("delete session", err)
}

// DeleteUserSessions logs a user out everywhere.
func (s *DB) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE user_id=?`), userID)
	return s.wrap("delete user sessions", err)
}

// DeleteExpiredSessions removes sessions that expired before now.
func (s *DB) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM sessions WHERE expires_at < ?`), ts(now))
	if err != nil {
		return 0, s.wrap("delete expired sessions", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// PutTOTP inserts or replaces the user's TOTP secret.
func (s *DB) PutTOTP(ctx context.Context, t *store.TOTP) error {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO totp (user_id, sealed, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (user_id) DO UPDATE SET sealed=excluded.sealed, confirmed=excluded.confirmed, last_step=excluded.last_step, created_at=excluded.created_at`),
		t.UserID, t.Sealed, b2i(t.Confirmed), t.LastStep, ts(t.CreatedAt))
	return s.wrap("put totp", err)
}

// TOTP returns the user's TOTP record.
func (s *DB) TOTP(ctx context.Context, userID int64) (*store.TOTP, error) {
	var t store.TOTP
	var conf int
	var c int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT user_id, sealed, confirmed, last_step, created_at FROM totp WHERE user_id=?`), userID).
		Scan(&t.UserID, &t.Sealed, &conf, &t.LastStep, &c)
	if err != nil {
		return nil, s.wrap("totp", err)
	}
	t.Confirmed, t.CreatedAt = conf != 0, fromTS(c)
	return &t, nil
}

// UseTOTPStep moves last_step forward atomically; a step not newer than the
// stored one is a replay.
func (s *DB) UseTOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE totp SET last_step=? WHERE user_id=? AND last_step < ?`), step, userID, step)
	if err != nil {
		return false, s.wrap("use totp step", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DeleteTOTP removes the user's TOTP secret.
func (s *DB) DeleteTOTP(ctx context.Context, userID int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM totp WHERE user_id=?`), userID)
	return s.wrap("delete totp", err)
}

// AddWebAuthn stores a new security key.
func (s *DB) AddWebAuthn(ctx context.Context, c *store.WebAuthnCredential) error {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO webauthn (id, user_id, name, data, created_at) VALUES (?, ?, ?, ?, ?)`),
		c.ID, c.UserID, c.Name, c.Data, ts(c.CreatedAt))
	return s.wrap("add webauthn", err)
}

// UpdateWebAuthn writes the credential record (sign counter) back.
func (s *DB) UpdateWebAuthn(ctx context.Context, c *store.WebAuthnCredential) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE webauthn SET name=?, data=? WHERE id=? AND user_id=?`), c.Name, c.Data, c.ID, c.UserID)
	if err != nil {
		return s.wrap("update webauthn", err)
	}
	return affected(res)
}

// WebAuthnCredentials lists the user's security keys.
func (s *DB) WebAuthnCredentials(ctx context.Context, userID int64) ([]store.WebAuthnCredential, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, user_id, name, data, created_at FROM webauthn WHERE user_id=? ORDER BY created_at, id`), userID)
	if err != nil {
		return nil, s.wrap("webauthn", err)
	}
	return s.scanWebAuthn(rows)
}

func (s *DB) scanWebAuthn(rows *sql.Rows) ([]store.WebAuthnCredential, error) {
	defer rows.Close()
	var out []store.WebAuthnCredential
	for rows.Next() {
		var c store.WebAuthnCredential
		var at int64
		if err := rows.Scan(&c.ID, &c.UserID, &c.Name, &c.Data, &at); err != nil {
			return nil, s.wrap("scan webauthn", err)
		}
		c.CreatedAt = fromTS(at)
		out = append(out, c)
	}
	return out, s.wrap("webauthn", rows.Err())
}

// DeleteWebAuthn removes one of the user's security keys.
func (s *DB) DeleteWebAuthn(ctx context.Context, userID int64, id []byte) error {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM webauthn WHERE user_id=? AND id=?`), userID, id)
	if err != nil {
		return s.wrap("delete webauthn", err)
	}
	return affected(res)
}

// RecordLoginAttempt stores one attempt and prunes attempts older than a day.
func (s *DB) RecordLoginAttempt(ctx context.Context, a store.LoginAttempt) error {
	if _, err := s.db.ExecContext(ctx, s.q(`INSERT INTO login_attempts (k, at, ok) VALUES (?, ?, ?)`), a.Key, ts(a.At), b2i(a.OK)); err != nil {
		return s.wrap("record login attempt", err)
	}
	_, err := s.db.ExecContext(ctx, s.q(`DELETE FROM login_attempts WHERE at < ?`), ts(a.At.Add(-24*time.Hour)))
	return s.wrap("prune login attempts", err)
}

// CountFailures counts failed attempts for key since the given time.
func (s *DB) CountFailures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM login_attempts WHERE k=? AND at >= ? AND ok=0`), key, ts(since)).Scan(&n)
	return n, s.wrap("count failures", err)
}

const auditCols = `seq, at, actor, action, target, details, prev_hash, hash`

func scanAudit(sc interface{ Scan(...any) error }) (*store.AuditEntry, error) {
	var e store.AuditEntry
	var at int64
	if err := sc.Scan(&e.Seq, &at, &e.Actor, &e.Action, &e.Target, &e.Details, &e.PrevHash, &e.Hash); err != nil {
		return nil, err
	}
	e.Time = fromTS(at)
	return &e, nil
}

// AppendAudit appends under the dialect's lock so that the chain never forks.
func (s *DB) AppendAudit(ctx context.Context, e *store.AuditEntry, seal func(last, e *store.AuditEntry) error) error {
	begin := s.d.BeginAudit
	if begin == nil {
		begin = func(ctx context.Context, db *sql.DB) (*sql.Tx, error) { return db.BeginTx(ctx, nil) }
	}
	tx, err := begin(ctx, s.db)
	if err != nil {
		return s.wrap("begin audit append", err)
	}
	defer tx.Rollback()
	if s.d.LockAudit != nil {
		if err := s.d.LockAudit(ctx, tx); err != nil {
			return s.wrap("lock audit log", err)
		}
	}
	last, err := scanAudit(tx.QueryRowContext(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		last, err = nil, nil
	}
	if err != nil {
		return s.wrap("read last audit entry", err)
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if err := seal(last, e); err != nil {
		return fmt.Errorf("seal audit entry: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO audit_log (`+auditCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		e.Seq, ts(e.Time), e.Actor, e.Action, e.Target, e.Details, e.PrevHash, e.Hash); err != nil {
		return s.wrap("insert audit entry", err)
	}
	return s.wrap("commit audit entry", tx.Commit())
}

func (s *DB) auditWhere(f store.AuditFilter) (string, []any) {
	var conds []string
	var args []any
	if f.Actor != "" {
		conds, args = append(conds, "actor = ?"), append(args, f.Actor)
	}
	if f.Action != "" {
		// A prefix match without LIKE, whose wildcard and escape rules differ
		// between the engines.
		conds, args = append(conds, "substr(action, 1, ?) = ?"), append(args, len([]rune(f.Action)), f.Action)
	}
	if !f.Since.IsZero() {
		conds, args = append(conds, "at >= ?"), append(args, ts(f.Since))
	}
	if !f.Until.IsZero() {
		conds, args = append(conds, "at < ?"), append(args, ts(f.Until))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// AuditEntries returns the entries matching f, oldest first unless f.Desc.
func (s *DB) AuditEntries(ctx context.Context, f store.AuditFilter) ([]store.AuditEntry, error) {
	where, args := s.auditWhere(f)
	order := " ORDER BY seq"
	if f.Desc {
		order += " DESC"
	}
	q := `SELECT ` + auditCols + ` FROM audit_log` + where + order
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d", f.Limit)
	}
	if f.Offset > 0 {
		if f.Limit <= 0 {
			q += " LIMIT -1"
			if s.d.Numbered {
				q = strings.TrimSuffix(q, " LIMIT -1") + " LIMIT ALL"
			}
		}
		q += fmt.Sprintf(" OFFSET %d", f.Offset)
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap("audit entries", err)
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		e, err := scanAudit(rows)
		if err != nil {
			return nil, s.wrap("scan audit entry", err)
		}
		out = append(out, *e)
	}
	return out, s.wrap("audit entries", rows.Err())
}

// CountAudit counts the entries matching f (Limit and Offset ignored).
func (s *DB) CountAudit(ctx context.Context, f store.AuditFilter) (int, error) {
	where, args := s.auditWhere(f)
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM audit_log`+where), args...).Scan(&n)
	return n, s.wrap("count audit", err)
}

// Setting reads a setting.
func (s *DB) Setting(ctx context.Context, key string) (string, error) {
	var v string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT v FROM settings WHERE k=?`), key).Scan(&v)
	return v, s.wrap("setting", err)
}

// SetSetting writes a setting.
func (s *DB) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO settings (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v=excluded.v`), key, value)
	return s.wrap("set setting", err)
}
