package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/storetest"
	"github.com/pquerna/otp/totp"
)

var ctx = context.Background()

// testParams keep argon2id cheap in tests; the format and code path are
// the production ones.
var testParams = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type fixture struct {
	svc   *Service
	store store.Store
	clock time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	s := storetest.SQLite(t)
	sealer, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "secret.key"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, clock: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
	f.svc = NewService(s, audit.New(s), sealer, slog.New(slog.NewTextHandler(io.Discard, nil)))
	f.svc.Params = testParams
	f.svc.Now = func() time.Time { return f.clock }
	return f
}

func (f *fixture) user(t *testing.T, name string, roles ...store.Grant) *store.User {
	t.Helper()
	u, err := f.svc.CreateUser(ctx, "test", name, name, "correct horse battery", roles)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) actions(t *testing.T) string {
	t.Helper()
	es, err := f.store.AuditEntries(ctx, store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Action)
	}
	return strings.Join(out, " ")
}

func TestPasswordHashing(t *testing.T) {
	h, err := HashPassword("correct horse battery", testParams)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Errorf("hash format: %s", h)
	}
	h2, _ := HashPassword("correct horse battery", testParams)
	if h == h2 {
		t.Error("two hashes of one password are equal: salt not random")
	}
	cases := []struct {
		pw, hash   string
		ok, rehash bool
		err        string
	}{
		{"correct horse battery", h, true, true, ""}, // test params differ from DefaultParams
		{"correct horse batterz", h, false, false, ""},
		{"", h, false, false, ""},
		{"x", "$2a$10$bcrypt", false, false, "not an argon2id hash"},
		{"x", strings.Replace(h, "m=64", "m=99999999", 1), false, false, "out of range"},
		{"x", strings.Replace(h, "v=19", "v=16", 1), false, false, "unsupported argon2 version"},
		{"x", h[:len(h)-30], false, false, "bad argon2 hash"},
		{strings.Repeat("a", MaxPasswordLen+1), h, false, false, ""},
	}
	for _, c := range cases {
		ok, rehash, err := VerifyPassword(c.pw, c.hash, DefaultParams)
		if ok != c.ok || rehash != c.rehash || (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("VerifyPassword(%.20q, %.30q) = %v %v %v; want %v %v %q", c.pw, c.hash, ok, rehash, err, c.ok, c.rehash, c.err)
		}
	}
	if _, rehash, _ := VerifyPassword("correct horse battery", h, testParams); rehash {
		t.Error("rehash requested although parameters match")
	}
}

func TestPasswordPolicy(t *testing.T) {
	for pw, ok := range map[string]bool{"short": false, "elevenchars": false, "twelve chars": true, "日本語のパスワードです十二": true, strings.Repeat("x", 257): false} {
		if err := CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%.20q) = %v, want ok=%v", pw, err, ok)
		}
	}
}

func TestSealer(t *testing.T) {
	dir := t.TempDir()
	s1, err := LoadOrCreateKey(filepath.Join(dir, "k"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := LoadOrCreateKey(filepath.Join(dir, "k")) // same key read back
	if err != nil {
		t.Fatal(err)
	}
	sealed, _ := s1.Seal([]byte("JBSWY3DPEHPK3PXP"), []byte("totp/1"))
	if bytes.Contains(sealed, []byte("JBSWY3DPEHPK3PXP")) {
		t.Fatal("secret visible in sealed form")
	}
	if pt, err := s2.Open(sealed, []byte("totp/1")); err != nil || string(pt) != "JBSWY3DPEHPK3PXP" {
		t.Errorf("Open = %q, %v", pt, err)
	}
	if _, err := s2.Open(sealed, []byte("totp/2")); err == nil {
		t.Error("sealed secret opened for another user")
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s2.Open(sealed, []byte("totp/1")); err == nil {
		t.Error("tampered secret opened")
	}
	other, _ := LoadOrCreateKey(filepath.Join(t.TempDir(), "k"))
	sealed[len(sealed)-1] ^= 1
	if _, err := other.Open(sealed, []byte("totp/1")); err == nil {
		t.Error("secret opened with another key")
	}
}

func TestValidateGrant(t *testing.T) {
	cases := []struct {
		g   store.Grant
		err string
	}{
		{store.Grant{Role: "ciso"}, ""},
		{store.Grant{Role: "security-officer", Scope: "department:somu"}, ""},
		{store.Grant{Role: "security-manager", Scope: "division:jumin"}, ""},
		{store.Grant{Role: "system-administrator", Scope: "system:juki"}, ""},
		{store.Grant{Role: "auditor"}, ""},
		{store.Grant{Role: "root"}, "unknown role"},
		{store.Grant{Role: "ciso", Scope: "department:somu"}, "takes no scope"},
		{store.Grant{Role: "security-officer"}, "needs a scope department:ID"},
		{store.Grant{Role: "security-officer", Scope: "division:jumin"}, "needs a scope department:ID"},
		{store.Grant{Role: "security-manager", Scope: "division:"}, "needs a scope"},
		// Staff may be placed in a division (it decides their transfer approvers).
		{store.Grant{Role: "staff"}, ""},
		{store.Grant{Role: "staff", Scope: "division:jumin"}, ""},
		{store.Grant{Role: "staff", Scope: "department:somu"}, "takes no scope or division:ID"},
		{store.Grant{Role: "staff", Scope: "division:"}, "takes no scope or division:ID"},
	}
	for _, c := range cases {
		err := ValidateGrant(c.g)
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("ValidateGrant(%+v) = %v, want %q", c.g, err, c.err)
		}
	}
}

func TestLoginAndLockout(t *testing.T) {
	f := newFixture(t)
	f.user(t, "alice", store.Grant{Role: "staff"})
	if _, err := f.svc.Login(ctx, "alice", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("good login: %v", err)
	}
	if _, err := f.svc.Login(ctx, "mallory", "correct horse battery", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("unknown user: %v", err)
	}
	for i := range f.svc.Policy.MaxFailures {
		if _, err := f.svc.Login(ctx, "alice", "wrong password!", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	// Locked: even the right password is refused until the lock expires.
	if _, err := f.svc.Login(ctx, "alice", "correct horse battery", "192.0.2.1"); !errors.Is(err, ErrLocked) {
		t.Errorf("locked account accepted: %v", err)
	}
	f.clock = f.clock.Add(f.svc.Policy.LockFor + time.Second)
	if _, err := f.svc.Login(ctx, "alice", "correct horse battery", "192.0.2.1"); err != nil {
		t.Errorf("after lock expiry: %v", err)
	}
	want := "user.create login.ok login.fail login.fail login.fail login.fail login.fail login.locked login.fail login.fail login.ok"
	if got := f.actions(t); got != want {
		t.Errorf("audit actions:\n got %s\nwant %s", got, want)
	}
}

func TestDisabledAccount(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "bob", store.Grant{Role: "staff"})
	u.Disabled = true
	f.store.UpdateUser(ctx, u)
	if _, err := f.svc.Login(ctx, "bob", "correct horse battery", "192.0.2.1"); !errors.Is(err, ErrBadCredentials) {
		t.Errorf("disabled account: %v", err)
	}
}

func TestRateLimitPerAddress(t *testing.T) {
	f := newFixture(t)
	f.svc.Policy.IPMaxFails = 3
	f.user(t, "alice", store.Grant{Role: "staff"})
	for range 3 {
		f.svc.Login(ctx, "nobody", "whatever password", "198.51.100.7")
	}
	if _, err := f.svc.Login(ctx, "alice", "correct horse battery", "198.51.100.7"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("address over the limit: %v", err)
	}
	if _, err := f.svc.Login(ctx, "alice", "correct horse battery", "198.51.100.8"); err != nil {
		t.Errorf("other address blocked: %v", err)
	}
	f.clock = f.clock.Add(f.svc.Policy.IPWindow + time.Second)
	if _, err := f.svc.Login(ctx, "alice", "correct horse battery", "198.51.100.7"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

func TestCreateUserValidation(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		name, pw string
		g        []store.Grant
		err      string
	}{
		{"Alice", "correct horse battery", nil, "use a-z"},
		{"", "correct horse battery", nil, "1-64 bytes"},
		{"carol", "short", nil, "at least 12"},
		{"carol", "correct horse battery", []store.Grant{{Role: "god"}}, "unknown role"},
	}
	for _, c := range cases {
		if _, err := f.svc.CreateUser(ctx, "t", c.name, "", c.pw, c.g); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("CreateUser(%q): %v, want %q", c.name, err, c.err)
		}
	}
	f.user(t, "carol")
	if _, err := f.svc.CreateUser(ctx, "t", "carol", "", "correct horse battery", nil); !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate: %v", err)
	}
}

func TestTOTPEnrolAndLogin(t *testing.T) {
	f := newFixture(t)
	u := f.user(t, "ciso", store.Grant{Role: "ciso"})
	st, _ := f.svc.MFA(ctx, u, []store.Grant{{Role: "ciso"}})
	if !st.Required || st.Enrolled() {
		t.Fatalf("before enrolment: %+v", st)
	}
	if err := f.svc.VerifyTOTP(ctx, u, "123456", "ip"); !errors.Is(err, ErrNoMFA) {
		t.Errorf("verify before enrolment: %v", err)
	}
	key, err := f.svc.BeginTOTP(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key.URL(), "otpauth://totp/kyojin:ciso?") {
		t.Errorf("otpauth URL = %s", key.URL())
	}
	raw, _ := f.store.Setting(ctx, "totp.pending."+"1")
	if strings.Contains(raw, key.Secret()) {
		t.Error("pending secret stored in clear")
	}
	if err := f.svc.ConfirmTOTP(ctx, u, "000000"); !errors.Is(err, ErrBadCode) {
		t.Errorf("confirm with wrong code: %v", err)
	}
	code, _ := totp.GenerateCode(key.Secret(), f.clock)
	if err := f.svc.ConfirmTOTP(ctx, u, code); err != nil {
		t.Fatalf("confirm: %v", err)
	}
	stored, _ := f.store.TOTP(ctx, u.ID)
	if bytes.Contains(stored.Sealed, []byte(key.Secret())) {
		t.Error("TOTP secret stored in clear")
	}
	// The enrolment code cannot be replayed as a login code.
	if err := f.svc.VerifyTOTP(ctx, u, code, "ip"); !errors.Is(err, ErrBadCode) {
		t.Errorf("replayed enrolment code: %v", err)
	}
	f.clock = f.clock.Add(30 * time.Second)
	code, _ = totp.GenerateCode(key.Secret(), f.clock)
	if err := f.svc.VerifyTOTP(ctx, u, code, "ip"); err != nil {
		t.Errorf("fresh code: %v", err)
	}
	if err := f.svc.VerifyTOTP(ctx, u, code, "ip"); !errors.Is(err, ErrBadCode) {
		t.Errorf("replayed code: %v", err)
	}
	// Codes from one step either side are accepted (clock drift), older are not.
	f.clock = f.clock.Add(2 * time.Minute)
	late, _ := totp.GenerateCode(key.Secret(), f.clock.Add(-30*time.Second))
	if err := f.svc.VerifyTOTP(ctx, u, late, "ip"); err != nil {
		t.Errorf("code one step old: %v", err)
	}
	old, _ := totp.GenerateCode(key.Secret(), f.clock.Add(-90*time.Second))
	if err := f.svc.VerifyTOTP(ctx, u, old, "ip"); !errors.Is(err, ErrBadCode) {
		t.Errorf("code three steps old: %v", err)
	}
	// Guessing codes locks the account like guessing passwords.
	var err2 error
	for range f.svc.Policy.MaxFailures {
		err2 = f.svc.VerifyTOTP(ctx, u, "999999", "ip")
	}
	if !errors.Is(err2, ErrLocked) {
		t.Errorf("code guessing not locked: %v", err2)
	}
	st, _ = f.svc.MFA(ctx, u, nil)
	if !st.TOTP {
		t.Error("MFA state does not show TOTP")
	}
}

func TestPermissionsAndScopes(t *testing.T) {
	subj := func(g ...store.Grant) *Subject { return &Subject{User: &store.User{Name: "x"}, Grants: g} }
	officer := subj(store.Grant{Role: "security-officer", Scope: "department:somu"}, store.Grant{Role: "staff"})
	sc := officer.ScopeFor(PermModelView)
	if sc.All || !sc.Departments["somu"] || len(sc.Divisions) != 0 {
		t.Errorf("officer scope = %+v", sc)
	}
	// A staff grant does not widen the officer's model scope to everything.
	if officer.ScopeFor(PermDashboard).All != true {
		t.Error("staff grant should give the org-wide dashboard")
	}
	if !subj(store.Grant{Role: "auditor"}).ScopeFor(PermModelView).All {
		t.Error("auditor should see the whole model")
	}
	if subj(store.Grant{Role: "staff"}).Privileged() || !subj(store.Grant{Role: "auditor"}).Privileged() || !subj(store.Grant{Role: "bogus"}).Privileged() {
		t.Error("privileged classification wrong")
	}
	chief := subj(store.Grant{Role: "chief-officer"})
	ciso := subj(store.Grant{Role: "ciso"})
	auditor := subj(store.Grant{Role: "auditor"})
	if chief.CanGrant(RoleCISO) || !chief.CanGrant(RoleSecurityOfficer) || !ciso.CanGrant(RoleCISO) || auditor.CanGrant(RoleStaff) {
		t.Error("CanGrant rules wrong")
	}
}

func TestTenantsFor(t *testing.T) {
	cases := []struct {
		name   string
		grants []store.Grant
		home   string
		want   string // "all", "" (none) or a comma list
	}{
		{"soc operator sees all", []store.Grant{{Role: "soc-operator"}}, "", "all"},
		{"csirt sees its tenant", []store.Grant{{Role: "csirt", Scope: "tenant:a"}, {Role: "csirt", Scope: "tenant:b"}}, "h", "a,b"},
		{"ciso sees home", []store.Grant{{Role: "ciso"}}, "h", "h"},
		{"ciso without home sees none", []store.Grant{{Role: "ciso"}}, "", ""},
		{"staff sees none", []store.Grant{{Role: "staff"}}, "h", ""},
		{"officer sees none", []store.Grant{{Role: "security-officer", Scope: "department:x"}}, "h", ""},
	}
	for _, c := range cases {
		sub := &Subject{Grants: c.grants}
		ts := sub.TenantsFor(PermAlertsView, c.home)
		got := strings.Join(ts.List(), ",")
		if ts.All {
			got = "all"
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		if c.want == "" && !ts.Empty() {
			t.Errorf("%s: not empty", c.name)
		}
	}
}
