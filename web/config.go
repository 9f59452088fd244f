package web

import (
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/strictyaml"
)

// Config is the console's configuration file (kyojin serve --config FILE).
// It is decoded strictly: unknown fields, wrong types and every semantic
// problem are reported together, each with file:line:column.
type Config struct {
	strictyaml.Meta `yaml:"-"`
	Listen          string `yaml:"listen"` // host:port, default ":8443"
	Data            string `yaml:"data"`   // data directory
	DB              string `yaml:"db"`     // postgres://… (default: SQLite in Data)
	Model           string `yaml:"model"`  // model file or directory
	// Assessment is the year's assessment file (kind: Assessment) and
	// AssessmentPrevious last year's, for the trend; both need Model.
	Assessment         string         `yaml:"assessment"`
	AssessmentPrevious string         `yaml:"assessment_previous"`
	Activity           ActivityConfig `yaml:"activity"`
	TLS                TLSConfig      `yaml:"tls"`
	WebAuthn           WebAuthnConfig `yaml:"webauthn"`
	Session            SessionConfig  `yaml:"session"`
	Lockout            LockoutConfig  `yaml:"lockout"`
	Transfer           TransferConfig `yaml:"transfer"`
	// HomeTenant is the security-cloud tenant ID of the body running this
	// console; organisation-wide roles see that tenant's alerts and
	// incidents. Empty in a console that only shows posture.
	HomeTenant string `yaml:"home_tenant"`
	// Events is the security cloud's event store directory (the store of
	// the cloud configuration), searched by /events.
	Events string `yaml:"events"`
	// Intel is the directory of the prefecture's threat-intelligence list
	// (DIR/intel/indicators.jsonl: the cloud configuration's store), to
	// which incidents publish indicators. Default: Events.
	Intel string `yaml:"intel"`
	// Notify is the notification configuration (package notify): incident
	// notices, SLA warnings and the escalation ladder of new incidents.
	Notify string `yaml:"notify"`
}

// TransferConfig enables the zone-to-zone file transfer. Each side has its
// own listener, so that a deployment binds one to the Internet-zone network
// and the other to the LGWAN-zone network; the server tells the sides
// apart by the listener a request arrives on.
type TransferConfig struct {
	strictyaml.Meta `yaml:"-"`
	InternetListen  string     `yaml:"internet_listen"`
	LGWANListen     string     `yaml:"lgwan_listen"`
	SanitizePolicy  string     `yaml:"sanitize_policy"` // default: the embedded strict policy
	MaxFiles        int        `yaml:"max_files"`
	MaxFileMB       int64      `yaml:"max_file_mb"`
	MaxTotalMB      int64      `yaml:"max_total_mb"`
	ApproveAll      bool       `yaml:"approve_all"`
	ApproveAboveMB  int64      `yaml:"approve_above_mb"`
	ApproveTypes    []string   `yaml:"approve_types"`
	EncryptFrom     string     `yaml:"encrypt_from"` // classification, e.g. "2"
	Retention       Duration   `yaml:"retention"`
	LinkTTL         Duration   `yaml:"link_ttl"`
	SMTP            SMTPConfig `yaml:"smtp"`
}

// SMTPConfig is the relay for transfer notices; users get mail at
// name@Domain.
type SMTPConfig struct {
	strictyaml.Meta `yaml:"-"`
	Addr            string `yaml:"addr"`
	From            string `yaml:"from"`
	Domain          string `yaml:"domain"`
}

// ActivityConfig names the JSON-lines audit files the dashboard summarises:
// those of `kyojin sanitize --audit FILE` and `kyojin mailgate`.
type ActivityConfig struct {
	strictyaml.Meta `yaml:"-"`
	SanitizeAudit   string `yaml:"sanitize_audit"`
	MailgateAudit   string `yaml:"mailgate_audit"`
}

// TLSConfig names the certificate; without one a self-signed certificate
// for Hostnames is generated in the data directory on first start.
type TLSConfig struct {
	strictyaml.Meta `yaml:"-"`
	Cert            string   `yaml:"cert"`
	Key             string   `yaml:"key"`
	Hostnames       []string `yaml:"hostnames"`
}

// WebAuthnConfig sets the relying party. Security keys are bound to RPID
// (the console's host name) and only accepted from Origins.
type WebAuthnConfig struct {
	strictyaml.Meta `yaml:"-"`
	RPID            string   `yaml:"rp_id"`
	Origins         []string `yaml:"origins"`
}

// SessionConfig bounds session lifetime.
type SessionConfig struct {
	strictyaml.Meta `yaml:"-"`
	TTL             Duration `yaml:"ttl"`
	Idle            Duration `yaml:"idle"`
}

// LockoutConfig overrides the lockout policy.
type LockoutConfig struct {
	strictyaml.Meta `yaml:"-"`
	MaxFailures     int      `yaml:"max_failures"`
	LockFor         Duration `yaml:"lock_for"`
}

// Duration is a time.Duration written as "30m", "8h".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v <= 0 {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("期間 %q を読めません", b), fmt.Sprintf("cannot read duration %q", b)),
			Hint: diag.T("30m、8h のように正の期間を書いてください", "write a positive duration such as 30m or 8h")}
	}
	d.Duration = v
	return nil
}

// LoadConfig reads and validates a configuration file.
func LoadConfig(path string) (*Config, diag.List) {
	var diags diag.List
	var c Config
	if !strictyaml.DecodeFile(path, &c, &diags) {
		return nil, diags
	}
	c.validate(&diags)
	if diags.HasErrors() {
		return nil, diags
	}
	return &c, diags
}

func (c *Config) validate(diags *diag.List) {
	bad := func(m *strictyaml.Meta, path, field, ja, en, hintJA, hintEN string) {
		diags.Add(m.Diag(diag.Error, path, field, "config", diag.T(ja, en), diag.T(hintJA, hintEN)))
	}
	if c.Listen != "" {
		if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
			bad(&c.Meta, "", "listen", fmt.Sprintf("listen %q は host:port の形式ではありません", c.Listen), fmt.Sprintf("listen %q is not host:port", c.Listen), "例: \":8443\" や \"192.0.2.10:443\"", `e.g. ":8443" or "192.0.2.10:443"`)
		}
	}
	if c.DB != "" && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		bad(&c.Meta, "", "db", "db は postgres:// で始まる URL でなければなりません", "db must be a postgres:// URL", "SQLite を使うときは db を書かずに data を指定します", "omit db to use SQLite in the data directory")
	}
	if (c.Assessment != "" || c.AssessmentPrevious != "") && c.Model == "" {
		bad(&c.Meta, "", "assessment", "assessment を表示するには model も指定してください", "assessment needs model", "適用の判定と自動検査にモデルを使います", "the model decides applicability and feeds the automatic checks")
	}
	if c.AssessmentPrevious != "" && c.Assessment == "" {
		bad(&c.Meta, "", "assessment_previous", "assessment_previous だけでは表示できません", "assessment_previous without assessment", "assessment に今年度の評価ファイルを指定してください", "set assessment to this year's file")
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad(&c.TLS.Meta, "tls", "cert", "cert と key は両方とも指定してください", "set both cert and key", "省略すると自己署名証明書を生成します", "omit both to generate a self-signed certificate")
	}
	for i, o := range c.WebAuthn.Origins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.Path != "" {
			diags.Add(c.WebAuthn.Meta.DiagAt(diag.Error, fmt.Sprintf("webauthn.origins[%d]", i), "origins", "config",
				diag.T(fmt.Sprintf("origin %q は https://ホスト[:ポート] の形式ではありません", o), fmt.Sprintf("origin %q is not https://host[:port]", o)), diag.Text{}))
		}
	}
	if c.Session.TTL.Duration > 0 && c.Session.Idle.Duration > c.Session.TTL.Duration {
		bad(&c.Session.Meta, "session", "idle", "idle が ttl より長くなっています", "idle is longer than ttl", "", "")
	}
	t := &c.Transfer
	if (t.InternetListen == "") != (t.LGWANListen == "") {
		bad(&t.Meta, "transfer", "internet_listen", "internet_listen と lgwan_listen は両方とも指定してください", "set both internet_listen and lgwan_listen", "転送は二つの待ち受けアドレス（インターネット側と LGWAN 側）で提供します", "the transfer serves one listener per zone")
	} else if t.InternetListen != "" {
		for _, a := range []struct{ field, v string }{{"internet_listen", t.InternetListen}, {"lgwan_listen", t.LGWANListen}} {
			if _, port, err := net.SplitHostPort(a.v); err != nil || port == "" {
				bad(&t.Meta, "transfer", a.field, fmt.Sprintf("%s %q は host:port の形式ではありません", a.field, a.v), fmt.Sprintf("%s %q is not host:port", a.field, a.v), "", "")
			}
		}
		if t.InternetListen == t.LGWANListen || t.InternetListen == c.Listen || t.LGWANListen == c.Listen {
			bad(&t.Meta, "transfer", "lgwan_listen", "インターネット側・LGWAN 側・コンソールの待ち受けアドレスはすべて別にしてください", "the Internet, LGWAN and console listeners must differ", "", "")
		}
	}
	if t.SMTP.Addr != "" && (t.SMTP.From == "" || t.SMTP.Domain == "") {
		bad(&t.SMTP.Meta, "transfer.smtp", "from", "smtp には from と domain も指定してください", "smtp needs from and domain", "", "")
	}
	if c.Lockout.MaxFailures < 0 || c.Lockout.MaxFailures > 100 {
		bad(&c.Lockout.Meta, "lockout", "max_failures", "max_failures は 1〜100 にしてください", "max_failures must be 1-100", "", "")
	}
}
