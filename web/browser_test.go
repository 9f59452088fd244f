package web

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpwa "github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/store"
	"github.com/pquerna/otp/totp"
)

// chromium returns the browser binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("KYOJIN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("Chromium not found (install the Debian package chromium, or set KYOJIN_CHROMIUM)")
	return ""
}

// browserEnv is a console on https://localhost:PORT (WebAuthn needs a
// domain, not an IP address) driven by a real headless Chromium at
// 1366×768.
type browserEnv struct {
	*env
	base string
	ctx  context.Context
	mu   sync.Mutex
	logs []string // console messages and exceptions (CSP violations land here)
}

func newBrowserEnv(t *testing.T, envOpts ...func(*Options)) *browserEnv {
	bin := chromium(t)
	e := newEnv(t, envOpts...)
	e.srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(e.web.Handler())
	e.srv.Listener = ln
	e.srv.StartTLS()
	t.Cleanup(e.srv.Close)
	base := "https://localhost:" + strings.TrimPrefix(e.srv.URL[strings.LastIndex(e.srv.URL, ":"):], ":")
	wa, err := auth.NewWebAuthn("localhost", []string{base})
	if err != nil {
		t.Fatal(err)
	}
	e.auth.WebAuthn = wa

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
		// The test server's certificate is self-signed; the console's own
		// fingerprint check is tested in cli.
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.WindowSize(1366, 768),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	be := &browserEnv{env: e, base: base, ctx: ctx}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	// Console messages, exceptions and browser log entries (a CSP
	// violation is one) are collected for the tests to inspect.
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			be.mu.Lock()
			be.logs = append(be.logs, m.String())
			be.mu.Unlock()
		}
	}()
	return be
}

func (b *browserEnv) run(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatal(err)
	}
}

func eval[T any](b *browserEnv, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatal(err)
	}
	return v
}

// shot saves a full-page screenshot under testdata/artifacts/ (gitignored;
// CI keeps them as artifacts).
func (b *browserEnv) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatal(err)
	}
	dir := filepath.Join("testdata", "artifacts")
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

func (b *browserEnv) text(sel string) string {
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatal(err)
	}
	return s
}

func (b *browserEnv) passwordStep(name string) {
	b.run(chromedp.Navigate(b.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), name), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#login-form")))
}

func (b *browserEnv) logout() {
	b.run(chromedp.Click(chromedp.CSS(`header form button`)), chromedp.WaitVisible(chromedp.CSS("#login-form")))
}

// noHorizontalScroll checks the page fits 1366 px wide.
func (b *browserEnv) noHorizontalScroll(page string) {
	w := eval[int](b, `document.documentElement.scrollWidth`)
	if w > 1366 {
		b.t.Errorf("%s is %d px wide at 1366×768", page, w)
	}
}

func TestBrowserTOTPLoginModelAndStaff(t *testing.T) {
	b := newBrowserEnv(t)
	b.user("ciso", true, store.Grant{Role: "ciso"})
	b.user("staff", false, store.Grant{Role: "staff"})

	b.passwordStep("ciso")
	b.run(chromedp.WaitVisible(chromedp.CSS("#code")))
	b.shot("01-mfa")
	b.advance(30 * time.Second)
	code, _ := totp.GenerateCode(b.totp["ciso"], b.now())
	b.run(chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Submit(chromedp.CSS("#code")),
		chromedp.WaitVisible(chromedp.CSS(".tiles")))
	if h := b.text("h1"); h != "ダッシュボード" {
		t.Errorf("after TOTP login: h1 %q", h)
	}
	if s := b.text(".tiles"); !strings.Contains(s, "重大") {
		t.Errorf("severity tiles: %q", s)
	}
	b.noHorizontalScroll("dashboard")
	b.shot("02-dashboard")

	b.run(chromedp.Click(chromedp.CSS(`nav a[href="/model"]`)), chromedp.WaitVisible(chromedp.CSS("svg.diagram")))
	if s := b.text("#h-zones"); s != "ゾーン" {
		t.Errorf("model page: %q", s)
	}
	nodes := eval[int](b, `document.querySelectorAll("svg.diagram g.node").length`)
	if nodes < 5 {
		t.Errorf("diagram has %d nodes", nodes)
	}
	b.noHorizontalScroll("model")
	b.shot("03-model")
	b.run(chromedp.Click(chromedp.CSS(`nav a[href="/findings"]`)), chromedp.WaitVisible(chromedp.CSS("#severity")))
	b.shot("04-findings")
	b.run(chromedp.Click(chromedp.CSS(`nav a[href="/audit"]`)), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	if s := b.text("table.audit"); !strings.Contains(s, "login.mfa") {
		t.Errorf("audit page lacks the login: %q", s)
	}
	b.shot("05-audit")
	b.run(chromedp.Click(chromedp.CSS(`nav a[href="/users"]`)), chromedp.WaitVisible(chromedp.CSS("#new-name")))
	b.shot("06-users")
	b.logout()

	// A 職員 logs in without MFA, sees no admin menu and is refused the
	// admin page when typing its address.
	b.passwordStep("staff")
	b.run(chromedp.WaitVisible(chromedp.CSS(".who")))
	links := eval[int](b, `document.querySelectorAll('nav a[href="/users"], nav a[href="/audit"]').length`)
	if links != 0 {
		t.Errorf("staff menu shows %d admin links", links)
	}
	b.run(chromedp.Navigate(b.base+"/users"), chromedp.WaitVisible(chromedp.CSS(".error")))
	if s := b.text(".error"); !strings.Contains(s, "権限がありません") {
		t.Errorf("staff on /users: %q", s)
	}
	b.shot("07-staff-forbidden")

	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.logs {
		if strings.Contains(l, "Content Security Policy") || strings.Contains(l, "Refused") {
			t.Errorf("browser reported: %s", l)
		}
	}
}

// The keyboard reaches every control of the login form in order, starting
// with the skip link.
func TestBrowserKeyboardLogin(t *testing.T) {
	b := newBrowserEnv(t)
	b.run(chromedp.Navigate(b.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#name")))
	var order []string
	for range 4 {
		id := eval[string](b, `(document.activeElement.id || document.activeElement.className || document.activeElement.tagName)`)
		order = append(order, id)
		b.run(chromedp.KeyEvent("\t"))
	}
	// #name has autofocus; Tab moves to the password, then the button.
	if strings.Join(order[:3], ",") != "name,password,primary" {
		t.Errorf("focus order: %v", order)
	}
	labelled := eval[bool](b, `[...document.querySelectorAll("input:not([type=hidden])")].every(i => i.labels && i.labels.length > 0)`)
	if !labelled {
		t.Error("an input has no label")
	}
}

// Enrol a security key and log in with it through Chrome's virtual
// authenticator: the real browser API, the real ceremony.
func TestBrowserSecurityKey(t *testing.T) {
	b := newBrowserEnv(t)
	b.user("officer", false, store.Grant{Role: "security-officer", Scope: "department:somu"})
	if _, err := chromedp.Call(b.ctx, cdpwa.Enable, cdpwa.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b.ctx, cdpwa.AddVirtualAuthenticator, cdpwa.AddVirtualAuthenticatorParams{Options: &cdpwa.VirtualAuthenticatorOptions{
		Protocol: cdpwa.AuthenticatorProtocolCtap2, Transport: cdpwa.AuthenticatorTransportUsb,
		HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}}); err != nil {
		t.Fatal(err)
	}
	b.passwordStep("officer")
	b.run(chromedp.WaitVisible(chromedp.CSS("#webauthn-register")))
	b.shot("08-enrol")
	b.run(chromedp.Click(chromedp.CSS("#webauthn-register")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if s := b.text(".flash"); !strings.Contains(s, "登録しました") {
		t.Fatalf("security key enrolment: %q (%s)", s, b.text("#webauthn-status"))
	}
	b.logout()
	b.passwordStep("officer")
	b.run(chromedp.WaitVisible(chromedp.CSS("#webauthn-login")), chromedp.Click(chromedp.CSS("#webauthn-login")),
		chromedp.WaitVisible(chromedp.CSS(".tiles")))
	if h := b.text("h1"); h != "ダッシュボード" {
		t.Errorf("after security key login: %q", h)
	}
	b.shot("09-key-login")
}

// contrastJS returns the text elements whose contrast against their
// effective background is below 4.5:1 (WCAG 2.1 AA, 1.4.3).
const contrastJS = `(() => {
  const rgb = s => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(",").map(Number); return {r:p[0], g:p[1], b:p[2], a: p.length > 3 ? p[3] : 1}; };
  const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b); };
  const bg = el => { for (; el; el = el.parentElement) { const c = rgb(getComputedStyle(el).backgroundColor); if (c && c.a > 0) return c; } return {r:255, g:255, b:255, a:1}; };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    if (el.closest("svg")) continue;
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.getClientRects().length === 0) continue;
    const fg = rgb(getComputedStyle(el).color), b = bg(el);
    const l1 = lum(fg), l2 = lum(b), ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    if (ratio < 4.5) bad.push(el.tagName + "." + el.className + " '" + el.textContent.trim().slice(0, 20) + "' " + ratio.toFixed(2));
  }
  return bad;
})()`

func TestBrowserContrast(t *testing.T) {
	// With the example assessment and activity files, so that every
	// section of the dashboard and the requirements pages is drawn.
	san := filepath.Join(t.TempDir(), "sanitize.jsonl")
	writeLines(t, san, sanitize.Record{Start: time.Now(), Name: "<b>x</b>.exe", Verdict: sanitize.VerdictBlocked, ReasonCode: "type-not-allowed"}, "{bad")
	b := newBrowserEnv(t, withKakuuAssessment(t), func(o *Options) { o.Activity.SanitizeAudit = san })
	b.user("ciso", true, store.Grant{Role: "ciso"})
	b.run(chromedp.Navigate(b.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#name")))
	if bad := eval[[]string](b, contrastJS); len(bad) > 0 {
		t.Errorf("login: low contrast: %v", bad)
	}
	b.passwordStep("ciso")
	b.run(chromedp.WaitVisible(chromedp.CSS("#code")))
	b.advance(30 * time.Second)
	code, _ := totp.GenerateCode(b.totp["ciso"], b.now())
	b.run(chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Submit(chromedp.CSS("#code")), chromedp.WaitVisible(chromedp.CSS(".tiles")))
	for _, p := range []string{"/", "/model", "/findings", "/catalog", "/catalog/section?kind=guideline&id=6.1", "/catalog/entry?id=6.1(11)①",
		"/audit", "/users", "/account/mfa", "/account/password", "/?lang=en"} {
		b.run(chromedp.Navigate(b.base+p), chromedp.WaitVisible(chromedp.CSS("h1")))
		if bad := eval[[]string](b, contrastJS); len(bad) > 0 {
			t.Errorf("%s: low contrast: %v", p, bad)
		}
		if p == "/" || strings.HasPrefix(p, "/catalog") || p == "/?lang=en" {
			b.noHorizontalScroll(p)
		}
	}
	b.shot("05-dashboard-en-assessment-activity")
}
