package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/store/sqlite"
)

func TestAdminCreate(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, "admin", "--data", dir, "--name", "ciso", "--role", "ciso", "create")
	if code != 0 {
		t.Fatalf("admin create: %d %s %s", code, out, errs)
	}
	m := regexp.MustCompile(`初期パスワード（この表示は一度だけです）: (\S{20})\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "MFA の登録が必要") {
		t.Fatalf("output = %q", out)
	}
	var in bytes.Buffer
	in.WriteString("officer password 1\n")
	var o, e bytes.Buffer
	code = Main([]string{"admin", "--data", dir, "--name", "officer", "--role", "security-officer=department:somu", "--role", "staff", "--password-stdin", "create"}, &in, &o, &e)
	if code != 0 || strings.Contains(o.String(), "officer password 1") {
		t.Fatalf("create with stdin password: %d %q %q", code, o.String(), e.String())
	}
	s, err := sqlite.Open(filepath.Join(dir, "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for name, pw := range map[string]string{"ciso": m[1], "officer": "officer password 1"} {
		u, err := s.UserByName(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _, err := auth.VerifyPassword(pw, u.PasswordHash, auth.DefaultParams); !ok || err != nil {
			t.Errorf("%s: stored hash does not match the password: %v", name, err)
		}
	}
	g, _ := s.Grants(ctx, 2)
	if len(g) != 2 || g[0].Scope != "department:somu" {
		t.Errorf("grants = %+v", g)
	}
	for _, bad := range [][]string{
		{"admin", "--data", dir, "--name", "x", "create"},
		{"admin", "--data", dir, "--name", "x", "--role", "security-officer", "create"},
		{"admin", "--data", dir, "--name", "x", "--role", "wizard", "create"},
		{"admin", "--data", dir, "--name", "x", "--role", "staff", "delete"},
	} {
		if code, _, _ := run(t, bad...); code != 2 {
			t.Errorf("%v: code %d, want 2", bad, code)
		}
	}
	if code, _, errs := run(t, "admin", "--data", dir, "--name", "ciso", "--role", "staff", "create"); code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("duplicate user: %d %s", code, errs)
	}
}
