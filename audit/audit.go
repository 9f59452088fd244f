// Package audit is kyojin's append-only, hash-chained audit log. Every
// security-relevant action (logins and failed logins, MFA enrolment, role
// and configuration changes, approvals, releases from quarantine) is one
// entry; each entry's hash covers its content and the previous entry's hash,
// so that `kyojin audit verify` detects any modified, removed or reordered
// entry. The guideline requires access records to be kept and protected
// against tampering (standards clause 6.1 (5) ログの取得等; clause 7 監査).
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/store"
)

// HeadSetting is the settings key holding "SEQ:HASH" of the newest entry, so
// that truncating the end of the log is detected as well.
const HeadSetting = "audit.head"

// hashDomain separates kyojin audit hashes from any other SHA-256 use.
const hashDomain = "kyojin-audit/v1"

// Actions recorded by kyojin. Components may add their own, written
// "area.verb".
const (
	LoginOK        = "login.ok"
	LoginFail      = "login.fail"
	LoginLocked    = "login.locked"
	LoginMFA       = "login.mfa"
	LoginMFAFail   = "login.mfa_fail"
	Logout         = "logout"
	MFAEnrol       = "mfa.enrol"
	MFARemove      = "mfa.remove"
	UserCreate     = "user.create"
	UserUpdate     = "user.update"
	UserDisable    = "user.disable"
	UserUnlock     = "user.unlock"
	RoleChange     = "role.change"
	ConfigChange   = "config.change"
	AuditExport    = "audit.export"
	ServerStart    = "server.start"
	PasswordChange = "password.change"
	// PasswordChangeFail is a self-service change with a wrong current password.
	PasswordChangeFail = "password.change_fail"
	// PasswordReset is an administrator's reset (the user must change it).
	PasswordReset = "password.reset"
	// QuarantineRelease is an original taken out of the sanitization quarantine.
	QuarantineRelease = "quarantine.release"
)

// Log appends entries to a store.
type Log struct {
	s   store.Store
	now func() time.Time
}

// New returns a log writing to s.
func New(s store.Store) *Log { return &Log{s: s, now: time.Now} }

// Event is what a caller records; Details must marshal to a JSON object.
type Event struct {
	Actor   string
	Action  string
	Target  string
	Details any
}

// Append records ev as the next entry of the chain.
func (l *Log) Append(ctx context.Context, ev Event) (*store.AuditEntry, error) {
	if ev.Action == "" {
		return nil, errors.New("audit: empty action")
	}
	details, err := Canonical(ev.Details)
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", ev.Action, err)
	}
	e := &store.AuditEntry{Actor: ev.Actor, Action: ev.Action, Target: ev.Target, Details: details}
	err = l.s.AppendAudit(ctx, e, func(last, e *store.AuditEntry) error {
		// The time is taken under the append lock so that it never goes
		// backwards along the chain; a clock stepped back is clamped.
		e.Time = l.now().UTC().Truncate(time.Microsecond)
		e.Seq, e.PrevHash = 1, ""
		if last != nil {
			e.Seq, e.PrevHash = last.Seq+1, last.Hash
			if e.Time.Before(last.Time) {
				e.Time = last.Time
			}
		}
		e.Hash = Hash(e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", ev.Action, err)
	}
	// The anchor is written after the entry; a crash in between leaves it
	// one behind, which Verify reports as a warning, not as tampering.
	if err := l.s.SetSetting(ctx, HeadSetting, fmt.Sprintf("%d:%s", e.Seq, e.Hash)); err != nil {
		return e, fmt.Errorf("audit head: %w", err)
	}
	return e, nil
}

// Canonical renders details as compact JSON with object keys sorted and
// numbers kept verbatim, so that the same content always hashes the same.
// nil becomes {}; anything but an object is rejected.
func Canonical(details any) (string, error) {
	if details == nil {
		return "{}", nil
	}
	raw, err := json.Marshal(details)
	if err != nil {
		return "", fmt.Errorf("details: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", fmt.Errorf("details: %w", err)
	}
	if _, ok := v.(map[string]any); !ok {
		return "", fmt.Errorf("details must be a JSON object, not %s", raw)
	}
	out, err := json.Marshal(v) // map keys are sorted by encoding/json
	if err != nil {
		return "", fmt.Errorf("details: %w", err)
	}
	return string(out), nil
}

// Hash computes an entry's hash: SHA-256 over the domain string and every
// field, each as a big-endian uint64 length followed by its bytes, in the
// order seq, time (RFC 3339, UTC, microseconds), actor, action, target,
// details, previous hash. Length prefixes make the encoding unambiguous.
func Hash(e *store.AuditEntry) string {
	h := sha256.New()
	var n [8]byte
	for _, f := range []string{
		hashDomain,
		strconv.FormatInt(e.Seq, 10),
		e.Time.UTC().Format("2006-01-02T15:04:05.000000Z07:00"),
		e.Actor, e.Action, e.Target, e.Details, e.PrevHash,
	} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Problem is one inconsistency found by Verify.
type Problem struct {
	Seq     int64  `json:"seq"`
	Kind    string `json:"kind"` // "modified", "removed", "reordered", "truncated", "anchor"
	Message string `json:"message"`
	Warning bool   `json:"warning,omitempty"`
}

// Report is the outcome of Verify.
type Report struct {
	Entries  int       `json:"entries"`
	HeadSeq  int64     `json:"head_seq"`
	HeadHash string    `json:"head_hash"`
	Problems []Problem `json:"problems"`
}

// OK reports whether the chain verified without errors.
func (r *Report) OK() bool {
	for _, p := range r.Problems {
		if !p.Warning {
			return false
		}
	}
	return true
}

// pageSize bounds memory while verifying large logs.
const pageSize = 2000

// Verify walks the whole log in sequence order and checks every link.
//   - a recomputed hash that differs from the stored one: the entry was modified;
//   - a gap in sequence numbers: entries were removed;
//   - a previous-hash that does not match the preceding entry while the
//     sequence is contiguous: entries were removed and renumbered, or moved;
//   - time going backwards: entries were reordered;
//   - a head anchor beyond the last entry: the end of the log was cut off.
func Verify(ctx context.Context, s store.Store) (*Report, error) {
	r := &Report{}
	var prev *store.AuditEntry
	for offset := 0; ; offset += pageSize {
		page, err := s.AuditEntries(ctx, store.AuditFilter{Limit: pageSize, Offset: offset})
		if err != nil {
			return nil, err
		}
		for i := range page {
			e := &page[i]
			r.check(prev, e)
			prev = e
			r.Entries++
		}
		if len(page) < pageSize {
			break
		}
	}
	if prev != nil {
		r.HeadSeq, r.HeadHash = prev.Seq, prev.Hash
	}
	head, err := s.Setting(ctx, HeadSetting)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if prev != nil {
			r.add(0, "anchor", "head anchor missing although the log has entries", false)
		}
	case err != nil:
		return nil, err
	default:
		seqStr, hash, _ := strings.Cut(head, ":")
		seq, _ := strconv.ParseInt(seqStr, 10, 64)
		switch {
		case seq > r.HeadSeq:
			r.add(seq, "truncated", fmt.Sprintf("head anchor names entry %d but the log ends at %d: entries were removed from the end", seq, r.HeadSeq), false)
		case seq == r.HeadSeq && hash != r.HeadHash:
			r.add(seq, "anchor", "head anchor hash differs from the last entry", false)
		case seq < r.HeadSeq:
			r.add(seq, "anchor", fmt.Sprintf("head anchor is behind the log (%d < %d), e.g. after a crash", seq, r.HeadSeq), true)
		}
	}
	return r, nil
}

func (r *Report) add(seq int64, kind, msg string, warning bool) {
	r.Problems = append(r.Problems, Problem{Seq: seq, Kind: kind, Message: msg, Warning: warning})
}

func (r *Report) check(prev, e *store.AuditEntry) {
	if got := Hash(e); got != e.Hash {
		r.add(e.Seq, "modified", "content does not match its hash", false)
	}
	wantSeq, wantPrev := int64(1), ""
	if prev != nil {
		wantSeq, wantPrev = prev.Seq+1, prev.Hash
	}
	switch {
	case e.Seq != wantSeq:
		r.add(e.Seq, "removed", fmt.Sprintf("sequence jumps from %d to %d", wantSeq-1, e.Seq), false)
	case e.PrevHash != wantPrev:
		r.add(e.Seq, "reordered", "previous-hash link does not match the preceding entry", false)
	}
	if prev != nil && e.Time.Before(prev.Time) {
		r.add(e.Seq, "reordered", fmt.Sprintf("time goes backwards (%s after %s)", e.Time.Format(time.RFC3339), prev.Time.Format(time.RFC3339)), false)
	}
}
