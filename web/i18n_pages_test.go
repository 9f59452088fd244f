package web

import (
	"fmt"
	"html"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
)

// templateNames lists every template, so that a new page is covered by the
// catalog tests without anyone remembering to add it.
func templateNames(t *testing.T) []string {
	t.Helper()
	files, err := assets.ReadDir("templates")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if n, ok := strings.CutSuffix(f.Name(), ".html"); ok {
			names = append(names, n)
		}
	}
	if len(names) < 20 {
		t.Fatalf("only %d templates found", len(names))
	}
	return names
}

// kanaHan is Japanese text (punctuation alone, such as 、 or （, is not).
var kanaHan = regexp.MustCompile(`[\p{Hiragana}\p{Katakana}\p{Han}]`)

// keptJapanese are the template texts that stay Japanese on purpose.
var keptJapanese = map[string]string{
	"日本語": "the language switch names the language in itself",
	"住民":  "an option value submitted as data (incident_public.html)", "事業者・委託先": "as above", "その他": "as above",
}

// Every Japanese text in a template goes through the catalog: with the
// actions removed, a template has no Japanese left.
func TestTemplatesHaveNoUntranslatedText(t *testing.T) {
	action := regexp.MustCompile(`(?s)\{\{.*?\}\}`)
	// Full-width punctuation （、） counts too: "（" left in an English page
	// reads oddly.
	run := regexp.MustCompile(`[^<>"=]*[\p{Hiragana}\p{Katakana}\p{Han}\x{3000}-\x{303f}\x{ff01}-\x{ff5e}][^<>"=]*`)
	jp := regexp.MustCompile(`[\p{Hiragana}\p{Katakana}\p{Han}\x{3000}-\x{303f}\x{ff01}-\x{ff5e}]`)
	for _, name := range templateNames(t) {
		b, err := assets.ReadFile("templates/" + name + ".html")
		if err != nil {
			t.Fatal(err)
		}
		text := action.ReplaceAllString(string(b), "\x00")
		for _, m := range run.FindAllString(text, -1) {
			for _, frag := range strings.Split(m, "\x00") {
				frag = strings.TrimSpace(frag)
				if _, ok := keptJapanese[frag]; ok || !jp.MatchString(frag) {
					continue
				}
				t.Errorf("%s.html: untranslated text %q (wrap it in {{$.T \"…\"}} and add it to the catalog)", name, frag)
			}
		}
	}
}

// The labels handlers compute and the messages they show have English.
func TestEnglishHandlerMessages(t *testing.T) {
	var labels []string
	for _, st := range []string{transfer.StatusPending, transfer.StatusAvailable, transfer.StatusRejected, transfer.StatusExpired} {
		labels = append(labels, transfer.StatusJA(st))
	}
	for _, side := range []transfer.Side{transfer.SideInternet, transfer.SideLGWAN} {
		labels = append(labels, side.JA(), "ファイル転送（"+side.JA()+"）", "この操作は"+side.JA()+"では行えません。")
	}
	for _, z := range model.ZoneTypeJA {
		labels = append(labels, z)
	}
	for _, l := range labels {
		if _, ok := messagesEN[l]; !ok {
			t.Errorf("label %q has no English", l)
		}
	}
	// Error messages written as one literal (Msg: "…" not followed by +).
	msg := regexp.MustCompile(`(?:Msg:\s*|errStatus\([^,()]+,\s*)"([^"]+)"\s*[,})]`)
	files, _ := filepath.Glob("*.go")
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msg.FindAllStringSubmatch(string(b), -1) {
			n++
			if _, ok := messagesEN[m[1]]; !ok && kanaHan.MatchString(m[1]) {
				t.Errorf("%s: error message %q has no English", f, m[1])
			}
		}
	}
	if n < 20 {
		t.Errorf("found only %d error messages; is the pattern stale?", n)
	}
}

// consoleStrings are the Japanese texts the console itself writes: every
// catalog key. Names and texts that come from data (the model, the
// guideline catalog, user input) are not among them, so finding one as a
// whole text node of an English page means a translation was skipped.
func consoleStrings() map[string]bool {
	m := map[string]bool{}
	for ja := range messagesEN {
		if kanaHan.MatchString(ja) && !fixtureData[ja] {
			m[ja] = true
		}
	}
	return m
}

// fixtureData are values of the test model that happen to equal a catalog
// key; shown as data (a host's role), they stay as written.
var fixtureData = map[string]bool{"メール無害化": true}

var (
	textNode  = regexp.MustCompile(`>([^<]+)<`)
	attrValue = regexp.MustCompile(`(?:alt|title|aria-label|placeholder)="([^"]*)"`)
)

// untranslated lists the text nodes and labelling attributes of an English
// page that are console strings left in Japanese.
func untranslated(body string, console map[string]bool) []string {
	var left []string
	for _, re := range []*regexp.Regexp{textNode, attrValue} {
		for _, m := range re.FindAllStringSubmatch(body, -1) {
			s := strings.TrimSpace(html.UnescapeString(m[1]))
			if console[s] {
				left = append(left, s)
			}
		}
	}
	return left
}

// Every console page renders in English: no text of the console's own is
// left in Japanese (data values such as names may be), and the page says
// it is English.
func TestEnglishPagesRender(t *testing.T) {
	x := newTransferEnv(t, transfer.DefaultPolicy())
	x.user("alice", false, store.Grant{Role: "staff", Scope: "division:jumin"})
	x.user("bob", false, store.Grant{Role: "staff"})
	x.user("boss", true, store.Grant{Role: "security-manager", Scope: "division:jumin"})
	x.user("ciso", true, store.Grant{Role: "ciso"}, store.Grant{Role: "auditor"})
	console := consoleStrings()

	alice := x.on(x.internet, "alice")
	alice.get("/transfer?lang=en")
	code, body := alice.upload(alice.form("bob", part{"files", "memo.txt", []byte("メモ\n")})...)
	if code != 200 {
		t.Fatalf("upload: %d %s", code, body)
	}
	tr := lastTransfer(t, x.store)
	check := func(who, path string, code int, body string, want ...string) {
		t.Helper()
		if code != 200 && code != 404 {
			t.Errorf("%s %s: status %d", who, path, code)
		}
		if !strings.Contains(body, `<html lang="en">`) {
			t.Errorf("%s %s: not English", who, path)
		}
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s %s: lacks %q", who, path, w)
			}
		}
		if left := untranslated(body, console); len(left) > 0 {
			t.Errorf("%s %s: Japanese left in English: %q", who, path, left)
		}
	}
	for _, c := range []struct{ path, want string }{
		{"/transfer", "Send to the LGWAN side"},
		{"/transfer/t/" + tr.ID, "Files and sanitization results"},
	} {
		code, body := alice.get(c.path)
		check("alice", c.path, code, body, c.want)
	}

	ciso := x.browser()
	ciso.get("/login?lang=en")
	ciso.login("ciso")
	u, err := x.store.UserByName(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, want string }{
		{"/", "Dashboard"},
		{"/model", "Network diagram"},
		{"/findings", "Severity"},
		{"/audit", "Audit log (newest first)"},
		{"/audit/transfers", "File transfer history (newest first)"},
		{"/audit/transfers?status=pending", "Awaiting approval"},
		{"/users", "Create a user"},
		{fmt.Sprint("/users/", u.ID), "Change roles"},
		{"/account/mfa", "TOTP (authenticator app)"},
		{"/account/password", "Current password"},
		{"/catalog", "Guideline standards"},
		{"/no-such-page", "Page not found."},
	} {
		code, body := ciso.get(c.path)
		check("ciso", c.path, code, body, c.want)
	}
	// Pages reached by posting: a password reset, a form error, a transfer
	// refused with a composed message.
	bob, err := x.store.UserByName(t.Context(), "bob")
	if err != nil {
		t.Fatal(err)
	}
	code, body = ciso.post(fmt.Sprint("/users/", bob.ID, "/reset-password"), url.Values{})
	check("ciso", "reset-password", code, body, "It is shown only once.")
	ciso.get("/account/password")
	code, body = ciso.post("/account/password", url.Values{"current": {"x"}, "new": {"abcdefghijklmn"}, "confirm": {"other"}})
	if code != 400 {
		t.Errorf("password mismatch: %d", code)
	}
	check("ciso", "password error", 200, body, "The new password and its confirmation differ.")
	alice.get("/transfer")
	code, body = alice.upload(alice.form("nobody", part{"files", "memo.txt", []byte("メモ\n")})...)
	if code != 400 {
		t.Errorf("unknown recipient: %d", code)
	}
	check("alice", "upload error", 200, body, "Recipient &#34;nobody&#34; is not registered.")
	// The second factor at login, with a wrong code.
	m := x.browser()
	m.get("/login?lang=en")
	m.post("/login", url.Values{"name": {"boss"}, "password": {testPassword}})
	code, body = m.post("/login/totp", url.Values{"code": {"000000"}})
	check("boss", "/login/totp", 200, body, "The code is wrong or has already been used.")

	// The diagram download is drawn in the viewer's language too.
	if code, svg := ciso.get("/model/diagram.svg"); code != 200 || !strings.Contains(svg, "Specific communications") || len(untranslated(svg, console)) > 0 {
		t.Errorf("English diagram: %d %q %s", code, untranslated(svg, console), svg)
	}
	// A catalog section and entry, found from the catalog page.
	_, body = ciso.get("/catalog")
	for _, re := range []string{`href="(/catalog/section\?[^"]+)"`, `href="(/catalog/entry\?[^"]+)"`} {
		m := regexp.MustCompile(re).FindStringSubmatch(body)
		if m == nil {
			if strings.Contains(re, "section") {
				t.Errorf("no section link on /catalog")
			}
			continue
		}
		p := html.UnescapeString(m[1])
		code, b := ciso.get(p)
		check("ciso", p, code, b)
		if strings.Contains(re, "section") {
			if m := regexp.MustCompile(`href="(/catalog/entry\?[^"]+)"`).FindStringSubmatch(b); m != nil {
				p := html.UnescapeString(m[1])
				code, b := ciso.get(p)
				check("ciso", p, code, b, "Applies to this body")
			}
		}
	}
	// The check itself sees a Japanese page as untranslated.
	_, body = ciso.get("/audit/transfers?lang=ja")
	if left := untranslated(body, console); len(left) < 5 {
		t.Errorf("the Japanese page shows only %d console strings: the check is blind", len(left))
	}
}

func TestTranslateComposedMessages(t *testing.T) {
	for _, c := range []struct{ ja, en string }{
		{"受取人「山田$1」は登録されていません。", `Recipient "山田$1" is not registered.`}, // values copied verbatim
		{"一度に送れるファイルは 20 個までです。", "At most 20 files can be sent at once."},
		{"この転送は承認待ちではありません（状態: 却下）。", "This transfer is not awaiting approval (status: Rejected)."},
		{"利用者: alice", "User: alice"},
		{"パスワードは 12 文字以上にしてください。", "The password needs 12 characters or more."},
		{"一度に送れるファイルは many 個までです。", "一度に送れるファイルは many 個までです。"}, // %d takes digits only
		{"まったく別の文", "まったく別の文"},
	} {
		if got := tr("en", c.ja); got != c.en {
			t.Errorf("tr(en, %q) = %q, want %q", c.ja, got, c.en)
		}
		if got := tr("ja", c.ja); got != c.ja {
			t.Errorf("tr(ja, %q) = %q", c.ja, got)
		}
	}
}

// Every message the transfer service and the transfer handlers compose
// for users has an English form.
func TestTransferMessagesHaveEnglish(t *testing.T) {
	formats := map[string]*regexp.Regexp{
		filepath.Join("..", "transfer", "transfer.go"): regexp.MustCompile(`(?:userErr\(|\w+:\s+)"([^"]*[\p{Hiragana}\p{Katakana}\p{Han}][^"]*)"`),
		"transfer.go": regexp.MustCompile(`Msg: fmt.Sprintf\("([^"]+)"`),
	}
	verb := regexp.MustCompile(`%[sd]`)
	n := 0
	for file, re := range formats {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			n++
			sample := verb.ReplaceAllStringFunc(m[1], func(v string) string {
				if v == "%d" {
					return "7"
				}
				return "x"
			})
			sample = strings.ReplaceAll(sample, `\\`, `\`)
			if en := tr("en", sample); kanaHan.MatchString(en) {
				t.Errorf("%s: %q has no English (%q)", file, m[1], en)
			}
		}
	}
	if n < 30 {
		t.Errorf("found only %d messages; is the pattern stale?", n)
	}
}
