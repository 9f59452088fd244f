// Package storetest is the one conformance suite every store.Store
// implementation must pass; store/sqlite and store/postgres run it.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/sqlite"
	"github.com/kyojin/kyojin/store/sqlstore"
)

// Opener returns a fresh, empty, migrated store that the test owns.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store, open Opener)
	}{
		{"Migrations", testMigrations},
		{"Users", testUsers},
		{"Grants", testGrants},
		{"Sessions", testSessions},
		{"TOTP", testTOTP},
		{"WebAuthn", testWebAuthn},
		{"LoginAttempts", testLoginAttempts},
		{"AuditAppend", testAuditAppend},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditFilter", testAuditFilter},
		{"Settings", testSettings},
		{"DumpRestore", testDumpRestore},
		{"Transfers", testTransfers},
		{"DownloadLinks", testDownloadLinks},
		{"AlertDedup", testAlertDedup},
		{"AlertSuppression", testAlertSuppression},
		{"AlertIsolation", testAlertIsolation},
		{"AlertHandling", testAlertHandling},
		{"AlertConcurrentMerge", testAlertConcurrentMerge},
		{"AlertHints", testAlertHints},
		{"AlertHostileText", testAlertHostileText},
		{"AlertRetention", testAlertRetention},
		{"Incidents", testIncidents},
		{"IncidentTenants", testIncidentTenants},
		{"IncidentEvidence", testIncidentEvidence},
		{"IncidentDumpRestore", testIncidentDumpRestore},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t), open)
		})
	}
}

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testMigrations(t *testing.T, s store.Store, _ Opener) {
	must(t, s.Migrate(ctx)) // second run is a no-op
	st, err := s.MigrationStatus(ctx)
	must(t, err)
	if len(st) == 0 {
		t.Fatal("no migrations reported")
	}
	for i, m := range st {
		if !m.Applied || m.AppliedAt.IsZero() {
			t.Errorf("migration %d %q not applied: %+v", m.Version, m.Name, m)
		}
		// Versions increase; a branch may hold a number reserved for
		// another one (issue 9: 4 alerts, 5 incidents) before the merge.
		if i > 0 && m.Version <= st[i-1].Version {
			t.Errorf("migration %d has version %d after %d: versions must increase", i, m.Version, st[i-1].Version)
		}
	}
}

func newUser(t *testing.T, s store.Store, name string) *store.User {
	t.Helper()
	u := &store.User{Name: name, DisplayName: "表示 " + name, PasswordHash: "$argon2id$x"}
	must(t, s.CreateUser(ctx, u))
	if u.ID == 0 {
		t.Fatal("CreateUser did not set ID")
	}
	return u
}

func testUsers(t *testing.T, s store.Store, _ Opener) {
	a := newUser(t, s, "alice")
	b := newUser(t, s, "bob")
	if a.ID == b.ID {
		t.Fatal("users share an id")
	}
	if err := s.CreateUser(ctx, &store.User{Name: "alice"}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate name: got %v, want ErrConflict", err)
	}
	got, err := s.UserByName(ctx, "alice")
	must(t, err)
	if got.ID != a.ID || got.DisplayName != "表示 alice" || got.PasswordHash != "$argon2id$x" || got.CreatedAt.IsZero() {
		t.Errorf("UserByName = %+v", got)
	}
	lock := time.Now().Add(time.Hour).UTC().Truncate(time.Microsecond)
	if got.MustChangePassword {
		t.Error("a new user must not be forced to change the password")
	}
	got.FailedLogins, got.LockedUntil, got.Disabled, got.DisplayName, got.MustChangePassword = 3, lock, true, "新しい名前", true
	must(t, s.UpdateUser(ctx, got))
	again, err := s.UserByID(ctx, a.ID)
	must(t, err)
	if again.FailedLogins != 3 || !again.LockedUntil.Equal(lock) || !again.Disabled || again.DisplayName != "新しい名前" || !again.MustChangePassword {
		t.Errorf("after update = %+v", again)
	}
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing user: %v", err)
	}
	if _, err := s.UserByID(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing id: %v", err)
	}
	if err := s.UpdateUser(ctx, &store.User{ID: 9999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	all, err := s.ListUsers(ctx)
	must(t, err)
	if len(all) != 2 || all[0].Name != "alice" || all[1].Name != "bob" {
		t.Errorf("ListUsers = %+v", all)
	}
}

func testGrants(t *testing.T, s store.Store, _ Opener) {
	u := newUser(t, s, "officer")
	want := []store.Grant{{UserID: u.ID, Role: "security-officer", Scope: "department:somu"}, {UserID: u.ID, Role: "staff"}}
	must(t, s.SetGrants(ctx, u.ID, want))
	got, err := s.Grants(ctx, u.ID)
	must(t, err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Grants = %+v, want %+v", got, want)
	}
	must(t, s.SetGrants(ctx, u.ID, want[1:]))
	got, _ = s.Grants(ctx, u.ID)
	if len(got) != 1 || got[0].Role != "staff" {
		t.Errorf("grants not replaced: %+v", got)
	}
	if err := s.SetGrants(ctx, u.ID, []store.Grant{want[1], want[1]}); err == nil {
		t.Error("duplicate grant accepted")
	}
	got, _ = s.Grants(ctx, u.ID)
	if len(got) != 1 {
		t.Errorf("failed SetGrants was not atomic: %+v", got)
	}
}

func testSessions(t *testing.T, s store.Store, _ Opener) {
	u := newUser(t, s, "carol")
	now := time.Now().UTC().Truncate(time.Microsecond)
	se := &store.Session{ID: "h1", State: "anonymous", CSRF: "c1", CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(ctx, se))
	if err := s.CreateSession(ctx, se); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate session id: %v", err)
	}
	se.UserID, se.State, se.Pending = u.ID, "ok", `{"x":1}`
	must(t, s.UpdateSession(ctx, se))
	got, err := s.Session(ctx, "h1")
	must(t, err)
	if !reflect.DeepEqual(got, se) {
		t.Errorf("Session = %+v, want %+v", got, se)
	}
	must(t, s.CreateSession(ctx, &store.Session{ID: "h2", UserID: u.ID, State: "ok", CSRF: "c2", CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(-time.Minute)}))
	must(t, s.CreateSession(ctx, &store.Session{ID: "h3", State: "anonymous", CSRF: "c3", CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(time.Hour)}))
	n, err := s.DeleteExpiredSessions(ctx, now)
	must(t, err)
	if n != 1 {
		t.Errorf("expired deleted = %d, want 1", n)
	}
	must(t, s.DeleteUserSessions(ctx, u.ID))
	if _, err := s.Session(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of logged-out user still there: %v", err)
	}
	must(t, s.DeleteSession(ctx, "h3"))
	if _, err := s.Session(ctx, "h3"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session still there: %v", err)
	}
	if err := s.UpdateSession(ctx, &store.Session{ID: "gone"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update missing session: %v", err)
	}
}

func testTOTP(t *testing.T, s store.Store, _ Opener) {
	u := newUser(t, s, "dave")
	if _, err := s.TOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TOTP before enrolment: %v", err)
	}
	sealed := []byte{0, 1, 2, 0xff, 0xfe}
	must(t, s.PutTOTP(ctx, &store.TOTP{UserID: u.ID, Sealed: sealed}))
	must(t, s.PutTOTP(ctx, &store.TOTP{UserID: u.ID, Sealed: sealed, Confirmed: true}))
	got, err := s.TOTP(ctx, u.ID)
	must(t, err)
	if !bytes.Equal(got.Sealed, sealed) || !got.Confirmed || got.LastStep != 0 {
		t.Errorf("TOTP = %+v", got)
	}
	for _, c := range []struct {
		step int64
		ok   bool
	}{{100, true}, {100, false}, {99, false}, {101, true}} {
		ok, err := s.UseTOTPStep(ctx, u.ID, c.step)
		must(t, err)
		if ok != c.ok {
			t.Errorf("UseTOTPStep(%d) = %v, want %v", c.step, ok, c.ok)
		}
	}
	must(t, s.DeleteTOTP(ctx, u.ID))
	if _, err := s.TOTP(ctx, u.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("TOTP after delete: %v", err)
	}
}

func testWebAuthn(t *testing.T, s store.Store, _ Opener) {
	u := newUser(t, s, "erin")
	c := &store.WebAuthnCredential{ID: []byte{9, 8, 7}, UserID: u.ID, Name: "key 1", Data: []byte(`{"signCount":1}`)}
	must(t, s.AddWebAuthn(ctx, c))
	if err := s.AddWebAuthn(ctx, c); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate credential: %v", err)
	}
	c.Data = []byte(`{"signCount":2}`)
	must(t, s.UpdateWebAuthn(ctx, c))
	got, err := s.WebAuthnCredentials(ctx, u.ID)
	must(t, err)
	if len(got) != 1 || string(got[0].Data) != `{"signCount":2}` || got[0].Name != "key 1" {
		t.Errorf("credentials = %+v", got)
	}
	if err := s.DeleteWebAuthn(ctx, u.ID+1, c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting another user's key: %v", err)
	}
	must(t, s.DeleteWebAuthn(ctx, u.ID, c.ID))
	got, _ = s.WebAuthnCredentials(ctx, u.ID)
	if len(got) != 0 {
		t.Errorf("credential not deleted: %+v", got)
	}
}

func testLoginAttempts(t *testing.T, s store.Store, _ Opener) {
	now := time.Now()
	for i, ok := range []bool{false, false, true, false} {
		must(t, s.RecordLoginAttempt(ctx, store.LoginAttempt{Key: "ip:192.0.2.1", At: now.Add(time.Duration(i) * time.Second), OK: ok}))
	}
	must(t, s.RecordLoginAttempt(ctx, store.LoginAttempt{Key: "ip:192.0.2.1", At: now.Add(-time.Hour)}))
	must(t, s.RecordLoginAttempt(ctx, store.LoginAttempt{Key: "ip:192.0.2.2", At: now}))
	n, err := s.CountFailures(ctx, "ip:192.0.2.1", now.Add(-time.Minute))
	must(t, err)
	if n != 3 {
		t.Errorf("failures = %d, want 3", n)
	}
}

// seal chains entries the way package audit does, minus the hashing.
func seal(last, e *store.AuditEntry) error {
	e.Seq = 1
	e.PrevHash = ""
	if last != nil {
		e.Seq = last.Seq + 1
		e.PrevHash = last.Hash
	}
	e.Hash = fmt.Sprintf("h%d", e.Seq)
	return nil
}

func testAuditAppend(t *testing.T, s store.Store, _ Opener) {
	at := time.Date(2026, 4, 1, 9, 0, 0, 123456789, time.UTC)
	for i := range 3 {
		must(t, s.AppendAudit(ctx, &store.AuditEntry{Time: at.Add(time.Duration(i) * time.Minute), Actor: "alice", Action: "login", Target: "user/alice", Details: `{"ip":"192.0.2.1"}`}, seal))
	}
	if err := s.AppendAudit(ctx, &store.AuditEntry{Actor: "x"}, func(_, _ *store.AuditEntry) error { return errors.New("refused") }); err == nil {
		t.Error("seal error not returned")
	}
	got, err := s.AuditEntries(ctx, store.AuditFilter{})
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("entries = %d, want 3", len(got))
	}
	for i, e := range got {
		if e.Seq != int64(i+1) || e.Hash != fmt.Sprintf("h%d", i+1) || (i > 0 && e.PrevHash != got[i-1].Hash) {
			t.Errorf("entry %d = %+v", i, e)
		}
	}
	// Microsecond precision survives the round trip; the hash covers it.
	if want := at.Truncate(time.Microsecond); !got[0].Time.Equal(want) || got[0].Details != `{"ip":"192.0.2.1"}` {
		t.Errorf("entry 0 time %v details %s", got[0].Time, got[0].Details)
	}
}

func testAuditConcurrent(t *testing.T, s store.Store, _ Opener) {
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- s.AppendAudit(ctx, &store.AuditEntry{Time: time.Now(), Actor: fmt.Sprintf("w%d", w), Action: "test", Target: fmt.Sprint(i), Details: "{}"}, seal)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	got, err := s.AuditEntries(ctx, store.AuditFilter{})
	must(t, err)
	if len(got) != workers*each {
		t.Fatalf("entries = %d, want %d", len(got), workers*each)
	}
	for i, e := range got {
		if e.Seq != int64(i+1) || (i > 0 && e.PrevHash != got[i-1].Hash) {
			t.Fatalf("chain forked at %d: %+v", i, e)
		}
	}
}

func testAuditFilter(t *testing.T, s store.Store, _ Opener) {
	base := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	for i, a := range []struct{ actor, action string }{
		{"alice", "login.ok"}, {"bob", "login.fail"}, {"alice", "user.create"}, {"carol", "login.ok"}, {"alice", "login_x"},
	} {
		must(t, s.AppendAudit(ctx, &store.AuditEntry{Time: base.Add(time.Duration(i) * time.Hour), Actor: a.actor, Action: a.action, Details: "{}"}, seal))
	}
	cases := []struct {
		f    store.AuditFilter
		seqs []int64
	}{
		{store.AuditFilter{Actor: "alice"}, []int64{1, 3, 5}},
		{store.AuditFilter{Action: "login."}, []int64{1, 2, 4}},
		{store.AuditFilter{Action: "login"}, []int64{1, 2, 4, 5}},
		{store.AuditFilter{Action: "%"}, nil},
		{store.AuditFilter{Since: base.Add(time.Hour), Until: base.Add(3 * time.Hour)}, []int64{2, 3}},
		{store.AuditFilter{Desc: true, Limit: 2}, []int64{5, 4}},
		{store.AuditFilter{Limit: 2, Offset: 1}, []int64{2, 3}},
		{store.AuditFilter{Offset: 3}, []int64{4, 5}},
		{store.AuditFilter{Actor: "alice", Action: "login"}, []int64{1, 5}},
	}
	for _, c := range cases {
		got, err := s.AuditEntries(ctx, c.f)
		must(t, err)
		var seqs []int64
		for _, e := range got {
			seqs = append(seqs, e.Seq)
		}
		if !reflect.DeepEqual(seqs, c.seqs) {
			t.Errorf("filter %+v: seqs %v, want %v", c.f, seqs, c.seqs)
		}
		n, err := s.CountAudit(ctx, store.AuditFilter{Actor: c.f.Actor, Action: c.f.Action, Since: c.f.Since, Until: c.f.Until})
		must(t, err)
		if c.f.Limit == 0 && c.f.Offset == 0 && n != len(c.seqs) {
			t.Errorf("count %+v = %d, want %d", c.f, n, len(c.seqs))
		}
	}
}

func testSettings(t *testing.T, s store.Store, _ Opener) {
	if _, err := s.Setting(ctx, "k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unset setting: %v", err)
	}
	must(t, s.SetSetting(ctx, "k", "v1"))
	must(t, s.SetSetting(ctx, "k", "値2"))
	v, err := s.Setting(ctx, "k")
	must(t, err)
	if v != "値2" {
		t.Errorf("setting = %q", v)
	}
}

func testDumpRestore(t *testing.T, s store.Store, open Opener) {
	a := newUser(t, s, "alice")
	b := newUser(t, s, "bob")
	must(t, s.SetGrants(ctx, a.ID, []store.Grant{{UserID: a.ID, Role: "ciso"}}))
	must(t, s.SetGrants(ctx, b.ID, []store.Grant{{UserID: b.ID, Role: "security-manager", Scope: "division:jumin"}}))
	must(t, s.PutTOTP(ctx, &store.TOTP{UserID: a.ID, Sealed: []byte{1, 2, 3}, Confirmed: true, LastStep: 42}))
	must(t, s.AddWebAuthn(ctx, &store.WebAuthnCredential{ID: []byte{7}, UserID: b.ID, Name: "k", Data: []byte("{}")}))
	must(t, s.AppendAudit(ctx, &store.AuditEntry{Time: time.Now(), Actor: "alice", Action: "x", Details: "{}"}, seal))
	must(t, s.SetSetting(ctx, "audit.head", "h1"))
	tr, files := sampleTransfer("t1", time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC))
	must(t, s.CreateTransfer(ctx, tr, files))
	t0 := time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC)
	_, err := s.RecordAlerts(ctx, []store.Alert{Hit("town-a", "r1", "k", t0), Hit("town-a", "r1", "k", t0.Add(2*time.Minute)), Hit("town-b", "r2", "k", t0)}, time.Hour, t0)
	must(t, err)
	must(t, s.SetAlertStatus(ctx, store.AllTenants, 1, store.AlertAcknowledged, store.AlertNote{Time: t0, Author: "alice", Text: "調査中"}))
	must(t, s.AddSuppression(ctx, &store.Suppression{Tenant: "town-b", Rule: "r2", Until: t0.Add(time.Hour), Reason: "誤検知", Who: "bob", CreatedAt: t0}))
	snap, err := s.Dump(ctx)
	must(t, err)
	if snap.Format != store.SnapshotFormat || snap.Schema < 1 || len(snap.Users) != 2 || len(snap.Grants) != 2 || len(snap.TOTP) != 1 || len(snap.WebAuthn) != 1 || len(snap.Audit) != 1 ||
		len(snap.Transfers) != 1 || len(snap.Transfers[0].Files) != 2 || len(snap.Alerts) != 2 || len(snap.Alerts[0].Events) != 2 || len(snap.Suppressions) != 1 {
		t.Fatalf("snapshot incomplete: %+v", snap)
	}
	if err := s.Restore(ctx, snap); !errors.Is(err, store.ErrNotEmpty) {
		t.Errorf("restore into non-empty store: %v", err)
	}
	bad := *snap
	bad.Format = "other"
	dst := open(t)
	if err := dst.Restore(ctx, &bad); err == nil {
		t.Error("unknown format accepted")
	}
	must(t, dst.Restore(ctx, snap))
	again, err := dst.Dump(ctx)
	must(t, err)
	again.CreatedAt = snap.CreatedAt
	if !reflect.DeepEqual(again, snap) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", again, snap)
	}
	// New users and alerts after a restore must not collide with restored ids.
	c := newUser(t, dst, "carol")
	if c.ID == a.ID || c.ID == b.ID {
		t.Errorf("new user reuses restored id %d", c.ID)
	}
	hits := []store.Alert{Hit("town-c", "r1", "k", t0)}
	_, err = dst.RecordAlerts(ctx, hits, time.Hour, t0)
	must(t, err)
	sp := &store.Suppression{Tenant: "town-c", Rule: "r", Until: t0.Add(time.Hour), Reason: "x", Who: "y", CreatedAt: t0}
	must(t, dst.AddSuppression(ctx, sp))
	if hits[0].ID <= snap.Alerts[1].ID || sp.ID <= snap.Suppressions[0].ID {
		t.Errorf("new alert %d / suppression %d reuse restored ids", hits[0].ID, sp.ID)
	}
}

// Migrated opens a store with open, migrates it, and closes it when the test
// ends; implementations use it to build their Opener.
func Migrated(t testing.TB, open func() (store.Store, error)) store.Store {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	must(t, s.Migrate(ctx))
	return s
}

// SQLite returns a fresh, migrated SQLite store in a temporary directory,
// for tests of packages built on the store.
func SQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	var db *sqlstore.DB
	Migrated(t, func() (store.Store, error) {
		var err error
		db, err = sqlite.Open(filepath.Join(t.TempDir(), "kyojin.db"))
		return db, err
	})
	return db
}
