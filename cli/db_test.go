package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/std"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/sqlite"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/transfertest"
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

// TestBackupRestoreTransfers: a backup carries the transfers' files and the
// quarantine; restored into a fresh data directory (with the quarantine
// key put back by the operator), the pending transfer is approved and
// downloaded, and its original released. A tampered archive restores nothing.
func TestBackupRestoreTransfers(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	s, err := sqlite.Open(filepath.Join(src, "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	svc := dataTransferService(t, src, s)
	for _, u := range []struct{ name, role, scope string }{{"alice", "staff", "division:jumin"}, {"bob", "staff", ""}, {"boss", "security-manager", "division:jumin"}} {
		usr := &store.User{Name: u.name, DisplayName: u.name, PasswordHash: "-"}
		if err := s.CreateUser(ctx, usr); err != nil {
			t.Fatal(err)
		}
		if err := s.SetGrants(ctx, usr.ID, []store.Grant{{Role: u.role, Scope: u.scope}}); err != nil {
			t.Fatal(err)
		}
	}
	up := filepath.Join(t.TempDir(), "up")
	doc := transfertest.Docm(t, "見積書 backup", 0)
	os.WriteFile(up, doc, 0o600)
	res, err := svc.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "alice", Recipients: []string{"bob"}, Purpose: "見積",
		Files: []transfer.Upload{{Name: "見積.docm", Path: up, Size: int64(len(doc))}}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Transfer.ID
	if res.Transfer.Status != transfer.StatusPending {
		t.Fatalf("status %s", res.Transfer.Status)
	}
	// A spool in progress is not backed up.
	os.MkdirAll(filepath.Join(src, "transfers", ".incoming"), 0o700)
	os.WriteFile(filepath.Join(src, "transfers", ".incoming", "upload-1"), []byte("partial"), 0o600)
	s.Close()

	file := filepath.Join(t.TempDir(), "backup.tar")
	code, out, errs := run(t, "backup", "--data", src, file)
	if code != 0 || !strings.Contains(out, "転送 1 件") {
		t.Fatalf("backup: %d %s %s", code, out, errs)
	}
	dst := t.TempDir()
	if code, out, errs := run(t, "restore", "--data", dst, file); code != 0 || !strings.Contains(out, "転送 1 件") {
		t.Fatalf("restore: %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dst, "transfers", ".incoming")); !os.IsNotExist(err) {
		t.Errorf("temporary spool restored: %v", err)
	}
	if ents, _ := os.ReadDir(dst); len(ents) != 3 { // kyojin.db, transfers, quarantine
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("restored data directory: %v", names)
	}
	// The operator puts the quarantine key back from its separate medium.
	key, _ := os.ReadFile(filepath.Join(src, "quarantine.key"))
	os.WriteFile(filepath.Join(dst, "quarantine.key"), key, 0o600)
	r, err := sqlite.Open(filepath.Join(dst, "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rsvc := dataTransferService(t, dst, r)
	if _, err := rsvc.Decide(ctx, transfer.SideLGWAN, "boss", id, true, "復元後に承認"); err != nil {
		t.Fatal(err)
	}
	secret, err := rsvc.IssueLink(ctx, transfer.SideLGWAN, "bob", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := rsvc.Redeem(ctx, transfer.SideLGWAN, "bob", secret)
	if err != nil {
		t.Fatalf("download after restore: %v", err)
	}
	got, _ := io.ReadAll(dl.File)
	dl.File.Close()
	if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != res.Files[0].OutSHA256 {
		t.Fatal("restored sanitized file differs")
	}
	var orig bytes.Buffer
	if _, err := rsvc.ReleaseOriginal(ctx, transfer.SideLGWAN, "ciso", id, 1, "復元の確認", &orig); err != nil || !bytes.Equal(orig.Bytes(), doc) {
		t.Fatalf("original after restore: %v", err)
	}
	// Restoring again over the files is refused.
	if code, _, errs := run(t, "restore", "--data", dst, file); code != 1 || !strings.Contains(errs, "not empty") {
		t.Errorf("restore over existing data: %d %s", code, errs)
	}
	// A member escaping the data directory is refused and nothing is stored.
	evil := filepath.Join(t.TempDir(), "evil.tar")
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	snap := []byte("{}")
	tw.WriteHeader(&tar.Header{Name: "kyojin-backup.json", Mode: 0o600, Size: int64(len(snap))})
	tw.Write(snap)
	tw.WriteHeader(&tar.Header{Name: "data/transfers/../../../evil", Mode: 0o600, Size: 1})
	tw.Write([]byte("x"))
	tw.Close()
	os.WriteFile(evil, buf.Bytes(), 0o600)
	fresh := t.TempDir()
	if code, _, errs := run(t, "restore", "--data", fresh, evil); code != 2 || !strings.Contains(errs, "unexpected member") {
		t.Errorf("restore of an escaping member: %d %s", code, errs)
	}
	if ents, _ := os.ReadDir(fresh); len(ents) != 0 {
		t.Errorf("refused restore left %d entries", len(ents))
	}
}

// dataTransferService is the transfer service over a data directory laid
// out as `kyojin serve` lays it out (transfers/, quarantine/ and its key),
// with the standard engine and clamd off.
func dataTransferService(t *testing.T, data string, s store.Store) *transfer.Service {
	t.Helper()
	vault, err := dataQuarantine(data, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	pol := sanitize.DefaultPolicy()
	pol.Clamd.Enabled = false
	eng, err := sanitize.New(sanitize.Config{Policy: pol, TempDir: tmp, Handlers: std.Handlers(tmp), Inspectors: std.Inspectors(tmp), Vault: vault})
	if err != nil {
		t.Fatal(err)
	}
	return &transfer.Service{Store: s, Users: s, Audit: audit.New(s), Engine: eng, Dir: filepath.Join(data, "transfers"), Policy: transfer.DefaultPolicy(),
		Originals: func(ref string, w io.Writer) error { _, err := vault.Extract(ref, w); return err }}
}

func FuzzBackupPath(f *testing.F) {
	for _, s := range []string{"data/transfers/a/1", "data/quarantine/items/x", "data/../x", "data/transfers/../../x", "/etc/passwd", "data/kyojin.db"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		rel, err := backupPath(name)
		if err != nil {
			return
		}
		if !filepath.IsLocal(rel) || !(strings.HasPrefix(rel, "transfers"+string(filepath.Separator)) || strings.HasPrefix(rel, "quarantine"+string(filepath.Separator))) {
			t.Fatalf("%q restores to %q", name, rel)
		}
	})
}
