package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/kyojin/kyojin/store"
)

// Recipients are stored as one newline-separated column: login names never
// contain a newline (auth validates them) and the list is only ever read whole.
func joinNames(n []string) string { return strings.Join(n, "\n") }

func splitNames(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// CreateTransfer inserts the transfer and its files atomically, so that a
// failure leaves nothing half-stored.
func (s *DB) CreateTransfer(ctx context.Context, t *store.Transfer, files []store.TransferFile) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap("begin", err)
	}
	defer tx.Rollback()
	if err := s.insertTransfer(ctx, tx, t, files); err != nil {
		return err
	}
	return s.wrap("commit transfer", tx.Commit())
}

// insertTransfer writes one transfer and its files inside tx (also used by Restore).
func (s *DB) insertTransfer(ctx context.Context, tx *sql.Tx, t *store.Transfer, files []store.TransferFile) error {
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO transfers (id, direction, sender, recipients, purpose, classification, encrypt,
		status, approval_reason, approver, decision, created_at, decided_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		t.ID, t.Direction, t.Sender, joinNames(t.Recipients), t.Purpose, t.Classification, b2i(t.Encrypt),
		t.Status, t.ApprovalReason, t.Approver, t.Decision, ts(t.CreatedAt), ts(t.DecidedAt), ts(t.ExpiresAt)); err != nil {
		return s.wrap("insert transfer", err)
	}
	for _, f := range files {
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO transfer_files (transfer_id, seq, name, size, sha256, type, verdict, reason,
			actions, quarantine, out_name, out_size, out_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			t.ID, f.Seq, f.Name, f.Size, f.SHA256, f.Type, f.Verdict, f.Reason, f.Actions, f.Quarantine, f.OutName, f.OutSize, f.OutSHA256); err != nil {
			return s.wrap("insert transfer file", err)
		}
	}
	return nil
}

const transferCols = `id, direction, sender, recipients, purpose, classification, encrypt, status, approval_reason,
	approver, decision, created_at, decided_at, expires_at`

func scanTransfer(sc interface{ Scan(...any) error }) (*store.Transfer, error) {
	var t store.Transfer
	var rec string
	var enc int
	var created, decided, expires int64
	if err := sc.Scan(&t.ID, &t.Direction, &t.Sender, &rec, &t.Purpose, &t.Classification, &enc, &t.Status,
		&t.ApprovalReason, &t.Approver, &t.Decision, &created, &decided, &expires); err != nil {
		return nil, err
	}
	t.Recipients, t.Encrypt = splitNames(rec), enc != 0
	t.CreatedAt, t.DecidedAt, t.ExpiresAt = fromTS(created), fromTS(decided), fromTS(expires)
	return &t, nil
}

// Transfer returns one transfer.
func (s *DB) Transfer(ctx context.Context, id string) (*store.Transfer, error) {
	t, err := scanTransfer(s.db.QueryRowContext(ctx, s.q(`SELECT `+transferCols+` FROM transfers WHERE id=?`), id))
	if err != nil {
		return nil, s.wrap("transfer", err)
	}
	return t, nil
}

// ListTransfers returns the newest transfers first.
func (s *DB) ListTransfers(ctx context.Context, limit int) ([]store.Transfer, error) {
	return s.TransferHistory(ctx, store.TransferFilter{Limit: limit})
}

// TransferHistory returns the transfers matching f, newest first.
func (s *DB) TransferHistory(ctx context.Context, f store.TransferFilter) ([]store.Transfer, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	var where []string
	var args []any
	if !f.Since.IsZero() {
		where, args = append(where, "created_at>=?"), append(args, ts(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = append(where, "created_at<?"), append(args, ts(f.Until))
	}
	if f.Sender != "" {
		where, args = append(where, "sender=?"), append(args, f.Sender)
	}
	if f.Status != "" {
		where, args = append(where, "status=?"), append(args, f.Status)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+transferCols+` FROM transfers`+cond+` ORDER BY created_at DESC, id LIMIT ?`), append(args, limit)...)
	if err != nil {
		return nil, s.wrap("list transfers", err)
	}
	defer rows.Close()
	var out []store.Transfer
	for rows.Next() {
		t, err := scanTransfer(rows)
		if err != nil {
			return nil, s.wrap("scan transfer", err)
		}
		out = append(out, *t)
	}
	return out, s.wrap("list transfers", rows.Err())
}

// TransferFiles returns a transfer's files in upload order.
func (s *DB) TransferFiles(ctx context.Context, id string) ([]store.TransferFile, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT transfer_id, seq, name, size, sha256, type, verdict, reason, actions,
		quarantine, out_name, out_size, out_sha256 FROM transfer_files WHERE transfer_id=? ORDER BY seq`), id)
	if err != nil {
		return nil, s.wrap("transfer files", err)
	}
	defer rows.Close()
	var out []store.TransferFile
	for rows.Next() {
		var f store.TransferFile
		if err := rows.Scan(&f.TransferID, &f.Seq, &f.Name, &f.Size, &f.SHA256, &f.Type, &f.Verdict, &f.Reason, &f.Actions,
			&f.Quarantine, &f.OutName, &f.OutSize, &f.OutSHA256); err != nil {
			return nil, s.wrap("scan transfer file", err)
		}
		out = append(out, f)
	}
	return out, s.wrap("transfer files", rows.Err())
}

// DecideTransfer is a compare-and-set on the status, so that two approvers
// deciding at once cannot both win.
func (s *DB) DecideTransfer(ctx context.Context, t *store.Transfer, from string) error {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE transfers SET status=?, approver=?, decision=?, decided_at=? WHERE id=? AND status=?`),
		t.Status, t.Approver, t.Decision, ts(t.DecidedAt), t.ID, from)
	if err != nil {
		return s.wrap("decide transfer", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("decide transfer", err)
	} else if n == 0 {
		if _, err := s.Transfer(ctx, t.ID); err != nil {
			return err
		}
		return store.ErrStale
	}
	return nil
}

// ExpireTransfers marks every transfer past its expiry as expired.
func (s *DB) ExpireTransfers(ctx context.Context, now time.Time) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id FROM transfers WHERE expires_at<=? AND status<>'expired'`), ts(now))
	if err != nil {
		return nil, s.wrap("expired transfers", err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, s.wrap("scan expired", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	var out []string
	for _, id := range ids {
		res, err := s.db.ExecContext(ctx, s.q(`UPDATE transfers SET status='expired' WHERE id=? AND status<>'expired'`), id)
		if err != nil {
			return out, s.wrap("expire transfer", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			out = append(out, id)
		}
	}
	return out, nil
}

// CreateDownloadLink stores a link.
func (s *DB) CreateDownloadLink(ctx context.Context, l *store.DownloadLink) error {
	_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO download_links (token, transfer_id, seq, username, created_at, expires_at, used_at)
		VALUES (?, ?, ?, ?, ?, ?, 0)`), l.Token, l.TransferID, l.Seq, l.User, ts(l.CreatedAt), ts(l.ExpiresAt))
	return s.wrap("insert download link", err)
}

// RedeemDownloadLink uses a link once: the conditional UPDATE is the
// single-use guarantee, whatever the engine's isolation level.
func (s *DB) RedeemDownloadLink(ctx context.Context, token string, now time.Time) (*store.DownloadLink, error) {
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE download_links SET used_at=? WHERE token=? AND used_at=0 AND expires_at>?`),
		ts(now), token, ts(now))
	if err != nil {
		return nil, s.wrap("redeem link", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return nil, s.wrap("redeem link", err)
	}
	var l store.DownloadLink
	var created, expires, used int64
	err = s.db.QueryRowContext(ctx, s.q(`SELECT token, transfer_id, seq, username, created_at, expires_at, used_at FROM download_links WHERE token=?`), token).
		Scan(&l.Token, &l.TransferID, &l.Seq, &l.User, &created, &expires, &used)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	} else if err != nil {
		return nil, s.wrap("download link", err)
	}
	l.CreatedAt, l.ExpiresAt, l.UsedAt = fromTS(created), fromTS(expires), fromTS(used)
	if n == 0 {
		if used != 0 {
			return nil, store.ErrUsed
		}
		return nil, store.ErrExpired
	}
	return &l, nil
}
