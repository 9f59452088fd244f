package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/kyojin/kyojin/store"
)

const incidentCols = `tenant, id, ref, title, type, source, impact, state, assignee, reporter,
	created_at, updated_at, state_since, contained_at, closed_at, warn_at, version, data`

func scanIncident(sc interface{ Scan(...any) error }) (*store.Incident, error) {
	var i store.Incident
	var created, updated, since, contained, closed, warn int64
	if err := sc.Scan(&i.Tenant, &i.ID, &i.Ref, &i.Title, &i.Type, &i.Source, &i.Impact, &i.State, &i.Assignee, &i.Reporter,
		&created, &updated, &since, &contained, &closed, &warn, &i.Version, &i.Data); err != nil {
		return nil, err
	}
	i.CreatedAt, i.UpdatedAt, i.StateSince = fromTS(created), fromTS(updated), fromTS(since)
	i.ContainedAt, i.ClosedAt, i.WarnAt = fromTS(contained), fromTS(closed), fromTS(warn)
	return &i, nil
}

func incidentArgs(i *store.Incident) []any {
	return []any{i.Tenant, i.ID, i.Ref, i.Title, i.Type, i.Source, i.Impact, i.State, i.Assignee, i.Reporter,
		ts(i.CreatedAt), ts(i.UpdatedAt), ts(i.StateSince), ts(i.ContainedAt), ts(i.ClosedAt), ts(i.WarnAt), i.Version, i.Data}
}

func (s *DB) insertIncident(ctx context.Context, tx *sql.Tx, i *store.Incident) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO incidents (`+incidentCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), incidentArgs(i)...)
	return s.wrap("insert incident", err)
}

// appendEvent gives ev the next sequence number of its incident.
func (s *DB) appendEvent(ctx context.Context, tx *sql.Tx, ev *store.IncidentEvent) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(MAX(seq), 0) FROM incident_events WHERE incident_id = ?`), ev.IncidentID).Scan(&n); err != nil {
		return s.wrap("next incident event", err)
	}
	ev.Seq = n + 1
	return s.insertEvent(ctx, tx, ev)
}

func (s *DB) insertEvent(ctx context.Context, tx *sql.Tx, ev *store.IncidentEvent) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO incident_events (tenant, incident_id, seq, at, actor, kind, from_state, to_state, comment)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), ev.Tenant, ev.IncidentID, ev.Seq, ts(ev.At), ev.Actor, ev.Kind, ev.From, ev.To, ev.Comment)
	return s.wrap("insert incident event", err)
}

func (s *DB) insertEvidence(ctx context.Context, tx *sql.Tx, e *store.IncidentEvidence) error {
	_, err := tx.ExecContext(ctx, s.q(`INSERT INTO incident_evidence (tenant, incident_id, id, name, content_type, size, sha256, sealed, uploaded_by, uploaded_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), e.Tenant, e.IncidentID, e.ID, e.Name, e.ContentType, e.Size, e.SHA256, e.Sealed, e.UploadedBy, ts(e.UploadedAt))
	return s.wrap("insert evidence", err)
}

// inTx runs f in a transaction and commits it.
func (s *DB) inTx(ctx context.Context, what string, f func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("begin "+what, err)
	}
	defer tx.Rollback()
	if err := f(tx); err != nil {
		return err
	}
	return s.wrap("commit "+what, tx.Commit())
}

// CreateIncident inserts inc with version 1 and its first event.
func (s *DB) CreateIncident(ctx context.Context, inc *store.Incident, ev *store.IncidentEvent) error {
	if inc.Tenant == "" || inc.ID == "" || inc.Ref == "" {
		return fmt.Errorf("create incident: tenant, id and ref are required")
	}
	inc.Version = 1
	return s.inTx(ctx, "create incident", func(tx *sql.Tx) error {
		if err := s.insertIncident(ctx, tx, inc); err != nil {
			return err
		}
		if ev == nil {
			return nil
		}
		ev.Tenant, ev.IncidentID = inc.Tenant, inc.ID
		return s.appendEvent(ctx, tx, ev)
	})
}

// Incident returns one incident of tenant.
func (s *DB) Incident(ctx context.Context, tenant, id string) (*store.Incident, error) {
	i, err := scanIncident(s.db.QueryRowContext(ctx, s.q(`SELECT `+incidentCols+` FROM incidents WHERE tenant = ? AND id = ?`), tenant, id))
	return i, s.wrap("incident", err)
}

// IncidentByRef returns the incident of tenant with reference number ref.
func (s *DB) IncidentByRef(ctx context.Context, tenant, ref string) (*store.Incident, error) {
	i, err := scanIncident(s.db.QueryRowContext(ctx, s.q(`SELECT `+incidentCols+` FROM incidents WHERE tenant = ? AND ref = ?`), tenant, ref))
	return i, s.wrap("incident by ref", err)
}

// UpdateIncident writes inc if nobody changed it since it was read.
func (s *DB) UpdateIncident(ctx context.Context, inc *store.Incident, ev *store.IncidentEvent) error {
	return s.inTx(ctx, "update incident", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q(`UPDATE incidents SET title = ?, type = ?, source = ?, impact = ?, state = ?, assignee = ?, reporter = ?,
			updated_at = ?, state_since = ?, contained_at = ?, closed_at = ?, warn_at = ?, version = version + 1, data = ?
			WHERE tenant = ? AND id = ? AND version = ?`),
			inc.Title, inc.Type, inc.Source, inc.Impact, inc.State, inc.Assignee, inc.Reporter,
			ts(inc.UpdatedAt), ts(inc.StateSince), ts(inc.ContainedAt), ts(inc.ClosedAt), ts(inc.WarnAt), inc.Data, inc.Tenant, inc.ID, inc.Version)
		if err != nil {
			return s.wrap("update incident", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.wrap("update incident", err)
		} else if n == 0 {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM incidents WHERE tenant = ? AND id = ?`), inc.Tenant, inc.ID).Scan(&n); err != nil {
				return s.wrap("update incident", err)
			}
			if n == 0 {
				return store.ErrNotFound
			}
			return store.ErrStale
		}
		inc.Version++
		if ev == nil {
			return nil
		}
		ev.Tenant, ev.IncidentID = inc.Tenant, inc.ID
		return s.appendEvent(ctx, tx, ev)
	})
}

// incidentWhere builds the WHERE clause of f; ok is false when f can
// match nothing (no tenant at all).
func incidentWhere(f store.IncidentFilter) (where string, args []any, ok bool) {
	var conds []string
	if !f.AllTenants {
		if len(f.Tenants) == 0 {
			return "", nil, false
		}
		conds = append(conds, "tenant IN (?"+strings.Repeat(", ?", len(f.Tenants)-1)+")")
		for _, t := range f.Tenants {
			args = append(args, t)
		}
	}
	add := func(c string, v any) { conds = append(conds, c); args = append(args, v) }
	if f.State != "" {
		add("state = ?", f.State)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if f.Impact != 0 {
		add("impact = ?", f.Impact)
	}
	if f.Open {
		// closed_at is set exactly when an incident closes; an equality
		// lets the open-incidents index serve the SLA warnings.
		add("closed_at = ?", 0)
	}
	if !f.WarnBy.IsZero() {
		add("warn_at > ?", 0)
		add("warn_at <= ?", ts(f.WarnBy))
	}
	if !f.Since.IsZero() {
		add("created_at >= ?", ts(f.Since))
	}
	if !f.Until.IsZero() {
		add("created_at < ?", ts(f.Until))
	}
	if len(conds) == 0 {
		return "", nil, true
	}
	return " WHERE " + strings.Join(conds, " AND "), args, true
}

// ListIncidents returns matching incidents, newest first.
func (s *DB) ListIncidents(ctx context.Context, f store.IncidentFilter) ([]store.Incident, error) {
	where, args, ok := incidentWhere(f)
	if !ok {
		return nil, nil
	}
	order := ` ORDER BY created_at DESC, id DESC`
	if f.BySLA {
		order = ` ORDER BY warn_at, id`
	}
	q := `SELECT ` + incidentCols + ` FROM incidents` + where + order
	if f.Limit > 0 {
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", f.Limit, max(f.Offset, 0))
	}
	rows, err := s.db.QueryContext(ctx, s.q(q), args...)
	if err != nil {
		return nil, s.wrap("list incidents", err)
	}
	defer rows.Close()
	var out []store.Incident
	for rows.Next() {
		i, err := scanIncident(rows)
		if err != nil {
			return nil, s.wrap("scan incident", err)
		}
		out = append(out, *i)
	}
	return out, s.wrap("list incidents", rows.Err())
}

// CountIncidents counts matching incidents.
func (s *DB) CountIncidents(ctx context.Context, f store.IncidentFilter) (int, error) {
	where, args, ok := incidentWhere(f)
	if !ok {
		return 0, nil
	}
	var n int
	err := s.db.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM incidents`+where), args...).Scan(&n)
	return n, s.wrap("count incidents", err)
}

// IncidentEvents returns the timeline of one incident of tenant.
func (s *DB) IncidentEvents(ctx context.Context, tenant, id string) ([]store.IncidentEvent, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT tenant, incident_id, seq, at, actor, kind, from_state, to_state, comment
		FROM incident_events WHERE tenant = ? AND incident_id = ? ORDER BY seq`), tenant, id)
	if err != nil {
		return nil, s.wrap("incident events", err)
	}
	defer rows.Close()
	var out []store.IncidentEvent
	for rows.Next() {
		var e store.IncidentEvent
		var at int64
		if err := rows.Scan(&e.Tenant, &e.IncidentID, &e.Seq, &at, &e.Actor, &e.Kind, &e.From, &e.To, &e.Comment); err != nil {
			return nil, s.wrap("scan incident event", err)
		}
		e.At = fromTS(at)
		out = append(out, e)
	}
	return out, s.wrap("incident events", rows.Err())
}

// AddEvidence stores an attachment of an existing incident of the same tenant.
func (s *DB) AddEvidence(ctx context.Context, e *store.IncidentEvidence, ev *store.IncidentEvent) error {
	return s.inTx(ctx, "add evidence", func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM incidents WHERE tenant = ? AND id = ?`), e.Tenant, e.IncidentID).Scan(&n); err != nil {
			return s.wrap("add evidence", err)
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if err := s.insertEvidence(ctx, tx, e); err != nil {
			return err
		}
		if ev == nil {
			return nil
		}
		ev.Tenant, ev.IncidentID = e.Tenant, e.IncidentID
		return s.appendEvent(ctx, tx, ev)
	})
}

const evidenceCols = `tenant, incident_id, id, name, content_type, size, sha256, uploaded_by, uploaded_at`

func scanEvidence(sc interface{ Scan(...any) error }, sealed *[]byte) (*store.IncidentEvidence, error) {
	var e store.IncidentEvidence
	var at int64
	dst := []any{&e.Tenant, &e.IncidentID, &e.ID, &e.Name, &e.ContentType, &e.Size, &e.SHA256, &e.UploadedBy, &at}
	if sealed != nil {
		dst = append(dst, sealed)
	}
	if err := sc.Scan(dst...); err != nil {
		return nil, err
	}
	e.UploadedAt = fromTS(at)
	return &e, nil
}

// ListEvidence lists the attachments of one incident, oldest first.
func (s *DB) ListEvidence(ctx context.Context, tenant, incidentID string) ([]store.IncidentEvidence, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+evidenceCols+` FROM incident_evidence WHERE tenant = ? AND incident_id = ? ORDER BY uploaded_at, id`), tenant, incidentID)
	if err != nil {
		return nil, s.wrap("list evidence", err)
	}
	defer rows.Close()
	var out []store.IncidentEvidence
	for rows.Next() {
		e, err := scanEvidence(rows, nil)
		if err != nil {
			return nil, s.wrap("scan evidence", err)
		}
		out = append(out, *e)
	}
	return out, s.wrap("list evidence", rows.Err())
}

// Evidence returns one attachment with its sealed bytes.
func (s *DB) Evidence(ctx context.Context, tenant, incidentID, id string) (*store.IncidentEvidence, error) {
	var sealed []byte
	e, err := scanEvidence(s.db.QueryRowContext(ctx, s.q(`SELECT `+evidenceCols+`, sealed FROM incident_evidence WHERE tenant = ? AND incident_id = ? AND id = ?`),
		tenant, incidentID, id), &sealed)
	if err != nil {
		return nil, s.wrap("evidence", err)
	}
	e.Sealed = sealed
	return e, nil
}

// dumpIncidents reads every incident with its timeline and sealed evidence.
func (s *DB) dumpIncidents(ctx context.Context) ([]store.IncidentRecord, error) {
	incs, err := s.ListIncidents(ctx, store.IncidentFilter{AllTenants: true})
	if err != nil {
		return nil, err
	}
	out := make([]store.IncidentRecord, 0, len(incs))
	for _, i := range incs {
		rec := store.IncidentRecord{Incident: i}
		if rec.Events, err = s.IncidentEvents(ctx, i.Tenant, i.ID); err != nil {
			return nil, err
		}
		list, err := s.ListEvidence(ctx, i.Tenant, i.ID)
		if err != nil {
			return nil, err
		}
		for _, e := range list {
			full, err := s.Evidence(ctx, i.Tenant, i.ID, e.ID)
			if err != nil {
				return nil, err
			}
			rec.Evidence = append(rec.Evidence, *full)
		}
		out = append(out, rec)
	}
	return out, nil
}

// restoreIncident writes one backed-up incident inside the restore transaction.
func (s *DB) restoreIncident(ctx context.Context, tx *sql.Tx, rec *store.IncidentRecord) error {
	if err := s.insertIncident(ctx, tx, &rec.Incident); err != nil {
		return err
	}
	for i := range rec.Events {
		if err := s.insertEvent(ctx, tx, &rec.Events[i]); err != nil {
			return err
		}
	}
	for i := range rec.Evidence {
		if err := s.insertEvidence(ctx, tx, &rec.Evidence[i]); err != nil {
			return err
		}
	}
	return nil
}
