package web

import (
	"regexp"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/store"
)

// Every message the translated pages use has an English entry.
func TestEnglishCatalogComplete(t *testing.T) {
	lit := regexp.MustCompile(`(?:\.T|tr \$L|tr \$\.L) "([^"]+)"|"(?:Title|NameLabel)" "([^"]+)"`)
	for _, name := range templateNames(t) {
		b, err := assets.ReadFile("templates/" + name + ".html")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range lit.FindAllStringSubmatch(string(b), -1) {
			ja := m[1] + m[2]
			n++
			if _, ok := messagesEN[ja]; !ok {
				t.Errorf("%s.html: no English for %q", name, ja)
			}
		}
		if n == 0 {
			t.Errorf("%s.html uses no messages", name)
		}
	}
	for _, it := range nav {
		if _, ok := messagesEN[it.Label]; !ok {
			t.Errorf("menu: no English for %q", it.Label)
		}
	}
	for k, ja := range messages {
		if _, ok := messagesEN[ja]; !ok {
			t.Errorf("message %s: no English for %q", k, ja)
		}
	}
}

var japanese = regexp.MustCompile(`[\p{Hiragana}\p{Katakana}]`)

func TestEnglishToggle(t *testing.T) {
	e := newEnv(t, withKakuuAssessment(t))
	e.user("ciso", true, store.Grant{Role: "ciso"})
	b := e.browser()
	_, body := b.get("/login?lang=en")
	if !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "User name") || !strings.Contains(body, `<title>Log in — kyojin</title>`) {
		t.Errorf("English login page: %s", body)
	}
	b.login("ciso") // the choice is remembered in a cookie
	_, body = b.get("/")
	for _, want := range []string{`<html lang="en">`, "<h1>Dashboard</h1>", ">Log out<", ">Findings<", "Overall score", "Three-layer segmentation", `id="lang-ja"`} {
		if !strings.Contains(body, want) {
			t.Errorf("English dashboard lacks %q", want)
		}
	}
	// The chrome and the dashboard's own texts have no kana left (names
	// from the model and the assessment data may be Japanese).
	head := body[:strings.Index(body, "<main")]
	if m := japanese.FindString(head); m != "" {
		t.Errorf("Japanese left in the English layout: %q", m)
	}
	if _, body = b.get("/?lang=ja"); !strings.Contains(body, `<html lang="ja">`) || !strings.Contains(body, "<h1>ダッシュボード</h1>") || !strings.Contains(body, "総合評点") {
		t.Error("back to Japanese failed")
	}
	// Unknown languages are ignored.
	if _, body = b.get("/?lang=xx"); !strings.Contains(body, `<html lang="ja">`) {
		t.Error("lang=xx changed the language")
	}
}
