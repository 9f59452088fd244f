// Package pgevents is the security cloud's event storage on PostgreSQL, the
// scale-out alternative to the embedded segment store (issue 8 §4:
// "PostgreSQL (partitioned by day, tenant id on every row, row-level
// security)"). It answers the same eventstore.Query with the same meaning;
// eventstore/eventstoretest holds the one conformance suite both pass.
//
// Layout: one table kyojin_events, declaratively partitioned by UTC day
// (partitions created on demand by a SECURITY DEFINER function), the tenant
// on every row, row-level security keyed on the transaction-local setting
// kyojin.tenant. Every statement runs in a transaction that sets it to the
// one tenant it concerns, so a query that forgot its tenant condition still
// sees nothing of another municipality.
//
// Retention: partitions are per day, shared by all tenants, because tenants
// keep their logs for different periods (per-tenant retention, issue 8 §1)
// and 186 bodies × 365 days of sub-partitions would cost more in planning
// than they save. Retain therefore deletes one tenant's rows older than a
// day (index (tenant, time), partition pruning); DropBefore drops whole days
// once every tenant's retention has passed, which frees space at once
// without VACUUM. See docs/performance-scale.md.
//
// Differences from the segment store, both documented in
// docs/event-schema.md: times are kept to the microsecond (PostgreSQL's
// resolution), and a NUL character, which PostgreSQL text cannot hold, is
// stored as U+FFFD.
package pgevents

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	_ "github.com/jackc/pgx/v5/stdlib" // "pgx" driver

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
)

// lockKey serialises migrations ("kyev" in ASCII).
const lockKey = 0x6b796576

// Store appends and searches events in PostgreSQL. It is safe for
// concurrent use.
type Store struct {
	db *sql.DB

	mu   sync.Mutex
	days map[string]bool // UTC days whose partition is known to exist
}

// IsDSN tells whether s names a PostgreSQL database rather than a directory.
func IsDSN(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to dsn. Call Migrate (idempotent) before the first use of a
// new database.
func Open(dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("pgevents: open: %w", err)
	}
	db.SetMaxOpenConns(16)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// the DSN may carry a password: never echo it
		return nil, fmt.Errorf("pgevents: connect: %w", err)
	}
	return &Store{db: db, days: map[string]bool{}}, nil
}

// Version returns the schema version of the database (0: none).
func (s *Store) Version(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT max(version) FROM kyojin_events_schema`).Scan(&v)
	var pe interface{ SQLState() string }
	if errors.As(err, &pe) && pe.SQLState() == "42P01" { // undefined_table
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("pgevents: schema version: %w", err)
	}
	return int(v.Int64), nil
}

// Migrate brings the schema to the newest version. A database already
// current needs no DDL rights, so the cloud's own role may call it.
func (s *Store) Migrate(ctx context.Context) error {
	v, err := s.Version(ctx)
	if err != nil {
		return err
	}
	latest := migrations[len(migrations)-1].Version
	if v > latest {
		return fmt.Errorf("pgevents: the database schema (version %d) is newer than this kyojin (%d)", v, latest)
	}
	if v == latest {
		return nil
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("pgevents: migrate: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, lockKey); err != nil {
		return fmt.Errorf("pgevents: migrate lock: %w", err)
	}
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock($1)`, lockKey) //nolint:errcheck
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS kyojin_events_schema (
		version integer PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("pgevents: migrate: %w", err)
	}
	for _, m := range migrations {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("pgevents: migrate: %w", err)
		}
		var done bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM kyojin_events_schema WHERE version = $1)`, m.Version).Scan(&done); err != nil {
			tx.Rollback()
			return fmt.Errorf("pgevents: migrate: %w", err)
		}
		if done {
			tx.Rollback()
			continue
		}
		var schema string
		if err := tx.QueryRowContext(ctx, `SELECT quote_ident(current_schema())`).Scan(&schema); err != nil {
			tx.Rollback()
			return fmt.Errorf("pgevents: migrate: %w", err)
		}
		if _, err := tx.ExecContext(ctx, strings.ReplaceAll(m.SQL, "{{schema}}", schema)); err != nil {
			tx.Rollback()
			return fmt.Errorf("pgevents: migration %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kyojin_events_schema (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			tx.Rollback()
			return fmt.Errorf("pgevents: migrate: %w", err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("pgevents: migration %d: %w", m.Version, err)
		}
	}
	return nil
}

var roleRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Grant gives role what the cloud needs and nothing more: read, insert and
// delete rows (row security applies), create day partitions and drop
// expired days through the SECURITY DEFINER functions. Run it as the owner.
func (s *Store) Grant(ctx context.Context, role string) error {
	if !roleRE.MatchString(role) {
		return fmt.Errorf("pgevents: invalid role name %q", role)
	}
	for _, q := range []string{
		`GRANT SELECT, INSERT, DELETE ON kyojin_events TO ` + role,
		`GRANT SELECT ON kyojin_events_schema TO ` + role,
		`GRANT EXECUTE ON FUNCTION kyojin_events_partition(date) TO ` + role,
		`GRANT EXECUTE ON FUNCTION kyojin_events_drop_before(date) TO ` + role,
	} {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("pgevents: grant: %w", err)
		}
	}
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.db.Close() }

// Flush is a no-op: an Append is durable when it returns.
func (s *Store) Flush() error { return nil }

const dayLayout = "2006-01-02"

// clean makes s storable in PostgreSQL text: valid UTF-8 without NUL. The
// same mapping is applied to filter values, so pushed-down comparisons stay
// true for every event the final check accepts.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "\uFFFD")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func validTime(t time.Time) bool { y := t.Year(); return y >= 1 && y <= 9999 }

// ensureDays creates the partitions of the given UTC days once per process.
func (s *Store) ensureDays(ctx context.Context, days map[string]bool) error {
	for day := range days {
		s.mu.Lock()
		known := s.days[day]
		s.mu.Unlock()
		if known {
			continue
		}
		if _, err := s.db.ExecContext(ctx, `SELECT kyojin_events_partition($1::date)`, day); err != nil {
			return fmt.Errorf("pgevents: partition %s: %w", day, err)
		}
		s.mu.Lock()
		s.days[day] = true
		s.mu.Unlock()
	}
	return nil
}

// columns of one insert, one slice per column (INSERT … SELECT FROM
// unnest: one statement per tenant and batch; COPY FROM is refused on
// tables with row-level security).
type columns struct {
	time, received                                []time.Time
	source, host, raw, parseError, fields, tenant []string
}

// Append stores events; each must carry a valid Tenant. The batch is one
// transaction: all of it is stored or none.
func (s *Store) Append(evs ...*event.Event) error {
	if len(evs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	byTenant := map[string]*columns{}
	var order []string
	days := map[string]bool{}
	for _, ev := range evs {
		if !eventstore.ValidTenant(ev.Tenant) {
			return fmt.Errorf("pgevents: invalid tenant %q", ev.Tenant)
		}
		if !validTime(ev.Time) || !validTime(ev.Received) && !ev.Received.IsZero() {
			return errors.New("pgevents: event time out of range")
		}
		c := byTenant[ev.Tenant]
		if c == nil {
			c = &columns{}
			byTenant[ev.Tenant] = c
			order = append(order, ev.Tenant)
		}
		ev.Resolve() // rows carry the fields: parse what intake deferred
		fields := "{}"
		if len(ev.Fields) > 0 {
			m := make(map[string]string, len(ev.Fields))
			for k, v := range ev.Fields {
				m[clean(k)] = clean(v)
			}
			b, err := json.Marshal(m)
			if err != nil {
				return fmt.Errorf("pgevents: encode fields: %w", err)
			}
			fields = string(b)
		}
		days[ev.Time.UTC().Format(dayLayout)] = true
		recv := ev.Received
		if recv.IsZero() {
			recv = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		c.tenant = append(c.tenant, ev.Tenant)
		c.time = append(c.time, ev.Time)
		c.received = append(c.received, recv)
		c.source = append(c.source, clean(ev.Source))
		c.host = append(c.host, clean(ev.Host))
		c.raw = append(c.raw, clean(ev.Raw))
		c.parseError = append(c.parseError, clean(ev.ParseError))
		c.fields = append(c.fields, fields)
	}
	if err := s.ensureDays(ctx, days); err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pgevents: append: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	for _, tenant := range order {
		c := byTenant[tenant]
		if _, err := tx.ExecContext(ctx, `SELECT set_config('kyojin.tenant', $1, true)`, tenant); err != nil {
			return fmt.Errorf("pgevents: append: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO kyojin_events (tenant, time, received, source, host, raw, parse_error, fields)
			SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[]::jsonb[])`,
			c.tenant, c.time, c.received, c.source, c.host, c.raw, c.parseError, c.fields)
		if err != nil {
			return fmt.Errorf("pgevents: append %d events of %s: %w", len(c.tenant), tenant, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pgevents: append: %w", err)
	}
	return nil
}

// fixed maps the fixed fields of event.Event.Get to their columns.
var fixed = map[string]string{"source": "source", "host": "host", "raw": "raw", "_raw": "raw", "parse_error": "parse_error", "tenant": "tenant"}

// foldsToASCII lists the only runes Go's strings.ToLower turns into ASCII
// (U+0130 → i, U+212A KELVIN SIGN → k); a row holding one is always handed
// to the final check, which decides.
const foldsToASCII = "[\u0130\u212A]"

// where translates q into SQL that selects every event q.Match accepts
// (and possibly a few more: Match has the final word). Pushed down: tenant,
// time range, equality on any field, and case-insensitive substring for
// ASCII values; other filters are left to Match.
func where(q eventstore.Query) (string, []any) {
	var b strings.Builder
	args := []any{q.Tenant}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	b.WriteString("tenant = $1")
	if !q.From.IsZero() {
		// PostgreSQL keeps microseconds: round the bound down so no stored
		// event is excluded that Match would keep.
		fmt.Fprintf(&b, " AND time >= %s", arg(q.From.Truncate(time.Microsecond)))
	}
	if !q.To.IsZero() {
		to := q.To.Truncate(time.Microsecond)
		if !to.Equal(q.To) {
			to = to.Add(time.Microsecond)
		}
		fmt.Fprintf(&b, " AND time < %s", arg(to))
	}
	for _, f := range q.Filters {
		if f.Field == "time" {
			continue
		}
		v := f.Value
		if f.Op == eventstore.Contains {
			v = strings.ToLower(v)
			if !isASCII(v) || strings.IndexByte(v, 0) >= 0 {
				continue
			}
		}
		col, ok := fixed[f.Field]
		if !ok {
			col = "(fields ->> " + arg(clean(f.Field)) + ")"
		}
		switch f.Op {
		case eventstore.Equal:
			fmt.Fprintf(&b, " AND %s = %s", col, arg(clean(v)))
		case eventstore.Contains:
			// ASCII-only lower-casing, whatever the database's locale
			lower := "translate(" + col + ", 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
			cond := fmt.Sprintf("strpos(%s, %s) > 0", lower, arg(v))
			if strings.ContainsAny(v, "ik") {
				cond = fmt.Sprintf("(%s OR %s ~ %s)", cond, col, arg(foldsToASCII))
			}
			b.WriteString(" AND " + cond)
		}
	}
	return b.String(), args
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// Search calls fn for each matching event of q.Tenant in time order; fn
// returning false stops.
func (s *Store) Search(q eventstore.Query, fn func(*event.Event) bool) error {
	if !eventstore.ValidTenant(q.Tenant) {
		return fmt.Errorf("pgevents: invalid tenant %q", q.Tenant)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("pgevents: search: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, `SELECT set_config('kyojin.tenant', $1, true)`, q.Tenant); err != nil {
		return fmt.Errorf("pgevents: search: %w", err)
	}
	cond, args := where(q)
	rows, err := tx.QueryContext(ctx, `SELECT time, received, source, host, raw, parse_error, fields::text
		FROM kyojin_events WHERE `+cond+` ORDER BY time`, args...)
	if err != nil {
		return fmt.Errorf("pgevents: search: %w", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		ev := &event.Event{Tenant: q.Tenant}
		var fields string
		if err := rows.Scan(&ev.Time, &ev.Received, &ev.Source, &ev.Host, &ev.Raw, &ev.ParseError, &fields); err != nil {
			return fmt.Errorf("pgevents: search: %w", err)
		}
		if ev.Received.Year() == 1 {
			ev.Received = time.Time{}
		}
		if fields != "{}" {
			if err := json.Unmarshal([]byte(fields), &ev.Fields); err != nil {
				return fmt.Errorf("pgevents: search: fields: %w", err)
			}
		}
		if !q.Match(ev) {
			continue
		}
		n++
		if !fn(ev) || q.Limit > 0 && n >= q.Limit {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("pgevents: search: %w", err)
	}
	return nil
}

// Retain deletes the events of tenant older than keepFrom's UTC day and
// returns how many days held some (the segment store's count of removed
// day directories).
func (s *Store) Retain(tenant string, keepFrom time.Time) (int, error) {
	if !eventstore.ValidTenant(tenant) {
		return 0, fmt.Errorf("pgevents: invalid tenant %q", tenant)
	}
	cut, _ := time.Parse(dayLayout, keepFrom.UTC().Format(dayLayout))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("pgevents: retention: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := tx.ExecContext(ctx, `SELECT set_config('kyojin.tenant', $1, true)`, tenant); err != nil {
		return 0, fmt.Errorf("pgevents: retention: %w", err)
	}
	var n int
	err = tx.QueryRowContext(ctx, `WITH gone AS (DELETE FROM kyojin_events WHERE tenant = $1 AND time < $2 RETURNING time)
		SELECT count(DISTINCT (time AT TIME ZONE 'UTC')::date) FROM gone`, tenant, cut).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("pgevents: retention: %w", err)
	}
	return n, tx.Commit()
}

// DropBefore drops the partitions of every UTC day before cut's day, all
// tenants at once, and returns how many. Call it only with a cut past
// every tenant's retention.
func (s *Store) DropBefore(cut time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT kyojin_events_drop_before($1::date)`, cut.UTC().Format(dayLayout)).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgevents: drop days: %w", err)
	}
	s.mu.Lock()
	clear(s.days) // dropped days are recreated on demand
	s.mu.Unlock()
	return n, nil
}
