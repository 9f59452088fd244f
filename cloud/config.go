package cloud

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/strictyaml"
)

// Config is the security cloud's YAML configuration (kyojin cloud serve
// --config FILE). Tenants and the way their sources are recognised are
// declared, never inferred from log content (issue 8 §1).
type Config struct {
	strictyaml.Meta `yaml:"-"`
	Store           string     `yaml:"store,required"` // event storage directory, or a postgres:// DSN ("env:NAME" reads $NAME)
	Timezone        string     `yaml:"timezone"`       // zone of stamps without one; default Asia/Tokyo
	Queue           int        `yaml:"queue"`          // bounded intake queue length; default 65536
	TenantQueue     int        `yaml:"tenant_queue"`   // lines queued per tenant; default queue / number of tenants
	Bus             *Bus       `yaml:"bus"`            // NATS JetStream between intake and worker nodes (bus.go); none: one process
	Listeners       []Listener `yaml:"listeners"`
	Tenants         []Tenant   `yaml:"tenants,required"`
	// Rules is a directory of Sigma rules run on every parsed event; Alerts
	// is the JSON-lines file their matches are appended to.
	Rules  string `yaml:"rules"`
	Alerts string `yaml:"alerts"`
	// DB stores alerts in the console's store (alertconfig.go): a
	// postgres:// URL or the console's data directory (its kyojin.db).
	DB          string   `yaml:"db"`
	DedupWindow Duration `yaml:"dedup_window"` // default 10m
	DedupBy     []string `yaml:"dedup_by"`     // default host, src_ip, dst_ip
	AlertQueue  int      `yaml:"alert_queue"`  // bounded alert queue; default 8192
	// Notify is a notification configuration (package notify,
	// docs/notify.md): new alerts are sent by mail and webhook. Needs db.
	Notify string `yaml:"notify"`
	// NotifyLadder is the escalation ladder of that file started for each
	// new alert of level high or critical.
	NotifyLadder string `yaml:"notify_ladder"`

	NotifyConfig *notify.Config `yaml:"-"` // loaded from Notify

	loc  *time.Location
	base string // directory of the configuration file
}

// Listener is one intake endpoint.
type Listener struct {
	strictyaml.Meta `yaml:"-"`
	Name            string `yaml:"name,required"`
	Type            string `yaml:"type,required"` // udp, tcp, tls, http
	Address         string `yaml:"address,required"`
	Format          string `yaml:"format"` // default parser; "syslog" when empty
	Cert            string `yaml:"cert"`   // tls, and https when set
	Key             string `yaml:"key"`
	ClientCA        string `yaml:"client_ca"` // tls: required; client certificates verified against it
}

// Tenant is the prefecture or one member body.
type Tenant struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Name            string   `yaml:"name,required"`
	Model           string   `yaml:"model"` // path to the body's kyojin model
	RetentionDays   int      `yaml:"retention_days"`
	Sources         []Source `yaml:"sources,required"`
	// ExcludeRules turns rules off for this tenant (issue 8 §1): Sigma rule
	// or correlation ids and model rule ids (MODEL-…). An excluded model
	// rule examines nothing, so it gives no operations evidence either.
	ExcludeRules []string `yaml:"exclude_rules"`

	Loaded *model.Model `yaml:"-"`
}

// Source says how lines of a tenant are recognised: exactly one of
// Listener, CIDR, CertCN, CertSHA256, Token. Format overrides the
// listener's default parser for lines it matches.
type Source struct {
	strictyaml.Meta `yaml:"-"`
	Listener        string `yaml:"listener"`    // every line on this listener
	CIDR            string `yaml:"cidr"`        // peer address within this prefix
	CertCN          string `yaml:"cert_cn"`     // TLS client certificate subject CN
	CertSHA256      string `yaml:"cert_sha256"` // TLS client certificate SHA-256 (hex)
	Token           string `yaml:"token"`       // HTTP bearer token; "env:NAME" reads $NAME
	Format          string `yaml:"format"`

	prefix netip.Prefix
}

func cfgErr(meta *strictyaml.Meta, path, field, code, ja, en string) diag.Diagnostic {
	return meta.Diag(diag.Error, path, field, code, diag.T(ja, en), diag.Text{})
}

// LoadConfig reads and checks a configuration file; every problem is
// reported with file:line.
func LoadConfig(path string) (*Config, diag.List) {
	var diags diag.List
	data, err := os.ReadFile(path)
	if err != nil {
		diags.Add(diag.Diagnostic{File: path, Code: "read", Severity: diag.Error,
			Msg: diag.T("設定ファイルを読み込めません: "+err.Error(), "cannot read the configuration: "+err.Error())})
		return nil, diags
	}
	var c Config
	strictyaml.DecodeBytes(path, data, &c, &diags)
	if diags.HasErrors() {
		return nil, diags
	}
	c.check(filepath.Dir(path), &diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return &c, diags
}

func (c *Config) check(base string, diags *diag.List) {
	if c.Timezone == "" {
		c.Timezone = "Asia/Tokyo"
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		diags.Add(cfgErr(&c.Meta, "", "timezone", "timezone", "タイムゾーンが不明です", "unknown timezone"))
	}
	c.loc = loc
	if c.Queue <= 0 {
		c.Queue = 65536
	}
	c.checkScale(base, diags)
	if !pgevents.IsDSN(c.Store) && !filepath.IsAbs(c.Store) {
		c.Store = filepath.Join(base, c.Store)
	}
	for _, f := range []*string{&c.Rules, &c.Alerts} { // relative to the file, like store
		if *f != "" && !filepath.IsAbs(*f) {
			*f = filepath.Join(base, *f)
		}
	}
	c.checkAlerts(base, diags)
	listeners := map[string]*Listener{}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		p := fmt.Sprintf("listeners[%d]", i)
		if listeners[l.Name] != nil {
			diags.Add(cfgErr(&l.Meta, p, "name", "duplicate", "リスナー名が重複しています: "+l.Name, "duplicate listener name "+l.Name))
		}
		listeners[l.Name] = l
		switch l.Type {
		case "udp", "tcp", "http":
		case "tls":
			if l.Cert == "" || l.Key == "" || l.ClientCA == "" {
				diags.Add(cfgErr(&l.Meta, p, "type", "tls", "tls には cert, key, client_ca が必要です (RFC 5425)", "tls needs cert, key and client_ca (RFC 5425)"))
			}
		default:
			diags.Add(cfgErr(&l.Meta, p, "type", "type", "type は udp, tcp, tls, http のいずれかです", "type must be udp, tcp, tls or http"))
		}
		if l.Format == "" {
			l.Format = "syslog"
		}
		if !logparse.KnownFormat(l.Format) {
			diags.Add(cfgErr(&l.Meta, p, "format", "format", "不明な形式: "+l.Format, "unknown format "+l.Format+" (one of "+strings.Join(logparse.Formats(), ", ")+")"))
		}
		for _, f := range []*string{&l.Cert, &l.Key, &l.ClientCA} {
			if *f != "" && !filepath.IsAbs(*f) {
				*f = filepath.Join(base, *f)
			}
		}
	}
	ids := map[string]bool{}
	tokens := map[string]string{}
	for i := range c.Tenants {
		t := &c.Tenants[i]
		p := fmt.Sprintf("tenants[%d]", i)
		if !eventstore.ValidTenant(t.ID) {
			diags.Add(cfgErr(&t.Meta, p, "id", "id", "テナント ID は英小文字・数字・-・_ です", "tenant id must be lower-case letters, digits, - and _"))
		}
		if ids[t.ID] {
			diags.Add(cfgErr(&t.Meta, p, "id", "duplicate", "テナント ID が重複しています: "+t.ID, "duplicate tenant id "+t.ID))
		}
		ids[t.ID] = true
		if t.Model != "" {
			if !filepath.IsAbs(t.Model) {
				t.Model = filepath.Join(base, t.Model)
			}
			m, md := model.Load(t.Model)
			if md.HasErrors() {
				diags.Add(cfgErr(&t.Meta, p, "model", "model", "モデルにエラーがあります: "+t.Model, "the model has errors: "+t.Model+" (kyojin validate)"))
			}
			t.Loaded = m
		}
		for j := range t.Sources {
			s := &t.Sources[j]
			sp := fmt.Sprintf("%s.sources[%d]", p, j)
			n := 0
			for _, v := range []string{s.Listener, s.CIDR, s.CertCN, s.CertSHA256, s.Token} {
				if v != "" {
					n++
				}
			}
			if n != 1 {
				diags.Add(cfgErr(&s.Meta, sp, "", "source", "listener, cidr, cert_cn, cert_sha256, token のどれか一つを書いてください", "give exactly one of listener, cidr, cert_cn, cert_sha256, token"))
			}
			if s.Listener != "" && listeners[s.Listener] == nil {
				diags.Add(cfgErr(&s.Meta, sp, "listener", "listener", "リスナーがありません: "+s.Listener, "no listener named "+s.Listener))
			}
			if s.CIDR != "" {
				pfx, err := netip.ParsePrefix(s.CIDR)
				if err != nil {
					diags.Add(cfgErr(&s.Meta, sp, "cidr", "cidr", "CIDR が不正です", "invalid CIDR"))
				}
				s.prefix = pfx.Masked()
			}
			s.CertSHA256 = strings.ToLower(strings.ReplaceAll(s.CertSHA256, ":", ""))
			if name, ok := strings.CutPrefix(s.Token, "env:"); ok {
				s.Token = os.Getenv(name)
				if s.Token == "" {
					diags.Add(cfgErr(&s.Meta, sp, "token", "token", "環境変数が空です: "+name, "environment variable is empty: "+name))
				}
			}
			if s.Token != "" {
				if other, dup := tokens[s.Token]; dup && other != t.ID {
					diags.Add(cfgErr(&s.Meta, sp, "token", "duplicate", "トークンが他のテナントと重複しています", "token shared with another tenant"))
				}
				tokens[s.Token] = t.ID
			}
			if s.Format != "" && !logparse.KnownFormat(s.Format) {
				diags.Add(cfgErr(&s.Meta, sp, "format", "format", "不明な形式: "+s.Format, "unknown format "+s.Format))
			}
		}
	}
}

// Location is the zone for timestamps that carry none.
func (c *Config) Location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// Peer is what intake knows about the sender of a line.
type Peer struct {
	Listener   string
	Addr       netip.Addr
	CertCN     string
	CertSHA256 string
	Token      string
}

// Resolve finds the tenant and format for a peer. Precedence: token,
// client certificate, listener, then the longest matching CIDR — the most
// specific proof of identity first. ok is false when no tenant claims it.
func (c *Config) Resolve(p Peer, listenerFormat string) (tenant, format string, ok bool) {
	best := -1
	for i := range c.Tenants {
		t := &c.Tenants[i]
		for j := range t.Sources {
			s := &t.Sources[j]
			rank := -1
			switch {
			case s.Token != "" && p.Token != "" && constantTimeEq(s.Token, p.Token):
				rank = 1000
			case s.CertSHA256 != "" && s.CertSHA256 == p.CertSHA256:
				rank = 900
			case s.CertCN != "" && p.CertCN != "" && s.CertCN == p.CertCN:
				rank = 800
			case s.Listener != "" && s.Listener == p.Listener:
				rank = 700
			case s.CIDR != "" && p.Addr.IsValid() && s.prefix.Contains(p.Addr.Unmap()):
				rank = s.prefix.Bits()
			}
			if rank > best {
				best, tenant, format = rank, t.ID, s.Format
			}
		}
	}
	if format == "" {
		format = listenerFormat
	}
	return tenant, format, best >= 0
}

// HasTenant reports whether id is a configured tenant.
func (c *Config) HasTenant(id string) bool {
	for _, t := range c.Tenants {
		if t.ID == id {
			return true
		}
	}
	return false
}

// ApplyRetention deletes, for each tenant with retention_days set, the days
// of events older than that (issue 8 §1 per-tenant retention), and returns
// the number of days removed per tenant.
//
// Where the store keeps days shared by all tenants (PostgreSQL partitions)
// and every tenant has a retention, the days past the longest one are
// dropped whole, which frees their space at once.
func (c *Config) ApplyRetention(st EventStore, now time.Time) (map[string]int, error) {
	out := map[string]int{}
	for _, t := range c.Tenants {
		if t.RetentionDays <= 0 {
			continue
		}
		n, err := st.Retain(t.ID, now.AddDate(0, 0, -t.RetentionDays))
		if err != nil {
			return out, err
		}
		out[t.ID] = n
	}
	if dd, ok := st.(dayDropper); ok {
		if longest := c.longestRetention(); longest > 0 {
			if _, err := dd.DropBefore(now.AddDate(0, 0, -longest)); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

// longestRetention is the longest retention_days when every tenant has
// one, else 0: only then may days be removed for all tenants at once.
func (c *Config) longestRetention() int {
	longest := 0
	for _, t := range c.Tenants {
		if t.RetentionDays <= 0 {
			return 0
		}
		longest = max(longest, t.RetentionDays)
	}
	return longest
}

// ApplyAlertRetention applies the tenants' retention_days to their alerts
// in the console's store (issue 8 §1 per-tenant retention): each tenant's
// alerts last seen before its period are deleted; when every tenant has a
// retention, alerts past the longest go for all at once (on PostgreSQL as
// whole day partitions). It returns the alerts deleted per tenant ("*" for
// the all-tenant pass).
func (c *Config) ApplyAlertRetention(ctx context.Context, st store.AlertStore, now time.Time) (map[string]int64, error) {
	out := map[string]int64{}
	if longest := c.longestRetention(); longest > 0 {
		n, err := st.DropAlertsBefore(ctx, now.AddDate(0, 0, -longest))
		if err != nil {
			return out, err
		}
		out["*"] = n
	}
	for _, t := range c.Tenants {
		if t.RetentionDays <= 0 {
			continue
		}
		n, err := st.RetainAlerts(ctx, t.ID, now.AddDate(0, 0, -t.RetentionDays))
		if err != nil {
			return out, err
		}
		out[t.ID] = n
	}
	return out, nil
}
