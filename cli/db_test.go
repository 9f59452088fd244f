package cli

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/sqlite"
)

func TestDBMigrateStatus(t *testing.T) {
	dir := t.TempDir()
	code, out, _ := run(t, "db", "--data", dir, "status")
	if code != 1 || !strings.Contains(out, "未適用") {
		t.Errorf("status before migrate: code %d, out %q", code, out)
	}
	code, out, errs := run(t, "db", "--data", dir, "migrate")
	if code != 0 || !strings.Contains(out, "適用済み") {
		t.Errorf("migrate: code %d, out %q, err %q", code, out, errs)
	}
	if code, _, _ := run(t, "db", "--data", dir, "status"); code != 0 {
		t.Errorf("status after migrate: code %d", code)
	}
	if code, _, _ := run(t, "db", "--data", dir, "frobnicate"); code != 2 {
		t.Errorf("bad subcommand: code %d", code)
	}
	if code, _, _ := run(t, "db", "--db", "mysql://x", "status"); code != 2 {
		t.Errorf("bad --db: code %d", code)
	}
}

// seedState fills a store with one of everything durable.
func seedState(t *testing.T, s store.Store) {
	ctx := context.Background()
	u := &store.User{Name: "admin", DisplayName: "管理者", PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.SetGrants(ctx, u.ID, []store.Grant{{UserID: u.ID, Role: "ciso"}}))
	must(s.PutTOTP(ctx, &store.TOTP{UserID: u.ID, Sealed: []byte("sealed"), Confirmed: true}))
	must(s.SetSetting(ctx, "k", "v"))
	must(s.AppendAudit(ctx, &store.AuditEntry{Time: time.Now(), Actor: "admin", Action: "user.create", Details: "{}"},
		func(last, e *store.AuditEntry) error { e.Seq, e.Hash = 1, "h"; return nil }))
}

func dump(t *testing.T, s store.Store) *store.Snapshot {
	t.Helper()
	snap, err := s.Dump(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	snap.CreatedAt = time.Time{}
	return snap
}

func TestBackupRestoreRoundTrip(t *testing.T) {
	src := t.TempDir()
	s, err := sqlite.Open(filepath.Join(src, "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	seedState(t, s)
	want := dump(t, s)
	s.Close()

	file := filepath.Join(t.TempDir(), "backup.json")
	if code, out, errs := run(t, "backup", "--data", src, file); code != 0 {
		t.Fatalf("backup: %d %s %s", code, out, errs)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup file mode: %v %v", fi.Mode(), err)
	}
	if code, _, errs := run(t, "backup", "--data", src, file); code != 2 || !strings.Contains(errs, "already exists") {
		t.Errorf("backup over existing file: %d %s", code, errs)
	}

	dst := t.TempDir()
	if code, out, errs := run(t, "restore", "--data", dst, file); code != 0 {
		t.Fatalf("restore: %d %s %s", code, out, errs)
	}
	r, err := sqlite.Open(filepath.Join(dst, "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := dump(t, r); !reflect.DeepEqual(got, want) {
		t.Errorf("restored state differs:\n got %+v\nwant %+v", got, want)
	}
	if code, _, errs := run(t, "restore", "--data", dst, file); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("restore into non-empty store: %d %s", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o600)
	if code, _, errs := run(t, "restore", "--data", t.TempDir(), bad); code != 2 || !strings.Contains(errs, "not a kyojin backup") {
		t.Errorf("restore of garbage: %d %s", code, errs)
	}

	// The same file restores into PostgreSQL: moving between engines is a
	// backup and a restore.
	srv := pgtest.Start(t)
	dsn := srv.NewDB(t)
	if code, out, errs := run(t, "restore", "--db", dsn, file); code != 0 {
		t.Fatalf("restore to postgres: %d %s %s", code, out, errs)
	}
	p, err := postgres.Open(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := dump(t, p); !reflect.DeepEqual(got, want) {
		t.Errorf("state restored into postgres differs:\n got %+v\nwant %+v", got, want)
	}
}
