package web

import (
	"context"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/storetest"
	"github.com/pquerna/otp/totp"
)

const testPassword = "correct horse battery"

// env is a console on a real TLS listener with a controllable clock.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	store store.Store
	auth  *auth.Service
	web   *Server
	mu    sync.Mutex
	clock time.Time
	totp  map[string]string // user → TOTP secret
}

func (e *env) now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock
}

func (e *env) advance(d time.Duration) {
	e.mu.Lock()
	e.clock = e.clock.Add(d)
	e.mu.Unlock()
}

// testModel writes the check package's base model with the system juki
// assigned to department somu and division jumin, for scope tests.
func testModel(t testing.TB) *model.Model {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"net.yaml", "org.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "check", "testdata", "base", f))
		if err != nil {
			t.Fatal(err)
		}
		s := strings.Replace(string(b), "{id: juki, name: 住民記録システム, zone: mn,", "{id: juki, name: 住民記録システム, zone: mn, department: somu, division: jumin,", 1)
		if err := os.WriteFile(filepath.Join(dir, f), []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m, diags := model.Load(dir)
	if m == nil {
		t.Fatalf("test model: %v", diags.Err())
	}
	return m
}

func newEnv(t testing.TB, opts ...func(*Options)) *env {
	t.Helper()
	s := storetest.SQLite(t)
	e := &env{t: t, store: s, clock: time.Now().UTC().Truncate(time.Second), totp: map[string]string{}}
	sealer, err := auth.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	al := audit.New(s)
	e.auth = auth.NewService(s, al, sealer, log)
	e.auth.Params = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	e.auth.Now = e.now
	m := testModel(t)
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Store: s, Auth: e.auth, Audit: al, Log: log, Model: m, Result: check.Run(m), Catalog: cat, Secure: true, Now: e.now}
	for _, f := range opts {
		f(&o)
	}
	e.web, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewTLSServer(e.web.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// user creates an account; withTOTP enrols a TOTP secret the test keeps.
func (e *env) user(name string, withTOTP bool, grants ...store.Grant) *store.User {
	e.t.Helper()
	ctx := context.Background()
	u, err := e.auth.CreateUser(ctx, "test", name, "表示 "+name, testPassword, grants)
	if err != nil {
		e.t.Fatal(err)
	}
	if withTOTP {
		key, err := e.auth.BeginTOTP(ctx, u)
		if err != nil {
			e.t.Fatal(err)
		}
		code, _ := totp.GenerateCode(key.Secret(), e.now())
		if err := e.auth.ConfirmTOTP(ctx, u, code); err != nil {
			e.t.Fatal(err)
		}
		e.totp[name] = key.Secret()
		e.advance(30 * time.Second)
	}
	return u
}

// browser is an HTTP client with a cookie jar that remembers the last
// CSRF token it saw.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
	last string // last final URL path
	base string // server URL (the console's, or a transfer listener's)
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	// A client per browser: httptest's Client() is shared.
	return &browser{e: e, c: &http.Client{Transport: e.srv.Client().Transport, Jar: jar}, base: e.srv.URL}
}

var csrfRe = regexp.MustCompile(`<meta name="csrf-token" content="([^"]*)">`)

func (b *browser) do(req *http.Request) (int, string) {
	b.e.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if m := csrfRe.FindSubmatch(body); m != nil && len(m[1]) > 0 {
		b.csrf = string(m[1])
	}
	b.last = res.Request.URL.Path
	return res.StatusCode, string(body)
}

func (b *browser) get(path string) (int, string) {
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// post submits a form with the current CSRF token (unless the form sets
// its own "csrf").
func (b *browser) post(path string, form url.Values) (int, string) {
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) cookie() string {
	u, _ := url.Parse(b.e.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "__Host-kyojin" {
			return c.Value
		}
	}
	return ""
}

// login goes through the password and, when enrolled, TOTP steps.
func (b *browser) login(name string) {
	b.e.t.Helper()
	b.loginWith(name, testPassword, "/")
}

// loginWith logs in with password pw and expects to land on landing.
func (b *browser) loginWith(name, pw, landing string) {
	b.e.t.Helper()
	b.get("/login")
	code, body := b.post("/login", url.Values{"name": {name}, "password": {pw}})
	if code != 200 {
		b.e.t.Fatalf("login %s: %d %s", name, code, body)
	}
	if b.last == "/login/mfa" {
		b.e.advance(30 * time.Second) // a fresh TOTP step for every login
		c, _ := totp.GenerateCode(b.e.totp[name], b.e.now())
		code, body = b.post("/login/totp", url.Values{"code": {c}})
		if code != 200 || b.last != landing {
			b.e.t.Fatalf("totp %s: %d %s %s", name, code, b.last, body)
		}
	}
}

func TestSecurityHeadersAndCookie(t *testing.T) {
	e := newEnv(t)
	res, err := e.srv.Client().Get(e.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	h := res.Header
	if got := h.Get("Content-Security-Policy"); got != csp || strings.Contains(got, "unsafe-inline") {
		t.Errorf("CSP = %q", got)
	}
	for k, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
		"Cache-Control": "no-store", "Strict-Transport-Security": "max-age=31536000"} {
		if h.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, h.Get(k), v)
		}
	}
	if len(h.Get("X-Request-Id")) != 16 {
		t.Errorf("request id = %q", h.Get("X-Request-Id"))
	}
	sc := h.Get("Set-Cookie")
	for _, want := range []string{"__Host-kyojin=", "Path=/", "HttpOnly", "Secure", "SameSite=Strict"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Domain=") {
		t.Errorf("cookie must be host-only: %s", sc)
	}
}

// No page may carry inline script or inline event handlers: the CSP would
// block them, and their absence is what makes the CSP strict.
func TestNoInlineScript(t *testing.T) {
	e := newEnv(t)
	e.user("ciso", true, store.Grant{Role: "ciso"})
	b := e.browser()
	b.login("ciso")
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]|\son[a-z]+=|style=|javascript:`)
	for _, p := range []string{"/", "/model", "/findings", "/catalog", "/catalog/section?kind=guideline&id=6.1", "/catalog/entry?id=6.1(1)", "/audit", "/users", "/users/1", "/account/mfa", "/model/diagram.svg"} {
		code, body := b.get(p)
		if code != 200 {
			t.Errorf("%s: status %d", p, code)
		}
		if m := inline.FindString(body); m != "" {
			t.Errorf("%s: inline script or style: %q", p, m)
		}
	}
}

func TestLoginWithTOTPAndSessionFixation(t *testing.T) {
	e := newEnv(t)
	e.user("ciso", true, store.Grant{Role: "ciso"})
	b := e.browser()
	b.get("/login")
	anon := b.cookie()
	if anon == "" {
		t.Fatal("no session cookie before login")
	}
	b.post("/login", url.Values{"name": {"ciso"}, "password": {testPassword}})
	if b.last != "/login/mfa" {
		t.Fatalf("after password: at %s", b.last)
	}
	afterPw := b.cookie()
	// A session waiting for its second factor sees nothing.
	if _, body := b.get("/"); b.last != "/login/mfa" || strings.Contains(body, "指摘") {
		t.Errorf("dashboard reachable before MFA: at %s", b.last)
	}
	e.advance(30 * time.Second)
	c, _ := totp.GenerateCode(e.totp["ciso"], e.now())
	if code, _ := b.post("/login/totp", url.Values{"code": {c}}); code != 200 || b.last != "/" {
		t.Fatalf("totp: %d at %s", code, b.last)
	}
	final := b.cookie()
	if anon == afterPw || afterPw == final || anon == final {
		t.Fatalf("session id not renewed at each step: %s %s %s", anon, afterPw, final)
	}
	// The ids known before login are dead: an attacker who planted or saw
	// them gains nothing.
	for _, old := range []string{anon, afterPw} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/", nil)
		req.AddCookie(&http.Cookie{Name: "__Host-kyojin", Value: old})
		c := &http.Client{Transport: e.srv.Client().Transport}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/login" {
			t.Errorf("old session id still valid: %d %s", res.StatusCode, res.Header.Get("Location"))
		}
	}
	// The same code cannot be used twice.
	b2 := e.browser()
	b2.get("/login")
	b2.post("/login", url.Values{"name": {"ciso"}, "password": {testPassword}})
	if code, body := b2.post("/login/totp", url.Values{"code": {c}}); code != 401 || !strings.Contains(body, "すでに使用") {
		t.Errorf("replayed TOTP code: %d", code)
	}
	// Logging out ends the session.
	b.post("/logout", nil)
	if b.last != "/login" {
		t.Errorf("after logout at %s", b.last)
	}
	if _, _ = b.get("/"); b.last != "/login" {
		t.Errorf("dashboard after logout: at %s", b.last)
	}
}

func TestCSRFRejected(t *testing.T) {
	e := newEnv(t)
	e.user("ciso", true, store.Grant{Role: "ciso"})
	b := e.browser()
	b.get("/login")
	for name, form := range map[string]url.Values{
		"missing": {"name": {"ciso"}, "password": {testPassword}, "csrf": {""}},
		"wrong":   {"name": {"ciso"}, "password": {testPassword}, "csrf": {"AAAA" + b.csrf[4:]}},
	} {
		if code, body := b.post("/login", form); code != 403 || !strings.Contains(body, "不正な送信") {
			t.Errorf("login with %s token: %d", name, code)
		}
	}
	// A session-less POST (no cookie at all) is refused too.
	fresh := e.browser()
	if code, _ := fresh.post("/login", url.Values{"name": {"ciso"}, "password": {testPassword}, "csrf": {b.csrf}}); code != 403 {
		t.Errorf("login without session: %d", code)
	}
	b.login("ciso")
	form := url.Values{"name": {"evil"}, "password": {"evil password 1"}, "role": {"ciso"}}
	for name, mutate := range map[string]func(*http.Request){
		"no token":       func(r *http.Request) {},
		"cross-site":     func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"foreign origin": func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
		"token in query": func(r *http.Request) { r.URL.RawQuery = "csrf=" + b.csrf },
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		req, _ := http.NewRequest("POST", e.srv.URL+"/users", strings.NewReader(f.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		mutate(req)
		if code, _ := b.do(req); code != 403 {
			t.Errorf("%s: status %d, want 403", name, code)
		}
	}
	// A genuine request with the right token but from another site is
	// still refused.
	f := url.Values{"csrf": {b.csrf}}
	for k, v := range form {
		f[k] = v
	}
	req, _ := http.NewRequest("POST", e.srv.URL+"/users", strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if code, _ := b.do(req); code != 403 {
		t.Errorf("cross-site with token: %d", code)
	}
	if _, err := e.store.UserByName(context.Background(), "evil"); err == nil {
		t.Error("a forged request created a user")
	}
}

func TestLockoutThroughTheConsole(t *testing.T) {
	e := newEnv(t)
	e.user("staff", false, store.Grant{Role: "staff"})
	b := e.browser()
	b.get("/login")
	for i := range e.auth.Policy.MaxFailures {
		if code, body := b.post("/login", url.Values{"name": {"staff"}, "password": {"wrong password"}}); code != 401 || !strings.Contains(body, msgBadLogin) {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, body := b.post("/login", url.Values{"name": {"staff"}, "password": {testPassword}})
	if code != 401 || !strings.Contains(body, "ロック") {
		t.Errorf("right password on a locked account: %d", code)
	}
	es, _ := e.store.AuditEntries(context.Background(), store.AuditFilter{Action: audit.LoginLocked})
	if len(es) != 1 || es[0].Target != "user/staff" {
		t.Errorf("lockout not audited: %+v", es)
	}
	e.advance(e.auth.Policy.LockFor + time.Minute)
	b.login("staff")
	if b.last != "/" {
		t.Errorf("after the lock expired: at %s", b.last)
	}
}

func TestPrivilegedUserMustEnrolMFA(t *testing.T) {
	e := newEnv(t)
	e.user("officer", false, store.Grant{Role: "security-officer", Scope: "department:somu"})
	b := e.browser()
	b.get("/login")
	b.post("/login", url.Values{"name": {"officer"}, "password": {testPassword}})
	if b.last != "/account/mfa" {
		t.Fatalf("privileged user without MFA landed on %s", b.last)
	}
	for _, p := range []string{"/", "/model", "/findings"} {
		if b.get(p); b.last != "/account/mfa" {
			t.Errorf("%s reachable before enrolment (at %s)", p, b.last)
		}
	}
	before := b.cookie()
	_, body := b.post("/account/mfa/totp/begin", nil)
	m := regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret on the enrolment page: %s", body)
	}
	if !strings.Contains(body, `src="data:image/png;base64,`) {
		t.Error("no QR code")
	}
	c, _ := totp.GenerateCode(m[1], e.now())
	if code, _ := b.post("/account/mfa/totp/confirm", url.Values{"code": {c}}); code != 200 || b.last != "/account/mfa" {
		t.Fatalf("confirm: %d at %s", code, b.last)
	}
	if b.cookie() == before {
		t.Error("session id not renewed after enrolment")
	}
	if _, body := b.get("/model"); b.last != "/model" || !strings.Contains(body, "juki") {
		t.Errorf("model after enrolment: at %s", b.last)
	}
	es, _ := e.store.AuditEntries(context.Background(), store.AuditFilter{Action: audit.MFAEnrol})
	if len(es) != 1 || es[0].Actor != "officer" {
		t.Errorf("enrolment not audited: %+v", es)
	}
}

func TestDiagramSVG(t *testing.T) {
	m := testModel(t)
	svg := Diagram(m)
	var x struct{ XMLName xml.Name }
	if err := xml.Unmarshal([]byte(svg), &x); err != nil || x.XMLName.Local != "svg" {
		t.Fatalf("not well-formed SVG: %v", err)
	}
	for _, want := range []string{"マイナンバー利用事務系", "LGWAN接続系", "インターネット接続系", "LGWAN（全国）", "インターネット",
		`class="f-sanitized"`, `class="f-specific"`, `role="img"`, "<desc id=\"dg-desc\">", "試験町"} {
		if !strings.Contains(svg, want) {
			t.Errorf("diagram lacks %q", want)
		}
	}
	if strings.Contains(svg, "<script") || strings.Contains(svg, "style=") {
		t.Error("diagram carries script or inline style")
	}
	// The base model has the mail relay (internet zone) → LGWAN mail by
	// sanitized mail: that must be an arrow between the two zones.
	if !strings.Contains(svg, "インターネット接続系 → LGWAN接続系: 1 件（メール無害化 1）") {
		t.Errorf("diagram description lacks the sanitized mail flow: %s", regexp.MustCompile(`<desc[^>]*>[^<]*`).FindString(svg))
	}
}

func TestNotFoundShowsRequestID(t *testing.T) {
	e := newEnv(t)
	e.user("ciso", true, store.Grant{Role: "ciso"})
	b := e.browser()
	b.login("ciso")
	code, body := b.get("/no/such/page")
	if code != 404 || !regexp.MustCompile(`エラー番号: <code>[0-9a-f]{16}</code>`).MatchString(body) {
		t.Errorf("404 page: %d %s", code, body)
	}
	if code, _ := b.get("/users/999"); code != 404 {
		t.Errorf("missing user: %d", code)
	}
}

func TestPanicBecomesError(t *testing.T) {
	e := newEnv(t)
	e.web.mux.Handle("GET /boom", e.web.adapt(func(http.ResponseWriter, *http.Request) error { panic("hostile input") }))
	b := e.browser()
	code, body := b.get("/boom")
	if code != 500 || !strings.Contains(body, "内部エラー") || strings.Contains(body, "hostile input") {
		t.Errorf("panic: %d %s", code, body)
	}
}

func readAll(t *testing.T, res *http.Response) string {
	t.Helper()
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var updateGolden = flag.Bool("update", false, "rewrite golden files")

func TestSessionExpiryAndDisabledUser(t *testing.T) {
	e := newEnv(t)
	u := e.user("staff", false, store.Grant{Role: "staff"})
	b := e.browser()
	b.login("staff")
	e.advance(e.auth.Policy.SessionIdle - time.Minute)
	if b.get("/"); b.last != "/" {
		t.Fatalf("active session refused: at %s", b.last)
	}
	e.advance(e.auth.Policy.SessionIdle + time.Second)
	if b.get("/"); b.last != "/login" {
		t.Errorf("idle session still valid: at %s", b.last)
	}
	b.login("staff")
	for range int(e.auth.Policy.SessionTTL/(e.auth.Policy.SessionIdle-time.Minute)) + 1 {
		e.advance(e.auth.Policy.SessionIdle - time.Minute)
		b.get("/")
	}
	if b.last != "/login" {
		t.Errorf("session outlived its absolute lifetime: at %s", b.last)
	}
	b.login("staff")
	u.Disabled = true
	if err := e.store.UpdateUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if b.get("/"); b.last != "/login" {
		t.Errorf("disabled user keeps the session: at %s", b.last)
	}
}

func TestLoginRateLimitedPerAddress(t *testing.T) {
	e := newEnv(t)
	e.auth.Policy.IPMaxFails = 3
	e.user("staff", false, store.Grant{Role: "staff"})
	b := e.browser()
	b.get("/login")
	for i := range 3 {
		b.post("/login", url.Values{"name": {fmt.Sprintf("guess%d", i)}, "password": {"wrong password"}})
	}
	if code, body := b.post("/login", url.Values{"name": {"staff"}, "password": {testPassword}}); code != 429 || !strings.Contains(body, "多すぎます") {
		t.Errorf("over the address limit: %d", code)
	}
}

func TestCatalogPages(t *testing.T) {
	e := newEnv(t)
	e.user("officer", true, store.Grant{Role: "security-officer", Scope: "department:somu"})
	b := e.browser()
	b.login("officer")
	code, body := b.get("/catalog")
	if code != 200 || !strings.Contains(body, `href="/catalog/section?kind=guideline&amp;id=1"`) || !strings.Contains(body, "モデル <strong>alpha</strong>") {
		t.Fatalf("catalog index: %d", code)
	}
	code, body = b.get("/catalog/section?kind=guideline&id=1")
	if code != 200 || !strings.Contains(body, `href="/catalog/entry?id=1%281%29"`) {
		t.Errorf("section 1: %d", code)
	}
	code, body = b.get("/catalog/entry?id=1(1)")
	if code != 200 || !strings.Contains(body, "この団体への適用") {
		t.Errorf("entry 1(1): %d", code)
	}
	// Requirements limited to other network models say why they do not apply.
	cat, _ := catalog.Default()
	for _, en := range cat.Entries() {
		if len(en.Applies.NetworkModels) > 0 && !slices.Contains(en.Applies.NetworkModels, "alpha") {
			_, body = b.get("/catalog/entry?id=" + url.QueryEscape(en.ID))
			if !strings.Contains(body, "対象外") {
				t.Errorf("%s (only %v) shown as applicable to an alpha body", en.ID, en.Applies.NetworkModels)
			}
			break
		}
	}
	for _, p := range []string{"/catalog/entry?id=99(99)", "/catalog/section?kind=guideline&id=42", "/catalog/section?kind=x&id=1"} {
		if code, _ := b.get(p); code != 404 {
			t.Errorf("%s: %d", p, code)
		}
	}
}
