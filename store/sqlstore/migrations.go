package sqlstore

import (
	"slices"
	"strings"

	"github.com/kyojin/kyojin/store"
)

// Types are the column types that differ between engines.
type Types struct {
	Serial string // auto-increment primary key
	Ref    string // integer referring to such a key
	Blob   string // byte string
	// Engine is "sqlite" or "postgres": the few migrations whose SQL
	// cannot be shared (alerts: partitions and row-level security) are
	// chosen by it.
	Engine string
}

// Migrations returns the schema history written for the engine's types.
// Both engines get the same versions and names, so a backup taken on one
// restores on the other. Never edit an applied migration: add a new one.
func Migrations(t Types) []store.Migration {
	r := strings.NewReplacer("{{serial}}", t.Serial, "{{ref}}", t.Ref, "{{blob}}", t.Blob, "{{alerts}}", alertsSQL[t.Engine])
	out := make([]store.Migration, len(migrations))
	for i, m := range migrations {
		out[i] = store.Migration{Version: i + 1, Name: m.name, SQL: r.Replace(m.sql)}
	}
	// Migrations written on parallel branches carry the number they were
	// given; they follow the positional ones in version order.
	for _, m := range numbered {
		out = append(out, store.Migration{Version: m.version, Name: m.name, SQL: r.Replace(m.sql)})
	}
	slices.SortStableFunc(out, func(a, b store.Migration) int { return a.Version - b.Version })
	return out
}

// numbered are migrations with a version fixed in advance (issue 9: 4 is
// alerts, 5 is incidents).
var numbered = []struct {
	version   int
	name, sql string
}{
	{5, "incidents", `
CREATE TABLE incidents (
	tenant TEXT NOT NULL,
	id TEXT PRIMARY KEY,
	ref TEXT NOT NULL UNIQUE,
	title TEXT NOT NULL,
	type TEXT NOT NULL,
	source TEXT NOT NULL,
	impact INTEGER NOT NULL DEFAULT 0,
	state TEXT NOT NULL,
	assignee TEXT NOT NULL DEFAULT '',
	reporter TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	state_since BIGINT NOT NULL,
	contained_at BIGINT NOT NULL DEFAULT 0,
	closed_at BIGINT NOT NULL DEFAULT 0,
	warn_at BIGINT NOT NULL DEFAULT 0,
	version BIGINT NOT NULL,
	data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX incidents_tenant_created ON incidents(tenant, created_at, id);
CREATE INDEX incidents_created ON incidents(created_at, id);
CREATE INDEX incidents_open ON incidents(closed_at, created_at, id);
CREATE INDEX incidents_warn ON incidents(closed_at, warn_at);
CREATE TABLE incident_events (
	tenant TEXT NOT NULL,
	incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	kind TEXT NOT NULL,
	from_state TEXT NOT NULL DEFAULT '',
	to_state TEXT NOT NULL DEFAULT '',
	comment TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (incident_id, seq)
);
CREATE TABLE incident_evidence (
	tenant TEXT NOT NULL,
	incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
	id TEXT NOT NULL,
	name TEXT NOT NULL,
	content_type TEXT NOT NULL,
	size BIGINT NOT NULL,
	sha256 TEXT NOT NULL,
	sealed {{blob}} NOT NULL,
	uploaded_by TEXT NOT NULL,
	uploaded_at BIGINT NOT NULL,
	PRIMARY KEY (incident_id, id)
);`},
}

var migrations = []struct{ name, sql string }{
	{"initial schema", `
CREATE TABLE users (
	id {{serial}},
	name TEXT NOT NULL UNIQUE,
	display_name TEXT NOT NULL DEFAULT '',
	password_hash TEXT NOT NULL DEFAULT '',
	disabled INTEGER NOT NULL DEFAULT 0,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE grants (
	user_id {{ref}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	role TEXT NOT NULL,
	scope TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (user_id, role, scope)
);
CREATE TABLE sessions (
	id TEXT PRIMARY KEY,
	user_id {{ref}} NOT NULL DEFAULT 0,
	state TEXT NOT NULL,
	csrf TEXT NOT NULL,
	pending TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	seen_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);
CREATE TABLE totp (
	user_id {{ref}} PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
	sealed {{blob}} NOT NULL,
	confirmed INTEGER NOT NULL DEFAULT 0,
	last_step BIGINT NOT NULL DEFAULT 0,
	created_at BIGINT NOT NULL
);
CREATE TABLE webauthn (
	id {{blob}} PRIMARY KEY,
	user_id {{ref}} NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	name TEXT NOT NULL DEFAULT '',
	data {{blob}} NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX webauthn_user ON webauthn(user_id);
CREATE TABLE login_attempts (
	k TEXT NOT NULL,
	at BIGINT NOT NULL,
	ok INTEGER NOT NULL
);
CREATE INDEX login_attempts_k ON login_attempts(k, at);
CREATE TABLE audit_log (
	seq BIGINT PRIMARY KEY,
	at BIGINT NOT NULL,
	actor TEXT NOT NULL,
	action TEXT NOT NULL,
	target TEXT NOT NULL,
	details TEXT NOT NULL,
	prev_hash TEXT NOT NULL,
	hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE TABLE settings (
	k TEXT PRIMARY KEY,
	v TEXT NOT NULL
);`},
	// An administrator's password reset makes the user choose a new one
	// at the next login.
	{"users: must change password", `
ALTER TABLE users ADD COLUMN must_change_password INTEGER NOT NULL DEFAULT 0;`},
	{"transfers", `
CREATE TABLE transfers (
	id TEXT PRIMARY KEY,
	direction TEXT NOT NULL,
	sender TEXT NOT NULL,
	recipients TEXT NOT NULL,
	purpose TEXT NOT NULL,
	classification TEXT NOT NULL DEFAULT '',
	encrypt INTEGER NOT NULL DEFAULT 0,
	status TEXT NOT NULL,
	approval_reason TEXT NOT NULL DEFAULT '',
	approver TEXT NOT NULL DEFAULT '',
	decision TEXT NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	decided_at BIGINT NOT NULL DEFAULT 0,
	expires_at BIGINT NOT NULL
);
CREATE INDEX transfers_created ON transfers(created_at);
CREATE TABLE transfer_files (
	transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	name TEXT NOT NULL,
	size BIGINT NOT NULL,
	sha256 TEXT NOT NULL,
	type TEXT NOT NULL,
	verdict TEXT NOT NULL,
	reason TEXT NOT NULL DEFAULT '',
	actions TEXT NOT NULL DEFAULT '[]',
	quarantine TEXT NOT NULL DEFAULT '',
	out_name TEXT NOT NULL DEFAULT '',
	out_size BIGINT NOT NULL DEFAULT 0,
	out_sha256 TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (transfer_id, seq)
);
CREATE TABLE download_links (
	token TEXT PRIMARY KEY,
	transfer_id TEXT NOT NULL REFERENCES transfers(id) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	username TEXT NOT NULL,
	created_at BIGINT NOT NULL,
	expires_at BIGINT NOT NULL,
	used_at BIGINT NOT NULL DEFAULT 0
);`},
	// Security-cloud alerts and suppressions (issue 8 §3, §4); the SQL
	// per engine is in alertsSQL.
	{"alerts and suppressions", `{{alerts}}`},
}
