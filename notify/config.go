package notify

import (
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/strictyaml"
)

// Config is the notification configuration file (see docs/notify.md and
// notify/testdata/example.yaml).
type Config struct {
	Meta       strictyaml.Meta
	Lang       string `yaml:"lang"`        // default template language: ja (default) or en
	ConsoleURL string `yaml:"console_url"` // shown when a message has no link
	// TemplatesDir overrides embedded templates file by file (ja/alert.tmpl,
	// en/footer.tmpl…), e.g. to name the body's contact desk.
	TemplatesDir string          `yaml:"templates_dir"`
	Outbox       OutboxConfig    `yaml:"outbox,required"`
	SMTP         *SMTPConfig     `yaml:"smtp"`
	Webhooks     []WebhookConfig `yaml:"webhooks"`
	Routes       []RouteConfig   `yaml:"routes,required"`
	Ladders      []LadderConfig  `yaml:"ladders"`
}

// OutboxConfig places the durable outbox and sets the retry policy.
type OutboxConfig struct {
	Meta        strictyaml.Meta
	Dir         string   `yaml:"dir,required"`
	Workers     int      `yaml:"workers"`       // concurrent deliveries (default 4)
	RetryBase   Duration `yaml:"retry_base"`    // first retry delay (default 30s), doubled each time
	RetryMax    Duration `yaml:"retry_max"`     // longest delay between attempts (default 30m)
	GiveUpAfter Duration `yaml:"give_up_after"` // age after which a delivery is dead (default 24h)
}

// SMTPConfig is the mail server notifications are submitted to.
type SMTPConfig struct {
	Meta       strictyaml.Meta
	Address    string   `yaml:"address,required"` // host:port
	From       string   `yaml:"from,required"`
	HELO       string   `yaml:"helo"`        // default: the host name
	TLS        string   `yaml:"tls"`         // starttls (default), tls (implicit, port 465) or none (loopback only)
	CAFile     string   `yaml:"ca_file"`     // PEM roots for the server certificate; default: system roots
	ServerName string   `yaml:"server_name"` // certificate name; default: host of address
	Username   string   `yaml:"username"`    // AUTH PLAIN, only ever over TLS
	Password   *Secret  `yaml:"password"`
	Timeout    Duration `yaml:"timeout"` // whole SMTP transaction (default 30s)
}

// WebhookConfig is one HTTPS receiver.
type WebhookConfig struct {
	Meta        strictyaml.Meta
	Name        string   `yaml:"name,required"`
	URL         string   `yaml:"url,required"`
	Secret      *Secret  `yaml:"secret,required"` // HMAC-SHA256 key
	Timeout     Duration `yaml:"timeout"`         // per request (default 10s)
	CAFile      string   `yaml:"ca_file"`         // PEM roots; default: system roots
	IncludeText bool     `yaml:"include_text"`    // also send the rendered subject and body (default true when absent)
}

// Secret is a password or key: written inline (value), or better taken
// from an environment variable (env) or a file (file). Exactly one is set.
// It is never logged or printed.
type Secret struct {
	Meta  strictyaml.Meta
	Value string `yaml:"value"`
	Env   string `yaml:"env"`
	File  string `yaml:"file"`
}

// String hides the secret from fmt.
func (s *Secret) String() string { return "[secret]" }

// LogValue hides the secret from slog.
func (s *Secret) LogValue() slog.Value { return slog.StringValue("[secret]") }

// MarshalJSON hides the secret from JSON dumps of the configuration.
func (s *Secret) MarshalJSON() ([]byte, error) { return []byte(`"[secret]"`), nil }

// Resolve returns the secret's value.
func (s *Secret) Resolve() (string, error) {
	switch {
	case s == nil:
		return "", nil
	case s.Env != "":
		v := os.Getenv(s.Env)
		if v == "" {
			return "", fmt.Errorf("environment variable %s is empty or unset", s.Env)
		}
		return v, nil
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("secret file: %w", err)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("secret file %s is empty", s.File)
		}
		return v, nil
	}
	return s.Value, nil
}

// RouteConfig says who is told what: notifications of the listed tenants
// (all when empty) at or above MinSeverity, of the listed kinds (all when
// empty), go to the mail recipients and webhooks.
type RouteConfig struct {
	Meta        strictyaml.Meta
	Name        string    `yaml:"name,required"`
	Tenants     []string  `yaml:"tenants"`
	MinSeverity *Severity `yaml:"min_severity"` // default informational
	Kinds       []Kind    `yaml:"kinds"`
	Mail        []string  `yaml:"mail"`
	Webhooks    []string  `yaml:"webhooks"`
	Lang        string    `yaml:"lang"` // default: the file's lang
	// Digest is the quiet interval: after one alert or tamper notification
	// goes out, the others within the interval are gathered into one digest
	// (critical ones still go at once). 0 disables it.
	Digest Duration `yaml:"digest"`
	// Explicit routes receive only SendTo (tests, escalation ladders), never
	// routed notifications.
	Explicit bool `yaml:"explicit"`
}

// LadderConfig is an escalation ladder: while nobody acknowledges, each
// step's route is notified once its delay has passed since the start.
type LadderConfig struct {
	Meta  strictyaml.Meta
	Name  string       `yaml:"name,required"`
	Steps []StepConfig `yaml:"steps,required"`
}

// StepConfig is one level of a ladder.
type StepConfig struct {
	Meta  strictyaml.Meta
	After Duration `yaml:"after"`          // since the ladder started
	Level string   `yaml:"level,required"` // shown to people, e.g. CSIRT責任者
	Route string   `yaml:"route,required"` // who is told
}

// Duration is written as 30s, 5m, 2h or 7d.
type Duration time.Duration

// UnmarshalText parses a Go duration, or a number of days with "d".
func (d *Duration) UnmarshalText(b []byte) error {
	s := string(b)
	var v time.Duration
	var err error
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		v = time.Duration(n) * 24 * time.Hour
		if n > 3650 {
			err = fmt.Errorf("too long")
		}
	} else {
		v, err = time.ParseDuration(s)
	}
	if err != nil || v < 0 {
		return valueError("期間の書き方が不正です: "+s, "invalid duration: "+s, "30s、5m、2h、7d のように書いてください", "write e.g. 30s, 5m, 2h or 7d")
	}
	*d = Duration(v)
	return nil
}

// D is the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func valueError(ja, en, hintJA, hintEN string) error {
	return &strictyaml.ValueError{Msg: diag.T(ja, en), Hint: diag.T(hintJA, hintEN)}
}

// LoadConfig reads and checks a configuration file; every problem is
// reported at once with file:line:column.
func LoadConfig(file string) (*Config, diag.List) {
	data, err := os.ReadFile(file)
	if err != nil {
		var l diag.List
		l.Add(diag.Diagnostic{File: file, Code: "read", Msg: diag.T("読み込めません: "+err.Error(), "cannot read: "+err.Error())})
		return nil, l
	}
	return ParseConfig(file, data)
}

// ParseConfig is LoadConfig on bytes.
func ParseConfig(file string, data []byte) (*Config, diag.List) {
	var diags diag.List
	c := &Config{}
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

func setDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

func (c *Config) defaults() {
	setDefault(&c.Lang, "ja")
	o := &c.Outbox
	setDefault(&o.Workers, 4)
	setDefault(&o.RetryBase, Duration(30*time.Second))
	setDefault(&o.RetryMax, Duration(30*time.Minute))
	setDefault(&o.GiveUpAfter, Duration(24*time.Hour))
	if s := c.SMTP; s != nil {
		setDefault(&s.TLS, "starttls")
		setDefault(&s.Timeout, Duration(30*time.Second))
	}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		setDefault(&w.Timeout, Duration(10*time.Second))
		if !w.Meta.Has("include_text") {
			w.IncludeText = true
		}
	}
	for i := range c.Routes {
		if c.Lang == "en" {
			setDefault(&c.Routes[i].Lang, "en")
		}
		setDefault(&c.Routes[i].Lang, "ja")
	}
}

func bad(m *strictyaml.Meta, path, field, code, ja, en, hintJA, hintEN string) diag.Diagnostic {
	return m.Diag(diag.Error, path, field, code, diag.T(ja, en), diag.T(hintJA, hintEN))
}

func (c *Config) check(diags *diag.List) {
	if c.Lang != "ja" && c.Lang != "en" {
		diags.Add(bad(&c.Meta, "", "lang", "lang", "lang は ja か en です", "lang must be ja or en", "", ""))
	}
	if c.ConsoleURL != "" {
		if u, err := url.Parse(c.ConsoleURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			diags.Add(bad(&c.Meta, "", "console_url", "url", "console_url が URL ではありません", "console_url is not a URL", "https://… の形で書いてください", "write https://…"))
		}
	}
	if c.Outbox.Workers < 1 || c.Outbox.Workers > 64 {
		diags.Add(bad(&c.Outbox.Meta, "outbox", "workers", "range", "workers は 1〜64 です", "workers must be 1 to 64", "", ""))
	}
	if c.Outbox.RetryMax < c.Outbox.RetryBase {
		diags.Add(bad(&c.Outbox.Meta, "outbox", "retry_max", "range", "retry_max が retry_base より短いです", "retry_max is shorter than retry_base", "", ""))
	}
	if s := c.SMTP; s != nil {
		c.checkSMTP(s, diags)
	}
	hooks := map[string]bool{}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		path := fmt.Sprintf("webhooks[%d]", i)
		uniqueName(hooks, w.Name, &w.Meta, path, "webhook 名", "webhook", diags)
		if u, err := url.Parse(w.URL); err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
			diags.Add(bad(&w.Meta, path, "url", "https", "webhook の URL は https:// で始まる必要があります", "a webhook URL must be https://", "署名付きでも通信路の暗号化は必須です（利用者情報を URL に含めないでください）", "transport encryption is required even with signatures (no credentials in the URL)"))
		}
		checkSecret(w.Secret, path+".secret", diags)
		if w.Timeout.D() <= 0 || w.Timeout.D() > 5*time.Minute {
			diags.Add(bad(&w.Meta, path, "timeout", "range", "timeout は 0 より長く 5m 以下です", "timeout must be above 0 and at most 5m", "", ""))
		}
	}
	routes := map[string]bool{}
	for i := range c.Routes {
		r := &c.Routes[i]
		path := fmt.Sprintf("routes[%d]", i)
		uniqueName(routes, r.Name, &r.Meta, path, "経路名", "route", diags)
		if len(r.Mail) == 0 && len(r.Webhooks) == 0 {
			diags.Add(bad(&r.Meta, path, "", "no-destination", "経路に宛先（mail か webhooks）がありません", "the route has no destination (mail or webhooks)", "", ""))
		}
		if len(r.Mail) > 0 && c.SMTP == nil {
			diags.Add(bad(&r.Meta, path, "mail", "no-smtp", "メールの宛先がありますが smtp の設定がありません", "mail recipients but no smtp section", "smtp: を追加してください", "add an smtp: section"))
		}
		for j, a := range r.Mail {
			if !plainAddress(a) {
				diags.Add(r.Meta.DiagAt(diag.Error, fmt.Sprintf("%s.mail[%d]", path, j), "mail", "address", diag.T("メールアドレスが不正です: "+a, "invalid mail address: "+a), diag.T("name@example.lg.jp の形（表示名なし）で書いてください", "write name@example.lg.jp (no display name)")))
			}
		}
		for _, h := range r.Webhooks {
			if !hooks[h] {
				diags.Add(bad(&r.Meta, path, "webhooks", "unknown-webhook", "webhooks に "+h+" がありません", "no webhook named "+h, "", ""))
			}
		}
		if r.Lang != "ja" && r.Lang != "en" {
			diags.Add(bad(&r.Meta, path, "lang", "lang", "lang は ja か en です", "lang must be ja or en", "", ""))
		}
	}
	ladders := map[string]bool{}
	for i := range c.Ladders {
		l := &c.Ladders[i]
		path := fmt.Sprintf("ladders[%d]", i)
		uniqueName(ladders, l.Name, &l.Meta, path, "エスカレーション名", "ladder", diags)
		var prev Duration = -1
		for j := range l.Steps {
			s := &l.Steps[j]
			sp := fmt.Sprintf("%s.steps[%d]", path, j)
			if !routes[s.Route] {
				diags.Add(bad(&s.Meta, sp, "route", "unknown-route", "routes に "+s.Route+" がありません", "no route named "+s.Route, "", ""))
			}
			if s.After <= prev {
				diags.Add(bad(&s.Meta, sp, "after", "order", "after は前の段階より長くしてください", "after must be longer than the previous step's", "段階は時間の順に並べます", "steps go in time order"))
			}
			prev = s.After
		}
	}
}

// uniqueName reports a duplicate or unusable name (names become file and
// directory names in the outbox) and records it in seen.
func uniqueName(seen map[string]bool, name string, m *strictyaml.Meta, path, whatJA, whatEN string, diags *diag.List) {
	if seen[name] {
		diags.Add(bad(m, path, "name", "duplicate", whatJA+" "+name+" が重複しています", "duplicate "+whatEN+" name "+name, "", ""))
	}
	seen[name] = true
	if !validName(name) {
		diags.Add(bad(m, path, "name", "name", whatJA+"に使える文字は英数字と - _ . です: "+name, "a "+whatEN+" name uses letters, digits, - _ . only: "+name, "", ""))
	}
}

func (c *Config) checkSMTP(s *SMTPConfig, diags *diag.List) {
	host, _, err := net.SplitHostPort(s.Address)
	if err != nil || host == "" {
		diags.Add(bad(&s.Meta, "smtp", "address", "address", "address は host:port の形です", "address must be host:port", "例: mail.example.lg.jp:587", "e.g. mail.example.lg.jp:587"))
	}
	if !plainAddress(s.From) {
		diags.Add(bad(&s.Meta, "smtp", "from", "address", "from のメールアドレスが不正です", "invalid from address", "", ""))
	}
	switch s.TLS {
	case "starttls", "tls":
	case "none":
		// RFC 8314 and clause 6.1 (通信の暗号化): plaintext submission only
		// where the wire never leaves the host.
		if err == nil && !isLoopback(host) {
			diags.Add(bad(&s.Meta, "smtp", "tls", "tls", "tls: none はループバックの SMTP サーバーにだけ使えます", "tls: none is only allowed for a loopback SMTP server", "starttls を使ってください", "use starttls"))
		}
	default:
		diags.Add(bad(&s.Meta, "smtp", "tls", "tls", "tls は starttls、tls、none のいずれかです", "tls must be starttls, tls or none", "", ""))
	}
	if (s.Username == "") != (s.Password == nil) {
		diags.Add(bad(&s.Meta, "smtp", "username", "auth", "username と password は両方書くか、両方省きます", "write both username and password, or neither", "", ""))
	}
	if s.Username != "" && s.TLS == "none" {
		diags.Add(bad(&s.Meta, "smtp", "password", "auth-plaintext", "パスワードを暗号化されない接続で送ることはできません", "a password is never sent over an unencrypted connection", "tls を starttls にしてください", "set tls to starttls"))
	}
	checkSecret(s.Password, "smtp.password", diags)
}

func checkSecret(s *Secret, path string, diags *diag.List) {
	if s == nil {
		return
	}
	n := 0
	for _, v := range []string{s.Value, s.Env, s.File} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		diags.Add(bad(&s.Meta, path, "", "secret", "value、env、file のどれか一つを書いてください", "write exactly one of value, env, file", "env（環境変数名）か file を推奨します", "env (variable name) or file is recommended"))
	}
}

func plainAddress(a string) bool {
	p, err := mail.ParseAddress(a)
	return err == nil && p.Name == "" && p.Address == a && !strings.ContainsAny(a, "\r\n<>")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
