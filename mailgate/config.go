// Package mailgate is the mail sanitizing relay (メール無害化): it receives
// Internet mail over SMTP, checks the sender domain (SPF, DKIM, DMARC),
// rebuilds every message as sanitized plain MIME (package mailsan), keeps
// it in a durable queue and delivers it to the LGWAN-side mail server.
// MIC guideline clause 3(2)①(ア): mail from the Internet zone reaches LGWAN
// terminals only after 無害化; the relay sits in the Internet zone or the
// prefecture security cloud.
package mailgate

import (
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/mailgate/mailsan"
	"github.com/kyojin/kyojin/strictyaml"
)

// Duration is a time.Duration written as "30s", "5m", "120h" in YAML.
type Duration time.Duration

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v < 0 {
		return &strictyaml.ValueError{Msg: diag.T("期間の書き方が不正です: "+string(b), "invalid duration: "+string(b)),
			Hint: diag.T("30s、5m、2h のように書いてください", "write e.g. 30s, 5m or 2h")}
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Config is the relay configuration file (kyojin mailgate validate FILE).
type Config struct {
	Meta       strictyaml.Meta
	Hostname   string      `yaml:"hostname,required"`
	Listeners  []Listener  `yaml:"listeners,required"`
	Domains    []string    `yaml:"domains,required"` // recipient domains accepted; nothing else is relayed
	Limits     Limits      `yaml:"limits"`
	Auth       AuthConfig  `yaml:"auth"`
	Downstream Downstream  `yaml:"downstream,required"`
	Queue      QueueConfig `yaml:"queue,required"`
	Mail       MailPolicy  `yaml:"mail"`
	Sanitize   string      `yaml:"sanitize_policy"` // engine policy file; "" = embedded default
	AuditLog   string      `yaml:"audit_log"`
	Metrics    MetricsConf `yaml:"metrics"`
	file       string
}

// Listener is one SMTP listening address.
type Listener struct {
	Meta    strictyaml.Meta
	Address string `yaml:"address,required"`
	TLSCert string `yaml:"tls_cert"` // STARTTLS certificate (PEM); both or neither
	TLSKey  string `yaml:"tls_key"`
}

// Limits protect the relay from floods (per client IP) and slow peers.
type Limits struct {
	Meta                 strictyaml.Meta
	MaxMessageBytes      int64    `yaml:"max_message_bytes"`
	MaxRecipients        int      `yaml:"max_recipients"`
	MaxConnections       int      `yaml:"max_connections"`
	MaxConnectionsPerIP  int      `yaml:"max_connections_per_ip"`
	MaxMessagesPerIPHour int      `yaml:"max_messages_per_ip_per_hour"`
	CommandTimeout       Duration `yaml:"command_timeout"`
	DataTimeout          Duration `yaml:"data_timeout"`
}

// AuthConfig configures sender domain authentication (送信ドメイン認証).
type AuthConfig struct {
	Meta    strictyaml.Meta
	Enabled bool `yaml:"enabled"`
	// What to do with a message failing DMARC whose domain publishes
	// p=reject or p=quarantine: reject (550), quarantine (accept, keep in
	// the quarantine, do not deliver), tag (deliver with a warning), none.
	OnReject     string   `yaml:"on_dmarc_reject"`
	OnQuarantine string   `yaml:"on_dmarc_quarantine"`
	DNSTimeout   Duration `yaml:"dns_timeout"`
	DNSServer    string   `yaml:"dns_server"` // host:port; "" = system resolver
}

// Downstream is the LGWAN-side mail server.
type Downstream struct {
	Meta       strictyaml.Meta
	Address    string   `yaml:"address,required"`
	Protocol   string   `yaml:"protocol"` // smtp (default) or lmtp
	TLS        string   `yaml:"tls"`      // none (default), starttls, tls
	CAFile     string   `yaml:"ca_file"`
	ServerName string   `yaml:"server_name"`
	Timeout    Duration `yaml:"timeout"`
}

// QueueConfig configures the durable queue and retries.
type QueueConfig struct {
	Meta      strictyaml.Meta
	Dir       string   `yaml:"dir,required"`
	Workers   int      `yaml:"workers"`
	RetryBase Duration `yaml:"retry_base"`
	RetryMax  Duration `yaml:"retry_max"`
	MaxAge    Duration `yaml:"max_age"`
	DSNRelay  string   `yaml:"dsn_relay"` // host:port for bounces to Internet senders; "" = no DSN sent (logged)
	Rescan    Duration `yaml:"rescan"`
}

// MailPolicy is the mailsan policy in YAML.
type MailPolicy struct {
	Meta             strictyaml.Meta
	Links            string `yaml:"links"`
	Charset          string `yaml:"charset"`
	Attachments      string `yaml:"attachments"`
	TNEF             string `yaml:"tnef"`
	Encrypted        string `yaml:"encrypted"`
	Signatures       string `yaml:"signatures"`
	Calendar         string `yaml:"calendar"`
	EncryptedArchive string `yaml:"encrypted_archive"`
	Forwarded        string `yaml:"forwarded"`
	KeepOriginal     *bool  `yaml:"keep_original"`
	Contact          string `yaml:"contact"`
	MaxDepth         int    `yaml:"max_depth"`
	MaxParts         int    `yaml:"max_parts"`
}

// MetricsConf is the Prometheus listener.
type MetricsConf struct {
	Meta    strictyaml.Meta
	Address string `yaml:"address"` // "" = no metrics listener
}

// LoadConfig reads, decodes and checks a configuration file. Every problem
// is reported with file:line:column.
func LoadConfig(file string) (*Config, diag.List) {
	var diags diag.List
	data, err := os.ReadFile(file)
	if err != nil {
		diags.Add(diag.Diagnostic{File: file, Code: "read", Msg: diag.T("読み込めません: "+err.Error(), "cannot read: "+err.Error())})
		return nil, diags
	}
	return ParseConfig(file, data)
}

// ParseConfig is LoadConfig on bytes.
func ParseConfig(file string, data []byte) (*Config, diag.List) {
	var diags diag.List
	c := &Config{file: file}
	strictyaml.DecodeBytes(file, data, c, &diags)
	if diags.HasErrors() {
		return nil, diags
	}
	c.defaults()
	c.check(&diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

func (c *Config) defaults() {
	l := &c.Limits
	setDefault(&l.MaxMessageBytes, 25<<20)
	setDefault(&l.MaxRecipients, 100)
	setDefault(&l.MaxConnections, 200)
	setDefault(&l.MaxConnectionsPerIP, 20)
	setDefault(&l.MaxMessagesPerIPHour, 1000)
	setDefault(&l.CommandTimeout, Duration(5*time.Minute)) // RFC 5321 §4.5.3.2.7
	setDefault(&l.DataTimeout, Duration(10*time.Minute))
	a := &c.Auth
	setDefault(&a.OnReject, "reject")
	setDefault(&a.OnQuarantine, "quarantine")
	setDefault(&a.DNSTimeout, Duration(10*time.Second))
	d := &c.Downstream
	setDefault(&d.Protocol, "smtp")
	setDefault(&d.TLS, "none")
	setDefault(&d.Timeout, Duration(2*time.Minute))
	q := &c.Queue
	setDefault(&q.Workers, 4)
	setDefault(&q.RetryBase, Duration(time.Minute))
	setDefault(&q.RetryMax, Duration(time.Hour))
	setDefault(&q.MaxAge, Duration(5*24*time.Hour))
	setDefault(&q.Rescan, Duration(30*time.Second))
	def := mailsan.DefaultPolicy()
	m := &c.Mail
	setDefault(&m.Links, def.Links)
	setDefault(&m.Charset, def.Charset)
	setDefault(&m.Attachments, string(def.Attachments))
	setDefault(&m.TNEF, string(def.TNEF))
	setDefault(&m.Encrypted, string(def.Encrypted))
	setDefault(&m.Signatures, string(def.Signatures))
	setDefault(&m.Calendar, string(def.Calendar))
	setDefault(&m.EncryptedArchive, string(def.EncryptedArchive))
	setDefault(&m.Forwarded, string(def.Forwarded))
	setDefault(&m.Contact, def.Contact)
	setDefault(&m.MaxDepth, def.MaxDepth)
	setDefault(&m.MaxParts, def.MaxParts)
}

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func (c *Config) check(diags *diag.List) {
	bad := func(m *strictyaml.Meta, path, field, msg, msgEN string, hint diag.Text) {
		diags.Add(m.Diag(diag.Error, path, field, "value", diag.T(msg, msgEN), hint))
	}
	oneOf := func(m *strictyaml.Meta, path, field, v string, allowed ...string) {
		for _, a := range allowed {
			if v == a {
				return
			}
		}
		bad(m, path, field, fmt.Sprintf("%q は使えません", v), fmt.Sprintf("%q is not allowed", v),
			diag.T("使える値: "+strings.Join(allowed, ", "), "allowed: "+strings.Join(allowed, ", ")))
	}
	if len(c.Domains) == 0 {
		bad(&c.Meta, "", "domains", "受け付ける宛先ドメインを一つ以上書いてください（オープンリレー防止）", "list at least one recipient domain (no open relay)", diag.Text{})
	}
	for i, d := range c.Domains {
		if d == "" || strings.ContainsAny(d, " @*") {
			bad(&c.Meta, "", "domains", fmt.Sprintf("ドメイン %d %q が不正です（ワイルドカード不可）", i+1, d), fmt.Sprintf("domain %d %q is invalid (no wildcards)", i+1, d), diag.Text{})
		}
	}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		p := fmt.Sprintf("listeners[%d]", i)
		if _, _, err := net.SplitHostPort(l.Address); err != nil {
			bad(&l.Meta, p, "address", "host:port の形で書いてください", "must be host:port", diag.Text{})
		}
		if (l.TLSCert == "") != (l.TLSKey == "") {
			bad(&l.Meta, p, "tls_cert", "tls_cert と tls_key は両方書いてください", "tls_cert and tls_key go together", diag.Text{})
		}
	}
	lm := &c.Limits
	if lm.MaxMessageBytes < 1024 {
		bad(&lm.Meta, "limits", "max_message_bytes", "小さすぎます", "too small", diag.Text{})
	}
	acts := []string{"reject", "quarantine", "tag", "none"}
	oneOf(&c.Auth.Meta, "auth", "on_dmarc_reject", c.Auth.OnReject, acts...)
	oneOf(&c.Auth.Meta, "auth", "on_dmarc_quarantine", c.Auth.OnQuarantine, acts...)
	d := &c.Downstream
	if _, _, err := net.SplitHostPort(d.Address); err != nil {
		bad(&d.Meta, "downstream", "address", "host:port の形で書いてください", "must be host:port", diag.Text{})
	}
	oneOf(&d.Meta, "downstream", "protocol", d.Protocol, "smtp", "lmtp")
	oneOf(&d.Meta, "downstream", "tls", d.TLS, "none", "starttls", "tls")
	if c.Queue.Workers < 1 || c.Queue.Workers > 256 {
		bad(&c.Queue.Meta, "queue", "workers", "1〜256 にしてください", "must be 1-256", diag.Text{})
	}
	if c.Queue.DSNRelay != "" {
		if _, _, err := net.SplitHostPort(c.Queue.DSNRelay); err != nil {
			bad(&c.Queue.Meta, "queue", "dsn_relay", "host:port の形で書いてください", "must be host:port", diag.Text{})
		}
	}
	m := &c.Mail
	oneOf(&m.Meta, "mail", "links", m.Links, mailsan.LinksList, mailsan.LinksDefang, mailsan.LinksRemove)
	oneOf(&m.Meta, "mail", "charset", strings.ToLower(m.Charset), "utf-8", "iso-2022-jp")
	all := []string{"sanitize", "quarantine", "remove", "reject"}
	noSan := []string{"quarantine", "remove", "reject"}
	oneOf(&m.Meta, "mail", "attachments", m.Attachments, all...)
	oneOf(&m.Meta, "mail", "tnef", m.TNEF, noSan...)
	oneOf(&m.Meta, "mail", "encrypted", m.Encrypted, noSan...)
	oneOf(&m.Meta, "mail", "signatures", m.Signatures, noSan...)
	oneOf(&m.Meta, "mail", "calendar", m.Calendar, all...)
	oneOf(&m.Meta, "mail", "encrypted_archive", m.EncryptedArchive, noSan...)
	oneOf(&m.Meta, "mail", "forwarded", m.Forwarded, all...)
	if m.MaxDepth < 1 || m.MaxDepth > 50 {
		bad(&m.Meta, "mail", "max_depth", "1〜50 にしてください", "must be 1-50", diag.Text{})
	}
	if m.MaxParts < 1 || m.MaxParts > 10000 {
		bad(&m.Meta, "mail", "max_parts", "1〜10000 にしてください", "must be 1-10000", diag.Text{})
	}
}

// MailsanPolicy converts the YAML policy.
func (c *Config) MailsanPolicy() mailsan.Policy {
	m := c.Mail
	p := mailsan.DefaultPolicy()
	p.Links, p.Charset, p.Contact = m.Links, strings.ToLower(m.Charset), m.Contact
	p.Attachments, p.TNEF, p.Encrypted = mailsan.Action(m.Attachments), mailsan.Action(m.TNEF), mailsan.Action(m.Encrypted)
	p.Signatures, p.Calendar = mailsan.Action(m.Signatures), mailsan.Action(m.Calendar)
	p.EncryptedArchive, p.Forwarded = mailsan.Action(m.EncryptedArchive), mailsan.Action(m.Forwarded)
	if m.KeepOriginal != nil {
		p.KeepOriginal = *m.KeepOriginal
	}
	p.MaxDepth, p.MaxParts = m.MaxDepth, m.MaxParts
	return p
}
