package web

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/store"
)

// auditActions lists the actions recorded for target, oldest first.
func auditActions(t *testing.T, e *env, target string) []string {
	t.Helper()
	entries, err := e.store.AuditEntries(context.Background(), store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, en := range entries {
		if en.Target == target {
			out = append(out, en.Action)
		}
	}
	return out
}

func TestPasswordChange(t *testing.T) {
	e := newEnv(t)
	e.user("staff1", false, store.Grant{Role: "staff"})
	b := e.browser()
	b.login("staff1")
	other := e.browser() // a second session of the same user
	other.login("staff1")
	const newPW = "a much longer passphrase"
	cases := []struct {
		current, pw, confirm, want string
	}{
		{"wrong password!", newPW, newPW, "現在のパスワードが正しくありません"},
		{testPassword, "short", "short", "12 文字以上"},
		{testPassword, "STAFF1", "STAFF1", "12 文字以上"},
		{testPassword, "staff1staff1", "staff1staff1x", "一致しません"},
		{testPassword, testPassword, testPassword, "現在と同じ"},
	}
	for _, c := range cases {
		code, body := b.post("/account/password", url.Values{"current": {c.current}, "new": {c.pw}, "confirm": {c.confirm}})
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("%+v: %d, want 400 with %q", c, code, c.want)
		}
	}
	// The user-name rule, at the policy's length.
	e.user("longusername", false, store.Grant{Role: "staff"})
	lb := e.browser()
	lb.login("longusername")
	if code, body := lb.post("/account/password", url.Values{"current": {testPassword}, "new": {"LongUserName"}, "confirm": {"LongUserName"}}); code != 400 || !strings.Contains(body, "ユーザー名と同じ") {
		t.Errorf("password equal to the user name: %d", code)
	}
	// Without the CSRF token nothing happens.
	if code, _ := b.post("/account/password", url.Values{"csrf": {"x"}, "current": {testPassword}, "new": {newPW}, "confirm": {newPW}}); code != 403 {
		t.Errorf("without CSRF: %d", code)
	}
	oldCookie := b.cookie()
	code, body := b.post("/account/password", url.Values{"current": {testPassword}, "new": {newPW}, "confirm": {newPW}})
	if code != 200 || b.last != "/" || !strings.Contains(body, "パスワードを変更しました") {
		t.Fatalf("change: %d at %s", code, b.last)
	}
	if b.cookie() == oldCookie {
		t.Error("the session id was not rotated")
	}
	// The other session ended; the old password no longer works.
	if other.get("/"); other.last != "/login" {
		t.Errorf("other session still valid: at %s", other.last)
	}
	c := e.browser()
	c.get("/login")
	if c.post("/login", url.Values{"name": {"staff1"}, "password": {testPassword}}); c.last != "/login" {
		t.Error("old password still accepted")
	}
	c.loginWith("staff1", newPW, "/")
	got := auditActions(t, e, "user/staff1")
	if !strings.Contains(strings.Join(got, ","), audit.PasswordChangeFail) || got[len(got)-1] != audit.LoginOK || !slices.Contains(got, audit.PasswordChange) {
		t.Errorf("audit for staff1: %v", got)
	}
}

// Wrong current passwords count towards the lockout like failed logins.
func TestPasswordChangeLocksOut(t *testing.T) {
	e := newEnv(t)
	e.user("staff1", false, store.Grant{Role: "staff"})
	b := e.browser()
	b.login("staff1")
	for i := 0; i < e.auth.Policy.MaxFailures; i++ {
		b.post("/account/password", url.Values{"current": {fmt.Sprint("wrong", i)}, "new": {"whatever whatever"}, "confirm": {"whatever whatever"}})
	}
	if b.last != "/login" {
		t.Fatalf("after %d wrong current passwords: at %s", e.auth.Policy.MaxFailures, b.last)
	}
	u, _ := e.store.UserByName(context.Background(), "staff1")
	if !u.LockedUntil.After(e.now()) {
		t.Error("account not locked")
	}
}

func TestAdminPasswordReset(t *testing.T) {
	e := newEnv(t)
	users := roleUsers(e)
	target := e.user("target", true, store.Grant{Role: "security-officer", Scope: "department:somu"})
	path := fmt.Sprintf("/users/%d/reset-password", target.ID)
	// Only users.manage holders (CISO, 統括) may reset; nobody resets
	// themselves here, and a chief officer cannot reset the CISO.
	for role := range users {
		b := e.browser()
		b.login(strings.ReplaceAll(string(role), "-", ""))
		if role == "ciso" || role == "chief-officer" {
			continue
		}
		if code, _ := b.post(path, nil); code != 403 {
			t.Errorf("%s reset: %d", role, code)
		}
	}
	chief := e.browser()
	chief.login("chiefofficer")
	if code, _ := chief.post(fmt.Sprintf("/users/%d/reset-password", users["ciso"].ID), nil); code != 403 {
		t.Errorf("chief resets the CISO: %d", code)
	}
	if code, _ := chief.post(fmt.Sprintf("/users/%d/reset-password", users["chief-officer"].ID), nil); code != 403 {
		t.Errorf("chief resets themself: %d", code)
	}
	if code, _ := chief.post(path, url.Values{"csrf": {"forged"}}); code != 403 {
		t.Errorf("reset without CSRF: %d", code)
	}
	victimSession := e.browser()
	victimSession.login("target")
	code, body := chief.post(path, nil)
	m := regexp.MustCompile(`<code id="temp-password">([A-Za-z0-9]{20})</code>`).FindStringSubmatch(body)
	if code != 200 || m == nil {
		t.Fatalf("reset: %d %s", code, body)
	}
	temp := m[1]
	if victimSession.get("/"); victimSession.last != "/login" {
		t.Error("the user's sessions survived the reset")
	}
	// Logging in with the temporary password (and TOTP) leads only to the
	// change form.
	b := e.browser()
	b.loginWith("target", temp, "/account/password")
	if _, body := b.get("/model"); b.last != "/account/password" || !strings.Contains(body, "管理者がパスワードを再設定しました") {
		t.Errorf("forced change not enforced: at %s", b.last)
	}
	const newPW = "my own new passphrase"
	if code, _ := b.post("/account/password", url.Values{"current": {temp}, "new": {newPW}, "confirm": {newPW}}); code != 200 || b.last != "/" {
		t.Fatalf("forced change: %d at %s", code, b.last)
	}
	if code, _ := b.get("/model"); code != 200 || b.last != "/model" {
		t.Errorf("after the change: %d at %s", code, b.last)
	}
	got := strings.Join(auditActions(t, e, "user/target"), ",")
	if !strings.Contains(got, audit.PasswordReset) || !strings.Contains(got, audit.PasswordChange) {
		t.Errorf("audit for target: %s", got)
	}
	// The temporary password is never written to the audit log.
	entries, _ := e.store.AuditEntries(context.Background(), store.AuditFilter{})
	for _, en := range entries {
		if strings.Contains(fmt.Sprint(en), temp) {
			t.Errorf("audit entry %d holds the temporary password", en.Seq)
		}
	}
}
