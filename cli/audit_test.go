package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/store/sqlite"
)

func TestAuditVerifyAndExport(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.Open(filepath.Join(dir, "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	s.Migrate(ctx)
	l := audit.New(s)
	for _, a := range []string{audit.LoginOK, audit.LoginFail, audit.UserCreate} {
		if _, err := l.Append(ctx, audit.Event{Actor: "admin", Action: a, Target: "user/x"}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := run(t, "audit", "--data", dir, "verify")
	if code != 0 || !strings.Contains(out, "エントリ 3 件") {
		t.Errorf("verify intact: %d %q %q", code, out, errs)
	}
	code, out, _ = run(t, "audit", "--data", dir, "--action", "login", "export")
	if code != 0 || strings.Count(out, "\n") != 3 || strings.Contains(out, "user.create") {
		t.Errorf("export csv filtered: %d %q", code, out)
	}
	code, out, _ = run(t, "audit", "--data", dir, "--format", "json", "--actor", "admin", "export")
	if code != 0 || strings.Count(out, `"seq"`) != 3 {
		t.Errorf("export json: %d %q", code, out)
	}
	if code, _, _ := run(t, "audit", "--data", dir, "--since", "yesterday", "export"); code != 2 {
		t.Errorf("bad --since: %d", code)
	}
	if _, err := s.SQL().Exec(`UPDATE audit_log SET target='user/y' WHERE seq=2`); err != nil {
		t.Fatal(err)
	}
	code, out, _ = run(t, "audit", "--data", dir, "verify")
	if code != 1 || !strings.Contains(out, "改ざん: seq 2: modified") {
		t.Errorf("verify tampered: %d %q", code, out)
	}
}
