// Package store is the console's persistent state: local accounts and their
// role grants, sessions, MFA credentials, login attempts, the hash-chained
// audit log and key/value settings. One interface (Store) has two
// implementations, store/sqlite (the default, in the data directory) and
// store/postgres; both share the SQL in store/sqlstore and both pass the one
// conformance suite in store/storetest.
package store

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when a looked-up record does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned when a unique key (user name, credential id) is taken.
var ErrConflict = errors.New("store: already exists")

// ErrNotEmpty is returned by Restore when the target already holds data.
var ErrNotEmpty = errors.New("store: target is not empty")

// User is a local account. PasswordHash is a PHC-format argon2id string
// produced by package auth; the store never sees a password.
type User struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"` // login name, unique
	DisplayName  string `json:"display_name"`
	PasswordHash string `json:"password_hash"`
	Disabled     bool   `json:"disabled"`
	// MustChangePassword is set by an administrator's password reset: the
	// user may do nothing but choose a new password after logging in.
	MustChangePassword bool      `json:"must_change_password,omitempty"`
	FailedLogins       int       `json:"failed_logins"`
	LockedUntil        time.Time `json:"locked_until"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Grant gives a user a role, optionally limited to a scope. Scope is "" for
// organisation-wide roles, "department:ID", "division:ID" or "system:ID"
// (guideline clause 1: officers per department, managers per division,
// system administrators per system).
type Grant struct {
	UserID int64  `json:"user_id"`
	Role   string `json:"role"`
	Scope  string `json:"scope"`
}

// Session is a browser session. ID is the SHA-256 of the cookie token, so a
// copy of the database does not yield usable cookies.
type Session struct {
	ID        string    `json:"id"`
	UserID    int64     `json:"user_id"` // 0 before login
	State     string    `json:"state"`   // "anonymous", "mfa", "enrol", "ok"
	CSRF      string    `json:"csrf"`
	Pending   string    `json:"pending"` // ceremony state (WebAuthn session data, JSON)
	CreatedAt time.Time `json:"created_at"`
	SeenAt    time.Time `json:"seen_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

// TOTP is a user's time-based one-time password secret, sealed by package
// auth (AES-GCM) before it reaches the store.
type TOTP struct {
	UserID    int64     `json:"user_id"`
	Sealed    []byte    `json:"sealed"`
	Confirmed bool      `json:"confirmed"`
	LastStep  int64     `json:"last_step"` // last accepted time step, against replay
	CreatedAt time.Time `json:"created_at"`
}

// WebAuthnCredential is a registered security key. Data is the JSON of the
// library's credential record (public key, sign count, flags).
type WebAuthnCredential struct {
	ID        []byte    `json:"id"`
	UserID    int64     `json:"user_id"`
	Name      string    `json:"name"`
	Data      []byte    `json:"data"`
	CreatedAt time.Time `json:"created_at"`
}

// LoginAttempt is one try to log in, kept for rate limiting per source.
type LoginAttempt struct {
	Key string    `json:"key"` // "ip:ADDR" or "user:NAME"
	At  time.Time `json:"at"`
	OK  bool      `json:"ok"`
}

// AuditEntry is one record of the audit log. Hash and PrevHash are computed
// by package audit; the store keeps them as given.
type AuditEntry struct {
	Seq      int64     `json:"seq"`
	Time     time.Time `json:"time"`
	Actor    string    `json:"actor"`
	Action   string    `json:"action"`
	Target   string    `json:"target"`
	Details  string    `json:"details"` // canonical JSON
	PrevHash string    `json:"prev_hash"`
	Hash     string    `json:"hash"`
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Actor  string
	Action string // prefix match, e.g. "login"
	Since  time.Time
	Until  time.Time
	Limit  int // 0 = no limit
	Offset int
	Desc   bool // newest first
}

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// MigrationStatus tells whether a migration has run.
type MigrationStatus struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	Applied   bool      `json:"applied"`
	AppliedAt time.Time `json:"applied_at"`
}

// Store is the console's persistence. Implementations are safe for
// concurrent use.
type Store interface {
	Migrate(ctx context.Context) error
	MigrationStatus(ctx context.Context) ([]MigrationStatus, error)
	Close() error

	CreateUser(ctx context.Context, u *User) error // sets ID, CreatedAt
	UpdateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	UserByName(ctx context.Context, name string) (*User, error)
	ListUsers(ctx context.Context) ([]User, error)
	SetGrants(ctx context.Context, userID int64, grants []Grant) error
	Grants(ctx context.Context, userID int64) ([]Grant, error)

	CreateSession(ctx context.Context, s *Session) error
	Session(ctx context.Context, id string) (*Session, error)
	UpdateSession(ctx context.Context, s *Session) error
	DeleteSession(ctx context.Context, id string) error
	DeleteUserSessions(ctx context.Context, userID int64) error
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	PutTOTP(ctx context.Context, t *TOTP) error
	TOTP(ctx context.Context, userID int64) (*TOTP, error)
	// UseTOTPStep records step as used if it is newer than the last one; it
	// reports false when the step was already used (replay).
	UseTOTPStep(ctx context.Context, userID, step int64) (bool, error)
	DeleteTOTP(ctx context.Context, userID int64) error

	AddWebAuthn(ctx context.Context, c *WebAuthnCredential) error
	UpdateWebAuthn(ctx context.Context, c *WebAuthnCredential) error
	WebAuthnCredentials(ctx context.Context, userID int64) ([]WebAuthnCredential, error)
	DeleteWebAuthn(ctx context.Context, userID int64, id []byte) error

	RecordLoginAttempt(ctx context.Context, a LoginAttempt) error
	CountFailures(ctx context.Context, key string, since time.Time) (int, error)

	// AppendAudit appends one entry atomically: under an exclusive lock it
	// reads the last entry (nil when the log is empty), lets seal fill in
	// Seq, PrevHash and Hash, and inserts the result.
	AppendAudit(ctx context.Context, e *AuditEntry, seal func(last *AuditEntry, e *AuditEntry) error) error
	AuditEntries(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	CountAudit(ctx context.Context, f AuditFilter) (int, error)

	TransferStore
	AlertStore
	IncidentStore

	Setting(ctx context.Context, key string) (string, error) // ErrNotFound when unset
	SetSetting(ctx context.Context, key, value string) error

	// Dump returns every record, for backup.
	Dump(ctx context.Context) (*Snapshot, error)
	// Restore loads a snapshot into an empty, migrated store.
	Restore(ctx context.Context, s *Snapshot) error
}

// Snapshot is kyojin's whole state, as written by `kyojin backup`.
type Snapshot struct {
	Format    string               `json:"format"` // SnapshotFormat
	Schema    int                  `json:"schema"` // highest migration applied
	CreatedAt time.Time            `json:"created_at"`
	Users     []User               `json:"users"`
	Grants    []Grant              `json:"grants"`
	TOTP      []TOTP               `json:"totp"`
	WebAuthn  []WebAuthnCredential `json:"webauthn"`
	Audit     []AuditEntry         `json:"audit"`
	Settings  map[string]string    `json:"settings"`
	// Transfers are the file transfer records (schema 2). Download links
	// are short-lived and, like sessions, not kept.
	Transfers []TransferRecord `json:"transfers,omitempty"`
	// Alerts (with their events) and suppressions of the security cloud
	// (schema 4).
	Alerts       []Alert       `json:"alerts,omitempty"`
	Suppressions []Suppression `json:"suppressions,omitempty"`
	// Incidents are the CSIRT's incidents with timeline and (still
	// sealed) evidence (schema 5).
	Incidents []IncidentRecord `json:"incidents,omitempty"`
}

// TransferRecord is a transfer with its files, as backed up.
type TransferRecord struct {
	Transfer Transfer       `json:"transfer"`
	Files    []TransferFile `json:"files"`
}

// SnapshotFormat identifies backup files.
const SnapshotFormat = "kyojin-backup/v1"
