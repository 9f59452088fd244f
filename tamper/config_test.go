package tamper

import (
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/kyojin/kyojin/diag/diagtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestLoadConfigOK(t *testing.T) {
	c, diags := LoadConfig("testdata/ok.yaml")
	if c == nil {
		t.Fatalf("ok.yaml rejected: %v", diags.Err())
	}
	s := c.Sites()
	if len(s) != 2 {
		t.Fatalf("%d sites", len(s))
	}
	www := s[0]
	if www.Name() != "pref/www" || www.ScanInterval() != 5*time.Minute || www.DebounceTime() != DefaultDebounce ||
		www.Timeout() != DefaultFetchTimeout || www.MaxBytes != DefaultMaxBytes || !www.Restore || !www.QuarantineAdded ||
		www.URLs[0].Mode != "static" || www.URLs[1].Mode != "dynamic" || len(www.URLs[1].volatile) != 1 ||
		www.AllowDomains[1] != "pref.example.lg.jp" || www.PublicKeyFile() != "/etc/kyojin/tamper.key.pub" {
		t.Errorf("decoded %+v", www)
	}
	abs, _ := filepath.Abs("testdata")
	if c.Alerts != filepath.Join(abs, "alerts.jsonl") && c.Alerts != filepath.Join("testdata", "alerts.jsonl") {
		t.Errorf("alerts %q", c.Alerts)
	}
	city := s[1]
	if city.Roots[0] != filepath.Join("testdata", "www") || city.PublicKeyFile() != filepath.Join("testdata", "keys/other.pub") {
		t.Errorf("relative paths: %q %q", city.Roots, city.PublicKeyFile())
	}
	if got := c.Select("city-a"); len(got) != 1 || got[0] != city {
		t.Errorf("select tenant: %v", got)
	}
	if got := c.Select("pref/www"); len(got) != 1 || got[0] != www {
		t.Errorf("select site: %v", got)
	}
	if got := c.Select("nosuch"); len(got) != 0 {
		t.Errorf("select none: %v", got)
	}
}

// Each testdata/*.bad.yaml lists, in its .want file, every diagnostic
// expected; all of them come out of one run (refresh with -update).
func TestLoadConfigBad(t *testing.T) {
	diagtest.BadFiles(t, "testdata/*.bad.yaml", func(f string) string { return f + ".want" }, *update, LoadConfig)
	if _, diags := LoadConfig("testdata/nosuch.yaml"); !diags.HasErrors() {
		t.Error("missing file accepted")
	}
}

func TestExcluded(t *testing.T) {
	pats := []string{"*.log", "cache/**", "assets/**/*.map", "tmp/x"}
	for _, tc := range []struct {
		rel  string
		want bool
	}{
		{"access.log", true}, {"a/b/error.log", true}, {"cache", true}, {"cache/a/b.html", true},
		{"assets/app.js.map", true}, {"assets/js/app.js.map", true}, {"assets/js/app.js", false},
		{"tmp/x", true}, {"tmp/y", false}, {"a/tmp/x", false}, {"index.html", false}, {"cachex/a", false},
	} {
		if got := excluded(pats, tc.rel); got != tc.want {
			t.Errorf("excluded(%q) = %v, want %v", tc.rel, got, tc.want)
		}
	}
}
