package tamper

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is an Alerter that keeps changes for assertions.
type recorder struct {
	mu      sync.Mutex
	changes []Change
	notify  chan struct{}
}

func newRecorder() *recorder { return &recorder{notify: make(chan struct{}, 1024)} }

func (r *recorder) Raise(_ context.Context, c Change) error {
	r.mu.Lock()
	r.changes = append(r.changes, c)
	r.mu.Unlock()
	select {
	case r.notify <- struct{}{}:
	default:
	}
	return nil
}

func (r *recorder) all() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Change(nil), r.changes...)
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.changes = nil
	r.mu.Unlock()
}

// find returns the first change of kind whose path or URL ends with where.
func (r *recorder) find(kind, where string) *Change {
	for _, c := range r.all() {
		if c.Kind == kind && (strings.HasSuffix(c.Path, where) || strings.HasSuffix(c.URL, where)) {
			return &c
		}
	}
	return nil
}

// waitFor polls for a change of kind at where for up to d.
func (r *recorder) waitFor(d time.Duration, kind, where string) *Change {
	end := time.Now().Add(d)
	for {
		if c := r.find(kind, where); c != nil {
			return c
		}
		if time.Now().After(end) {
			return nil
		}
		select {
		case <-r.notify:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// siteFiles is the test site: a small municipal home page.
var siteFiles = map[string]string{
	"index.html":       `<!doctype html><html><head><title>〇〇市</title><script src="/js/app.js"></script><script src="https://cdn.example.jp/lib.js"></script></head><body><h1>〇〇市ホームページ</h1><script>var x = 1;</script></body></html>`,
	"about/index.html": `<html><body>市の紹介</body></html>`,
	"js/app.js":        `console.log("ok")`,
	"css/site.css":     `body{color:#000}`,
	"logs/access.log":  "excluded\n",
}

type fixture struct {
	dir, root, baseline string
	site                *Site
}

// newFixture writes the site, a key and a configuration, and loads it.
// extra is YAML appended to the site's mapping.
func newFixture(t *testing.T, extra string) *fixture {
	t.Helper()
	dir := t.TempDir()
	f := &fixture{dir: dir, root: filepath.Join(dir, "www"), baseline: filepath.Join(dir, "baseline")}
	for name, body := range siteFiles {
		p := filepath.Join(f.root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("about/index.html", filepath.Join(f.root, "latest.html")); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKey(filepath.Join(dir, "tamper.key")); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`tenants:
  - id: city-a
    sites:
      - id: www
        roots: [www]
        exclude: ["logs/**"]
        allow_domains: [cdn.example.jp]
        baseline: baseline
        key: tamper.key
        debounce: 50ms
%s`, extra)
	path := filepath.Join(dir, "tamper.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c, diags := LoadConfig(path)
	if c == nil {
		t.Fatalf("config: %v", diags.Err())
	}
	f.site = c.Sites()[0]
	return f
}

func (f *fixture) write(t *testing.T, rel, body string) {
	t.Helper()
	p := filepath.Join(f.root, filepath.FromSlash(rel))
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) read(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (f *fixture) baselineAndOpen(t *testing.T, a Alerter) *Monitor {
	t.Helper()
	if _, _, err := MakeBaseline(context.Background(), f.site, discardLog()); err != nil {
		t.Fatalf("baseline: %v", err)
	}
	m, err := Open(context.Background(), f.site, a, discardLog())
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(m.Close)
	return m
}
