package tamper

import (
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/strictyaml"
)

// Defaults for fields left out of the configuration.
const (
	DefaultInterval     = 10 * time.Minute
	DefaultDebounce     = 100 * time.Millisecond
	DefaultFetchTimeout = 10 * time.Second
	DefaultMaxBytes     = 5 << 20
)

// Config is the tamper-detection configuration (kyojin tamper ... --config FILE).
type Config struct {
	strictyaml.Meta `yaml:"-"`
	// Alerts is the JSON-lines file changes are appended to; stdout when empty.
	Alerts string `yaml:"alerts"`
	// DB is where changes are also raised as alerts of the console (so
	// they can open incidents): the console's data directory or a
	// postgres:// URL, the same value as the cloud configuration's db.
	// Empty: JSON lines only.
	DB string `yaml:"db"`
	// Notify is a notification configuration (package notify): changes
	// are mailed and sent to webhooks as "tamper" notifications.
	Notify  string   `yaml:"notify"`
	Tenants []Tenant `yaml:"tenants,required"`
}

// Tenant is the prefecture or one member body; IDs are those of the
// security cloud (cloud.Config tenants).
type Tenant struct {
	strictyaml.Meta `yaml:"-"`
	ID              string `yaml:"id,required"`
	Name            string `yaml:"name"`
	Sites           []Site `yaml:"sites,required"`
}

// Site is one published website of a tenant.
type Site struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Roots           []string `yaml:"roots,required"` // web roots on the shared web server
	Exclude         []string `yaml:"exclude"`        // globs on slash paths relative to a root; "**" spans directories
	URLs            []URL    `yaml:"urls"`
	// AllowDomains lists the domains scripts, iframes and redirects may
	// point to; a domain allows its subdomains. Hosts of the site's own
	// URLs are always allowed.
	AllowDomains []string `yaml:"allow_domains"`
	// Volatile are regular expressions removed from dynamic pages before
	// comparison, on top of the built-in ones (see Normalize).
	Volatile     []string `yaml:"volatile"`
	Interval     string   `yaml:"interval"`      // full scan and fetch period; default 10m
	Debounce     string   `yaml:"debounce"`      // quiet time before a notified path is checked; default 100ms
	FetchTimeout string   `yaml:"fetch_timeout"` // per URL; default 10s
	MaxBytes     int64    `yaml:"max_bytes"`     // per fetched page; default 5 MiB
	Restore      bool     `yaml:"restore"`       // write baselined content back on change
	// QuarantineAdded moves files that are not in the baseline out of the
	// web root into Baseline/quarantine (restore mode only); they are never
	// deleted, to keep the evidence.
	QuarantineAdded bool   `yaml:"quarantine_added"`
	Baseline        string `yaml:"baseline,required"` // directory of the signed manifest and objects; outside every root
	Key             string `yaml:"key,required"`      // ed25519 private key (kyojin tamper keygen)
	PublicKey       string `yaml:"public_key"`        // default: Key + ".pub"

	Tenant       string           `yaml:"-"`
	interval     time.Duration    // parsed
	debounce     time.Duration    // parsed
	fetchTimeout time.Duration    // parsed
	volatile     []*regexp.Regexp // compiled
}

// URL is one page fetched from outside.
type URL struct {
	strictyaml.Meta `yaml:"-"`
	URL             string   `yaml:"url,required"`
	Mode            string   `yaml:"mode"`     // static (default): exact hash; dynamic: normalised
	Volatile        []string `yaml:"volatile"` // extra patterns for this page

	volatile []*regexp.Regexp
}

// ScanInterval, DebounceTime and Timeout return the parsed durations.
func (s *Site) ScanInterval() time.Duration { return s.interval }
func (s *Site) DebounceTime() time.Duration { return s.debounce }
func (s *Site) Timeout() time.Duration      { return s.fetchTimeout }

// Name is "tenant/site".
func (s *Site) Name() string { return s.Tenant + "/" + s.ID }

// PublicKeyFile is where the verification key is read from.
func (s *Site) PublicKeyFile() string {
	if s.PublicKey != "" {
		return s.PublicKey
	}
	return s.Key + ".pub"
}

func cfgErr(meta *strictyaml.Meta, path, field, code string, msg, hint diag.Text) diag.Diagnostic {
	return meta.Diag(diag.Error, path, field, code, msg, hint)
}

// itemErr points at the key of a list field for a problem with item i.
func itemErr(meta *strictyaml.Meta, path, field string, i int, code string, msg, hint diag.Text) diag.Diagnostic {
	return meta.DiagAt(diag.Error, fmt.Sprintf("%s.%s[%d]", path, field, i), field, code, msg, hint)
}

// LoadConfig reads and checks a configuration file; every problem is
// reported at once with file:line.
func LoadConfig(path string) (*Config, diag.List) {
	var diags diag.List
	var c Config
	if !strictyaml.DecodeFile(path, &c, &diags) {
		return nil, diags
	}
	c.check(filepath.Dir(path), &diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return &c, diags
}

// Sites returns every site of every tenant.
func (c *Config) Sites() []*Site {
	var out []*Site
	for i := range c.Tenants {
		for j := range c.Tenants[i].Sites {
			out = append(out, &c.Tenants[i].Sites[j])
		}
	}
	return out
}

// Select returns the sites named "tenant" or "tenant/site"; all when sel is empty.
func (c *Config) Select(sel string) []*Site {
	var out []*Site
	for _, s := range c.Sites() {
		if sel == "" || sel == s.Tenant || sel == s.Name() {
			out = append(out, s)
		}
	}
	return out
}

func abs(base, p string) string {
	if p == "" {
		return ""
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// within reports whether p is dir or below it (lexically, both cleaned).
func within(p, dir string) bool {
	if p == dir {
		return true
	}
	return strings.HasPrefix(p, strings.TrimSuffix(dir, string(filepath.Separator))+string(filepath.Separator))
}

func duration(meta *strictyaml.Meta, path, field, s string, def time.Duration, diags *diag.List) time.Duration {
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		diags.Add(cfgErr(meta, path, field, "duration", diag.T("期間が不正です: "+s, "invalid duration "+s), diag.T("例: 30s, 10m, 1h", "e.g. 30s, 10m, 1h")))
		return def
	}
	return d
}

func compileAll(meta *strictyaml.Meta, path, field string, pats []string, diags *diag.List) []*regexp.Regexp {
	var out []*regexp.Regexp
	for i, p := range pats {
		re, err := regexp.Compile(p)
		if err != nil {
			diags.Add(itemErr(meta, path, field, i, "regexp",
				diag.T("正規表現が不正です: "+err.Error(), "invalid regular expression: "+err.Error()), diag.T("Go (RE2) の構文で書いてください", "use Go (RE2) syntax")))
			continue
		}
		out = append(out, re)
	}
	return out
}

func (c *Config) check(base string, diags *diag.List) {
	c.Alerts = abs(base, c.Alerts)
	c.Notify = abs(base, c.Notify)
	if !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		c.DB = abs(base, c.DB)
	}
	ids := map[string]bool{}
	baselines := map[string]string{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		p := fmt.Sprintf("tenants[%d]", i)
		if !eventstore.ValidTenant(t.ID) {
			diags.Add(cfgErr(&t.Meta, p, "id", "id", diag.T("テナント ID は英小文字・数字・-・_ です", "tenant id must be lower-case letters, digits, - and _"), diag.Text{}))
		}
		if ids[t.ID] {
			diags.Add(cfgErr(&t.Meta, p, "id", "duplicate", diag.T("テナント ID が重複しています: "+t.ID, "duplicate tenant id "+t.ID), diag.Text{}))
		}
		ids[t.ID] = true
		if len(t.Sites) == 0 {
			diags.Add(cfgErr(&t.Meta, p, "sites", "sites", diag.T("sites にサイトを一つ以上書いてください", "list at least one site in sites"), diag.Text{}))
		}
		sites := map[string]bool{}
		for j := range t.Sites {
			s := &t.Sites[j]
			s.Tenant = t.ID
			sp := fmt.Sprintf("%s.sites[%d]", p, j)
			if !eventstore.ValidTenant(s.ID) {
				diags.Add(cfgErr(&s.Meta, sp, "id", "id", diag.T("サイト ID は英小文字・数字・-・_ です", "site id must be lower-case letters, digits, - and _"), diag.Text{}))
			}
			if sites[s.ID] {
				diags.Add(cfgErr(&s.Meta, sp, "id", "duplicate", diag.T("サイト ID が重複しています: "+s.ID, "duplicate site id "+s.ID), diag.Text{}))
			}
			sites[s.ID] = true
			s.check(base, sp, diags)
			if other, dup := baselines[s.Baseline]; dup {
				diags.Add(cfgErr(&s.Meta, sp, "baseline", "duplicate", diag.T("baseline が他のサイトと同じです: "+other, "baseline shared with site "+other), diag.T("サイトごとに別のディレクトリにしてください", "give each site its own directory")))
			}
			baselines[s.Baseline] = s.Name()
		}
	}
}

func (s *Site) check(base, sp string, diags *diag.List) {
	if len(s.Roots) == 0 {
		diags.Add(cfgErr(&s.Meta, sp, "roots", "roots", diag.T("roots に Web ルートを一つ以上書いてください", "list at least one web root in roots"), diag.Text{}))
	}
	for k := range s.Roots {
		s.Roots[k] = abs(base, s.Roots[k])
		for l := range k {
			if within(s.Roots[k], s.Roots[l]) || within(s.Roots[l], s.Roots[k]) {
				diags.Add(itemErr(&s.Meta, sp, "roots", k, "roots", diag.T("Web ルートが重なっています: "+s.Roots[l], "web roots overlap: "+s.Roots[l]), diag.Text{}))
			}
		}
	}
	s.Baseline, s.Key, s.PublicKey = abs(base, s.Baseline), abs(base, s.Key), abs(base, s.PublicKey)
	for _, f := range []struct{ field, path string }{{"baseline", s.Baseline}, {"key", s.Key}} {
		for _, r := range s.Roots {
			// Evidence and keys inside the watched tree could be altered by
			// whoever alters the site, and would be served to the world.
			if within(f.path, r) || (f.field == "baseline" && within(r, f.path)) {
				diags.Add(cfgErr(&s.Meta, sp, f.field, "inside-root", diag.T(f.field+" が Web ルートと重なっています: "+r, f.field+" overlaps the web root "+r),
					diag.T("Web ルートの外に置いてください", "keep it outside every web root")))
			}
		}
	}
	for k, g := range s.Exclude {
		if err := validGlob(g); err != nil {
			diags.Add(itemErr(&s.Meta, sp, "exclude", k, "glob", diag.T("除外パターンが不正です: "+g, "invalid exclude pattern "+g), diag.T("例: *.log, cache/**", "e.g. *.log, cache/**")))
		}
	}
	s.interval = duration(&s.Meta, sp, "interval", s.Interval, DefaultInterval, diags)
	s.debounce = duration(&s.Meta, sp, "debounce", s.Debounce, DefaultDebounce, diags)
	s.fetchTimeout = duration(&s.Meta, sp, "fetch_timeout", s.FetchTimeout, DefaultFetchTimeout, diags)
	if s.MaxBytes == 0 {
		s.MaxBytes = DefaultMaxBytes
	} else if s.MaxBytes < 0 {
		diags.Add(cfgErr(&s.Meta, sp, "max_bytes", "max_bytes", diag.T("max_bytes は正の整数です", "max_bytes must be positive"), diag.Text{}))
	}
	if s.QuarantineAdded && !s.Restore {
		diags.Add(cfgErr(&s.Meta, sp, "quarantine_added", "quarantine", diag.T("quarantine_added は restore: true のときだけ使えます", "quarantine_added needs restore: true"), diag.Text{}))
	}
	for k, d := range s.AllowDomains {
		d = strings.ToLower(strings.TrimPrefix(d, "*."))
		if d == "" || strings.ContainsAny(d, "/:* ") {
			diags.Add(itemErr(&s.Meta, sp, "allow_domains", k, "domain", diag.T("ドメイン名が不正です: "+s.AllowDomains[k], "invalid domain "+s.AllowDomains[k]), diag.T("スキームやパスを付けずに書いてください (例: cdn.example.jp)", "write the host name only (e.g. cdn.example.jp)")))
		}
		s.AllowDomains[k] = d
	}
	s.volatile = compileAll(&s.Meta, sp, "volatile", s.Volatile, diags)
	for k := range s.URLs {
		u := &s.URLs[k]
		up := fmt.Sprintf("%s.urls[%d]", sp, k)
		pu, err := url.Parse(u.URL)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			diags.Add(cfgErr(&u.Meta, up, "url", "url", diag.T("URL が不正です: "+u.URL, "invalid URL "+u.URL), diag.T("http:// または https:// で始めてください", "use an absolute http:// or https:// URL")))
		}
		switch u.Mode {
		case "":
			u.Mode = "static"
		case "static", "dynamic":
		default:
			diags.Add(cfgErr(&u.Meta, up, "mode", "mode", diag.T("mode は static か dynamic です", "mode must be static or dynamic"), diag.Text{}))
		}
		u.volatile = append(compileAll(&u.Meta, up, "volatile", u.Volatile, diags), s.volatile...)
	}
}
