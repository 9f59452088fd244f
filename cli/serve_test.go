package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/web"
)

// syncBuffer is a goroutine-safe output sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startServe runs `kyojin serve args...` until the test ends and returns
// its output once it printed a line matching ready.
func startServe(t *testing.T, ready *regexp.Regexp, args ...string) (out *syncBuffer, done chan int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	old := serveContext
	serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	out, errs := &syncBuffer{}, &syncBuffer{}
	done = make(chan int, 1)
	exited := make(chan struct{})
	go func() {
		done <- Main(append([]string{"serve"}, args...), strings.NewReader(""), out, errs)
		close(exited)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
		serveContext = old
	})
	deadline := time.Now().Add(30 * time.Second)
	for !ready.MatchString(out.String()) {
		select {
		case code := <-done:
			t.Fatalf("serve exited with %d: %s %s", code, out.String(), errs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve not ready: %s %s", out.String(), errs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out, done
}

func TestServeDemoHTTPS(t *testing.T) {
	data := t.TempDir()
	ready := regexp.MustCompile(`デモ管理者: ユーザー名 demo / パスワード (\S+) `)
	out, _ := startServe(t, ready, "--demo", "--data", data, "--model", "../check/testdata/base", "--listen", "127.0.0.1:0")
	text := out.String()
	base := regexp.MustCompile(`kyojin コンソール: (https://\S+)/\n`).FindStringSubmatch(text)
	fp := regexp.MustCompile(`フィンガープリント: (\S+)\n`).FindStringSubmatch(text)
	pw := ready.FindStringSubmatch(text)
	if base == nil || fp == nil || !strings.Contains(text, "自己署名証明書を生成しました") || !strings.Contains(text, "試験町") {
		t.Fatalf("startup output: %s", text)
	}
	// The operator checks the printed fingerprint instead of a CA.
	var seen string
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error { seen = web.Fingerprint(cs.PeerCertificates[0].Raw); return nil }}}}
	res, err := c.Get(base[1] + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if seen != fp[1] {
		t.Errorf("served certificate %s, printed %s", seen, fp[1])
	}
	csrf := regexp.MustCompile(`name="csrf-token" content="([^"]+)"`).FindSubmatch(body)
	res, err = c.PostForm(base[1]+"/login", url.Values{"csrf": {string(csrf[1])}, "name": {"demo"}, "password": {pw[1]}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/account/mfa" || !strings.Contains(string(body), "二要素認証が必須") {
		t.Errorf("demo admin login: at %s", res.Request.URL.Path)
	}
	if strings.Count(out.String(), pw[1]) != 1 {
		t.Error("demo password printed more than once")
	}
}

func TestServeDev(t *testing.T) {
	if code, _, errs := run(t, "serve", "--dev", "--data", t.TempDir(), "--listen", "0.0.0.0:0"); code != 2 || !strings.Contains(errs, "loopback") {
		t.Errorf("--dev on all interfaces: %d %s", code, errs)
	}
	out, _ := startServe(t, regexp.MustCompile(`開発モード、平文 HTTP）: http://\S+/\n`), "--dev", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	u := regexp.MustCompile(`(http://\S+)/\n`).FindStringSubmatch(out.String())[1]
	res, err := http.Get(u + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	sc := res.Header.Get("Set-Cookie")
	if res.StatusCode != 200 || !strings.HasPrefix(sc, "kyojin=") || strings.Contains(sc, "Secure") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("dev login page: %d %s", res.StatusCode, sc)
	}
}

func TestServeBadConfig(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "kyojin.yaml")
	os.WriteFile(cfg, []byte("listen: \":8443\"\nlisten_port: 1\n"), 0o600)
	code, _, errs := run(t, "serve", "--config", cfg)
	if code != 2 || !strings.Contains(errs, "kyojin.yaml:2:1") || !strings.Contains(errs, "listen_port") {
		t.Errorf("bad config: %d %s", code, errs)
	}
	if code, _, errs := run(t, "serve", "--model", "../check/testdata/cases/lg-001-direct.bad.yaml", "--data", t.TempDir()); code != 2 {
		t.Errorf("invalid model: %d %s", code, errs)
	}
}

// --demo outside the source tree (tests run in cli/) shows the example
// city and its assessment from the copies embedded in the binary.
func TestServeDemoLoadsEmbeddedAssessment(t *testing.T) {
	ready := regexp.MustCompile(`デモ管理者: ユーザー名 demo / パスワード (\S+) `)
	out, _ := startServe(t, ready, "--demo", "--dev", "--data", t.TempDir(), "--listen", "127.0.0.1:0")
	text := out.String()
	if !strings.Contains(text, "モデル: example:kakuu-city（") ||
		!regexp.MustCompile(`評価: example:kakuu-city-assessment/r8\.yaml（令和8年度、総合評点 \d+\.\d%）`).MatchString(text) {
		t.Errorf("startup output: %s", text)
	}
	if !strings.Contains(text, "アラートを 5 件作成しました（テナント kakuu-city）") {
		t.Errorf("demo security cloud not seeded: %s", text)
	}
}

func TestServeAssessmentNeedsModel(t *testing.T) {
	code, _, errs := run(t, "serve", "--dev", "--data", t.TempDir(), "--assessment", "x.yaml")
	if code != 2 || !strings.Contains(errs, "--model") {
		t.Errorf("--assessment without --model: %d %s", code, errs)
	}
	code, _, errs = run(t, "serve", "--dev", "--data", t.TempDir(), "--model", "../check/testdata/base", "--assessment", "testdata/nonexistent.yaml")
	if code != 2 || !strings.Contains(errs, "nonexistent.yaml") {
		t.Errorf("missing assessment file: %d %s", code, errs)
	}
}

// The configuration file's assessment and activity fields reach the
// console.
func TestServeConfigAssessmentAndActivity(t *testing.T) {
	dir := t.TempDir()
	ex, _ := filepath.Abs("../examples")
	san := filepath.Join(dir, "sanitize.jsonl")
	if err := os.WriteFile(san, []byte(`{"start":"2026-11-22T00:00:00Z","name":"a.pdf","verdict":"CLEAN"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "kyojin.yaml")
	body := "model: " + filepath.Join(ex, "kakuu-city") + "\n" +
		"assessment: " + filepath.Join(ex, "kakuu-city-assessment", "r8.yaml") + "\n" +
		"assessment_previous: " + filepath.Join(ex, "kakuu-city-assessment", "r7.yaml") + "\n" +
		"activity:\n  sanitize_audit: " + san + "\n  mailgate_audit: " + filepath.Join(dir, "mail.jsonl") + "\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := startServe(t, regexp.MustCompile(`評価: .*\n`), "--dev", "--config", cfg, "--data", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0")
	if !regexp.MustCompile(`評価: \S+r8\.yaml（令和8年度、総合評点 \d+\.\d%）`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "稼働状況の記録: 無害化 "+san+"、メール中継 "+filepath.Join(dir, "mail.jsonl")) {
		t.Errorf("startup output: %s", out.String())
	}
}
