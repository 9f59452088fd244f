package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/store"
)

// roleUsers creates one user per role; every privileged one has TOTP.
func roleUsers(e *env) map[auth.Role]*store.User {
	scopes := map[auth.Role]string{auth.RoleSecurityOfficer: "department:somu", auth.RoleSecurityManager: "division:jumin", auth.RoleSystemAdministrator: "system:juki", auth.RoleCSIRT: "tenant:kakuu"}
	out := map[auth.Role]*store.User{}
	for _, ri := range auth.Roles {
		out[ri.Role] = e.user(strings.ReplaceAll(string(ri.Role), "-", ""), ri.Privileged, store.Grant{Role: string(ri.Role), Scope: scopes[ri.Role]})
	}
	return out
}

// Every role against every page and action: the console must answer
// exactly as the permission matrix (docs/permissions.md) says.
func TestPermissionMatrix(t *testing.T) {
	e := newEnv(t, withEvents(t, time.Now()))
	users := roleUsers(e)
	victim := e.user("victim", false, store.Grant{Role: "staff"})
	alert := cloudData(t, e)["kakuu"] // the home tenant's and the CSIRT's tenant
	gets := []struct {
		path string
		perm auth.Permission
	}{
		{"/", auth.PermDashboard}, {"/model", auth.PermModelView}, {"/model/diagram.svg", auth.PermModelView},
		{"/findings", auth.PermFindingsView}, {"/catalog", auth.PermFindingsView}, {"/catalog/entry?id=6.1(1)", auth.PermFindingsView},
		{"/audit", auth.PermAuditView}, {"/audit/export?format=csv", auth.PermAuditExport},
		{"/users", auth.PermUsersView}, {fmt.Sprintf("/users/%d", victim.ID), auth.PermUsersView}, {"/account/mfa", auth.PermSelfMFA},
		{"/account/password", auth.PermSelfPassword},
		{"/audit/transfers", auth.PermTransferAudit}, {"/audit/transfers/export", auth.PermTransferAudit},
		{"/alerts", auth.PermAlertsView}, {fmt.Sprintf("/alerts/%d", alert), auth.PermAlertsView}, {"/alerts/export", auth.PermAlertsView},
		{"/events", auth.PermEventsSearch}, {"/events?tenant=kakuu", auth.PermEventsSearch},
	}
	for _, ri := range auth.Roles {
		b := e.browser()
		b.login(strings.ReplaceAll(string(ri.Role), "-", ""))
		for _, g := range gets {
			want := 403
			if auth.RoleHas(ri.Role, g.perm) {
				want = 200
			}
			if code, _ := b.get(g.path); code != want {
				t.Errorf("%s GET %s: %d, want %d", ri.Role, g.path, code, want)
			}
		}
		// Sections of the dashboard with their own permission.
		_, dash := b.get("/")
		if got, want := strings.Contains(dash, `id="activity-san"`), auth.RoleHas(ri.Role, auth.PermActivityView); got != want {
			t.Errorf("%s: activity on the dashboard %v, want %v", ri.Role, got, want)
		}
		for _, n := range []struct {
			href string
			perm auth.Permission
		}{{`href="/alerts"`, auth.PermAlertsView}, {`href="/events"`, auth.PermEventsSearch}} {
			if got, want := strings.Contains(dash, n.href), auth.RoleHas(ri.Role, n.perm); got != want {
				t.Errorf("%s: menu %s %v, want %v", ri.Role, n.href, got, want)
			}
		}
		for _, p := range []struct {
			path string
			form url.Values
		}{
			{fmt.Sprintf("/alerts/%d/status", alert), url.Values{"status": {"acknowledged"}}},
			{fmt.Sprintf("/alerts/%d/suppress", alert), url.Values{"hours": {"1"}, "reason": {"matrix"}}},
		} {
			want := 403
			if auth.RoleHas(ri.Role, auth.PermAlertsHandle) {
				want = 200 // after the redirect
			}
			if code, _ := b.post(p.path, p.form); code != want {
				t.Errorf("%s POST %s: %d, want %d", ri.Role, p.path, code, want)
			}
		}
		posts := []struct {
			path string
			form url.Values
		}{
			{"/users", url.Values{"name": {"new-" + strings.ReplaceAll(string(ri.Role), "-", "")}, "password": {testPassword}, "role": {"staff"}}},
			{fmt.Sprintf("/users/%d/unlock", victim.ID), nil},
			{fmt.Sprintf("/users/%d/roles", victim.ID), url.Values{"role": {"staff"}}},
			{fmt.Sprintf("/users/%d/disable", victim.ID), url.Values{"disabled": {"0"}}},
			{fmt.Sprintf("/users/%d/reset-password", victim.ID), nil},
		}
		for _, p := range posts {
			want := 403
			if auth.RoleHas(ri.Role, auth.PermUsersManage) {
				want = 200 // after the redirect
			}
			if code, _ := b.post(p.path, p.form); code != want {
				t.Errorf("%s POST %s: %d, want %d", ri.Role, p.path, code, want)
			}
		}
	}
	_ = users
	// What the refused requests tried must not have happened.
	all, _ := e.store.ListUsers(context.Background())
	var created []string
	for _, u := range all {
		if strings.HasPrefix(u.Name, "new-") {
			created = append(created, u.Name)
		}
	}
	if strings.Join(created, ",") != "new-chiefofficer,new-ciso" {
		t.Errorf("users created through the console: %v", created)
	}
}

// A 職員 reaches none of the administrative pages, and the menu does not
// even offer them.
func TestStaffCannotReachAdminPages(t *testing.T) {
	e := newEnv(t)
	e.user("staff", false, store.Grant{Role: "staff"})
	b := e.browser()
	b.login("staff")
	_, body := b.get("/")
	for _, link := range []string{`href="/users"`, `href="/audit"`, `href="/model"`} {
		if strings.Contains(body, link) {
			t.Errorf("staff menu offers %s", link)
		}
	}
	for _, p := range []string{"/users", "/audit", "/audit/export?format=json", "/model", "/findings"} {
		if code, body := b.get(p); code != 403 || !strings.Contains(body, "権限がありません") {
			t.Errorf("staff GET %s: %d", p, code)
		}
	}
}

// Officers, managers and administrators see only their part of the model
// (clause 1: responsibilities per department, division and system).
func TestModelScopes(t *testing.T) {
	e := newEnv(t)
	e.user("officer", true, store.Grant{Role: "security-officer", Scope: "department:somu"})
	e.user("other", true, store.Grant{Role: "security-officer", Scope: "department:kikaku"})
	e.user("admin", true, store.Grant{Role: "system-administrator", Scope: "system:bunsho"})
	e.user("auditor", true, store.Grant{Role: "auditor"})
	cases := []struct {
		user      string
		see, hide []string
	}{
		{"officer", []string{"<td>juki</td>", "<td>juki-ap</td>", "<td>f-juki</td>"}, []string{"<td>bunsho</td>", "<td>vdi</td>", "<td>f-browse</td>", "h-comms"}},
		{"other", nil, []string{"<td>juki</td>", "<td>bunsho</td>", "<td>juki-ap</td>"}},
		{"admin", []string{"<td>bunsho</td>", "<td>f-lgdocs</td>"}, []string{"<td>juki</td>", "<td>juki-ap</td>"}},
		{"auditor", []string{"<td>juki</td>", "<td>bunsho</td>", "<td>vdi</td>", "h-comms", "<td>juki-net</td>"}, nil},
	}
	for _, c := range cases {
		b := e.browser()
		b.login(c.user)
		code, body := b.get("/model")
		if code != 200 {
			t.Fatalf("%s: %d", c.user, code)
		}
		for _, s := range c.see {
			if !strings.Contains(body, s) {
				t.Errorf("%s does not see %s", c.user, s)
			}
		}
		for _, s := range c.hide {
			if strings.Contains(body, s) {
				t.Errorf("%s sees %s", c.user, s)
			}
		}
	}
}

func TestUserAdministration(t *testing.T) {
	e := newEnv(t)
	ciso := e.user("ciso", true, store.Grant{Role: "ciso"})
	chief := e.user("chief", true, store.Grant{Role: "chief-officer"})
	b := e.browser()
	b.login("chief")
	// A chief officer may appoint officers but not a CISO, and may not
	// touch the CISO's account.
	if code, _ := b.post("/users", url.Values{"name": {"x"}, "password": {testPassword}, "role": {"ciso"}}); code != 403 {
		t.Errorf("chief appoints a CISO: %d", code)
	}
	if code, _ := b.post(fmt.Sprintf("/users/%d/disable", ciso.ID), url.Values{"disabled": {"1"}}); code != 403 {
		t.Errorf("chief disables the CISO: %d", code)
	}
	if code, _ := b.post(fmt.Sprintf("/users/%d/roles", chief.ID), url.Values{"role": {"ciso"}}); code != 403 {
		t.Errorf("chief changes own roles: %d", code)
	}
	code, body := b.post("/users", url.Values{"name": {"officer"}, "display": {"総務 部長"}, "password": {testPassword},
		"role": {"security-officer"}, "scope-security-officer": {"somu"}})
	if code != 200 || b.last != "/users" || !strings.Contains(body, "利用者を作成しました") || !strings.Contains(body, "未登録（必須）") {
		t.Fatalf("create officer: %d at %s", code, b.last)
	}
	u, err := e.store.UserByName(context.Background(), "officer")
	if err != nil {
		t.Fatal(err)
	}
	g, _ := e.store.Grants(context.Background(), u.ID)
	if len(g) != 1 || g[0].Scope != "department:somu" {
		t.Errorf("grants = %+v", g)
	}
	// Staff may be placed in a division (optional): it decides who approves
	// their file transfers.
	for name, div := range map[string]string{"clerk": "jumin", "temp": ""} {
		if code, _ := b.post("/users", url.Values{"name": {name}, "password": {testPassword}, "role": {"staff"}, "scope-staff": {div}}); code != 200 {
			t.Fatalf("create staff %s: %d", name, code)
		}
		su, _ := e.store.UserByName(context.Background(), name)
		sg, _ := e.store.Grants(context.Background(), su.ID)
		want := ""
		if div != "" {
			want = "division:" + div
		}
		if len(sg) != 1 || sg[0].Scope != want {
			t.Errorf("staff %s grants = %+v, want scope %q", name, sg, want)
		}
	}
	if _, body := b.get("/users"); !strings.Contains(body, `name="scope-staff"`) {
		t.Error("user form has no division field for staff")
	}
	for name, form := range map[string]url.Values{
		"weak password": {"name": {"y"}, "password": {"short"}, "role": {"staff"}},
		"no scope":      {"name": {"y"}, "password": {testPassword}, "role": {"security-manager"}},
		"no role":       {"name": {"y"}, "password": {testPassword}},
		"duplicate":     {"name": {"officer"}, "password": {testPassword}, "role": {"staff"}},
	} {
		if code, body := b.post("/users", form); code != 400 || !strings.Contains(body, `role="alert"`) {
			t.Errorf("%s: %d", name, code)
		}
	}
	// Role changes are audited and end the user's sessions.
	ob := e.browser()
	e.auth.Store.DeleteTOTP(context.Background(), u.ID)
	if code, _ := b.post(fmt.Sprintf("/users/%d/roles", u.ID), url.Values{"role": {"staff"}}); code != 200 {
		t.Errorf("change roles: %d", code)
	}
	ob.login("officer")
	if code, _ := ob.get("/model"); code != 403 {
		t.Errorf("demoted officer still sees the model: %d", code)
	}
	es, _ := e.store.AuditEntries(context.Background(), store.AuditFilter{Action: audit.RoleChange})
	if len(es) != 1 || es[0].Actor != "chief" || !strings.Contains(es[0].Details, "security-officer") {
		t.Errorf("role change audit = %+v", es)
	}
}

func TestAuditPageAndExport(t *testing.T) {
	e := newEnv(t)
	e.user("auditor", true, store.Grant{Role: "auditor"})
	e.user("staff", false, store.Grant{Role: "staff"})
	sb := e.browser()
	sb.get("/login")
	sb.post("/login", url.Values{"name": {"staff"}, "password": {"wrong password"}})
	b := e.browser()
	b.login("auditor")
	_, body := b.get("/audit?action=login.fail")
	if !strings.Contains(body, "1 件") || !strings.Contains(body, "bad-password") || strings.Contains(body, "user.create") {
		t.Errorf("filtered audit page: %s", body)
	}
	if code, _ := b.get("/audit?since=yesterday"); code != 400 {
		t.Errorf("bad date: %d", code)
	}
	res, err := b.c.Get(e.srv.URL + "/audit/export?format=csv&actor=staff")
	if err != nil {
		t.Fatal(err)
	}
	csv := readAll(t, res)
	if res.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") ||
		!strings.HasPrefix(csv, "\ufeffseq,time,actor") || !strings.Contains(csv, "login.fail") || strings.Contains(csv, "auditor") {
		t.Errorf("CSV export: %v %q", res.Header, csv)
	}
	if code, _ := b.get("/audit/export?format=xml"); code != 400 {
		t.Errorf("bad format: %d", code)
	}
	es, _ := e.store.AuditEntries(context.Background(), store.AuditFilter{Action: audit.AuditExport})
	if len(es) != 1 || es[0].Actor != "auditor" {
		t.Errorf("export not audited: %+v", es)
	}
	if r, _ := audit.Verify(context.Background(), e.store); !r.OK() {
		t.Errorf("chain after console use: %+v", r)
	}
}
