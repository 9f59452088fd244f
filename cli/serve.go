package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/web"
)

// serveContext is the lifetime of `kyojin serve`; tests replace it to stop
// the server.
var serveContext = func() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// demoModel is the bundled example city shown by --demo, with its
// assessment of this year and last (for the trend).
const (
	demoModel          = "examples/kakuu-city"
	demoAssessment     = "examples/kakuu-city-assessment/r8.yaml"
	demoAssessmentPrev = "examples/kakuu-city-assessment/r7.yaml"
)

// orEmbedded returns path when it exists (the source tree), else the copy
// embedded in the binary.
func orEmbedded(path string) string {
	if _, err := os.Stat(path); err == nil {
		return path
	}
	return examplePrefix + strings.TrimPrefix(path, "examples/")
}

func init() {
	var sf storeFlags
	var configPath, listen, modelPath, assessPath, assessPrev string
	var dev, demo bool
	register(&Command{
		Name:  "serve",
		Usage: "[--config FILE] [--listen ADDR] [--model PATH] [--assessment FILE [--assessment-previous FILE]] [--dev] [--demo]",
		Short: "Web コンソールを起動する（HTTPS）",
		Long: `HTTPS でコンソールを起動します。証明書を設定しなければ、初回起動時に自己署名証明書を
データディレクトリに生成し、その SHA-256 フィンガープリントを表示します。
--dev はループバックアドレスでのみ平文 HTTP を使う開発用モードです。
--assessment はその年度の評価ファイル（kyojin assess と同じ形式）で、ダッシュボードと
要求事項のページに評点・未達・改善計画を表示します（--assessment-previous で前年度比）。
無害化とメール中継の稼働状況は、設定ファイルの activity.sanitize_audit と activity.mailgate_audit に
指定した記録ファイル（JSON lines）から表示します。
--demo は同梱の例（examples/kakuu-city と令和8年度・7年度の評価ファイル）を読み込み、一時的なデータディレクトリに
デモ用の管理者（CISO ロール）を作り、そのパスワードを一度だけ表示します。初回ログイン時に
TOTP の登録を求められます。`,
		Flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.StringVar(&configPath, "config", "", "設定ファイル（YAML）")
			fs.StringVar(&listen, "listen", "", "待ち受けるアドレス（既定 :8443、--dev では 127.0.0.1:8080）")
			fs.StringVar(&modelPath, "model", "", "表示するモデル（ファイルまたはディレクトリ）")
			fs.StringVar(&assessPath, "assessment", "", "表示する評価ファイル（--model が必要）")
			fs.StringVar(&assessPrev, "assessment-previous", "", "前年度の評価ファイル（前年度比）")
			fs.BoolVar(&dev, "dev", false, "開発用: ループバックでのみ平文 HTTP で待ち受ける")
			fs.BoolVar(&demo, "demo", false, "デモ: 例のモデルと一時的な管理者で起動する")
		},
		Run: func(env *Env, fs *flag.FlagSet, args []string) error {
			if len(args) != 0 {
				return usageError("serve takes no arguments")
			}
			set := map[string]bool{}
			fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
			cfg := &web.Config{}
			if configPath != "" {
				c, diags := web.LoadConfig(configPath)
				diags.Write(env.Stderr, env.Lang)
				if c == nil {
					return &ExitError{Code: 2, Err: fmt.Errorf("invalid configuration %s", configPath)}
				}
				cfg = c
			}
			// Flags given on the command line win over the file.
			if set["listen"] || cfg.Listen == "" {
				cfg.Listen = listen
			}
			if set["data"] || cfg.Data == "" {
				cfg.Data = sf.data
			}
			if set["db"] || cfg.DB == "" {
				cfg.DB = sf.db
			}
			if set["model"] || cfg.Model == "" {
				cfg.Model = modelPath
			}
			if set["assessment"] || cfg.Assessment == "" {
				cfg.Assessment = assessPath
			}
			if set["assessment-previous"] || cfg.AssessmentPrevious == "" {
				cfg.AssessmentPrevious = assessPrev
			}
			if demo {
				if cfg.Model == "" {
					cfg.Model = orEmbedded(demoModel)
					if cfg.Assessment == "" {
						cfg.Assessment, cfg.AssessmentPrevious = orEmbedded(demoAssessment), orEmbedded(demoAssessmentPrev)
					}
				}
				if !set["data"] && configPath == "" {
					tmp, err := os.MkdirTemp("", "kyojin-demo-")
					if err != nil {
						return err
					}
					defer os.RemoveAll(tmp)
					cfg.Data = tmp
				}
				// The demo also shows the security cloud: the example city is
				// the console's tenant and its logs are fed in at start.
				if cfg.HomeTenant == "" {
					cfg.HomeTenant = demoTenant
				}
				if cfg.Events == "" && cfg.Data != "" {
					cfg.Events = filepath.Join(cfg.Data, "cloud-events")
					if err := os.MkdirAll(cfg.Events, 0o700); err != nil {
						return err
					}
				}
			}
			if cfg.Assessment != "" && cfg.Model == "" {
				return usageError("serve: --assessment には --model が必要です")
			}
			if cfg.AssessmentPrevious != "" && cfg.Assessment == "" {
				return usageError("serve: --assessment-previous には --assessment が必要です")
			}
			return serve(env, cfg, dev, demo)
		},
	})
}

func serve(env *Env, cfg *web.Config, dev, demo bool) error {
	ctx, stop := serveContext()
	defer stop()
	if cfg.Listen == "" {
		cfg.Listen = ":8443"
		if dev {
			cfg.Listen = "127.0.0.1:8080"
		}
	}
	if dev {
		for _, a := range []string{cfg.Listen, cfg.Transfer.InternetListen, cfg.Transfer.LGWANListen} {
			if a == "" {
				continue
			}
			if err := requireLoopback(a); err != nil {
				return &ExitError{Code: 2, Err: err, Hint: "kyojin serve --dev --listen 127.0.0.1:8080"}
			}
		}
	}
	var m *model.Model
	var res *check.Result
	if cfg.Model != "" {
		var diags diag.List
		m, diags = loadModel(cfg.Model)
		diags.Write(env.Stderr, env.Lang)
		if m == nil {
			return &ExitError{Code: 2, Err: fmt.Errorf("model %s has errors", cfg.Model)}
		}
		res = check.Run(m)
	}
	sf := storeFlags{data: cfg.Data, db: cfg.DB}
	s, svc, err := sf.services(ctx, env)
	if err != nil {
		return err
	}
	defer s.Close()
	applyPolicy(svc, cfg)
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return &ExitError{Code: 1, Err: fmt.Errorf("listen on %s: %w", cfg.Listen, err)}
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	hosts := cfg.TLS.Hostnames
	if len(hosts) == 0 {
		hosts = []string{"localhost", "127.0.0.1", "::1"}
		if h, err := os.Hostname(); err == nil && h != "" {
			hosts = append([]string{h}, hosts...)
		}
	}
	scheme := "https"
	if dev {
		scheme = "http"
	}
	rpID := cfg.WebAuthn.RPID
	if rpID == "" {
		// A security key is bound to a domain name; a bare host name or
		// an address cannot be one, so the default is localhost unless the
		// certificate names a domain.
		rpID = "localhost"
		if !dev && strings.Contains(hosts[0], ".") && net.ParseIP(hosts[0]) == nil {
			rpID = hosts[0]
		}
	}
	origins := cfg.WebAuthn.Origins
	if len(origins) == 0 {
		origins = []string{fmt.Sprintf("%s://%s:%d", scheme, rpID, port)}
	}
	if svc.WebAuthn, err = auth.NewWebAuthn(rpID, origins); err != nil {
		if cfg.WebAuthn.RPID != "" {
			return &ExitError{Code: 2, Err: fmt.Errorf("webauthn configuration: %w", err)}
		}
		// The default relying party (this machine's host name) is not
		// always a valid domain; security keys then wait for webauthn.rp_id.
		svc.WebAuthn = nil
		fmt.Fprintf(env.Stderr, "警告: セキュリティキー（WebAuthn）は無効です。設定ファイルで webauthn.rp_id を指定してください（%v）\n", err)
	}
	var demoPassword string
	if demo {
		demoPassword = GeneratePassword()
		if _, err := svc.CreateUser(ctx, "demo", "demo", "デモ管理者", demoPassword, []store.Grant{{Role: string(auth.RoleCISO)}}); err != nil {
			return fmt.Errorf("create demo admin: %w", err)
		}
		if m != nil && cfg.Model == orEmbedded(demoModel) && cfg.HomeTenant == demoTenant && cfg.Events != "" && !pgevents.IsDSN(cfg.Events) {
			n, err := seedDemoCloud(ctx, env.Log, s, m, cfg.Events, time.Now())
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "デモ: セキュリティクラウドに例のログを取り込み、アラートを %d 件作成しました（テナント %s）\n", n, demoTenant)
		}
	}
	cat, err := catalog.Default()
	if err != nil {
		return fmt.Errorf("control catalog: %w", err)
	}
	var ar *assess.Result
	if cfg.Assessment != "" {
		if ar, err = serveAssessment(env, cat, m, res, cfg); err != nil {
			return err
		}
	}
	var tsvc *transfer.Service
	if cfg.Transfer.InternetListen != "" {
		var cleanup func()
		if tsvc, cleanup, err = transferService(env, cfg, s, svc.Audit, m); err != nil {
			return err
		}
		defer cleanup()
	}
	events, err := consoleEvents(env, cfg)
	if err != nil {
		return err
	}
	hub, err := consoleIntel(ctx, env, cfg)
	if err != nil {
		return err
	}
	// The dispatcher asks the incident service whether a ladder's incident
	// was received; the service is built after it, before Run starts.
	var isvc *incident.Service
	var notifier incident.Notifier = incident.LogNotifier{Log: env.Log}
	if cfg.Notify != "" {
		acker := notify.AckerMux{"incident": notify.AckerFunc(func(ctx context.Context, r notify.Ref) (bool, error) { return isvc.Acknowledged(ctx, r) })}
		d, ncfg, stopNotify, err := startNotify(ctx, env, cfg.Notify, acker)
		if err != nil {
			return err
		}
		defer func() { stop(); stopNotify() }()
		notifier = &incident.NotifyChannel{D: d, ConsoleURL: ncfg.ConsoleURL, Ladder: incident.IncidentLadder(ncfg)}
	}
	isvc, err = incidentService(cfg, s, svc.Audit, env.Log, m, cat, hub, notifier)
	if err != nil {
		return err
	}
	console, err := web.New(web.Options{Events: events, Store: s, Auth: svc, Audit: svc.Audit, Log: env.Log, Model: m, Result: res, Catalog: cat, Assessment: ar, Secure: !dev,
		Activity: web.ActivitySources{SanitizeAudit: cfg.Activity.SanitizeAudit, MailgateAudit: cfg.Activity.MailgateAudit}, Transfer: tsvc, HomeTenant: cfg.HomeTenant,
		Incidents: isvc})
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           console.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(env.Log.Handler(), slog.LevelWarn),
	}
	out := env.Stdout
	if dev {
		fmt.Fprintf(out, "kyojin コンソール（開発モード、平文 HTTP）: http://%s/\n", displayAddr(cfg.Listen, port))
	} else {
		var cert tls.Certificate
		if cfg.TLS.Cert != "" {
			cert, err = tls.LoadX509KeyPair(cfg.TLS.Cert, cfg.TLS.Key)
		} else {
			var created bool
			cert, created, err = web.LoadOrCreateCert(filepath.Join(cfg.Data, "tls"), hosts, time.Now())
			if err == nil && created {
				fmt.Fprintf(out, "自己署名証明書を生成しました: %s\n", filepath.Join(cfg.Data, "tls", "cert.pem"))
			}
		}
		if err != nil {
			return fmt.Errorf("certificate: %w", err)
		}
		srv.TLSConfig = web.TLSConfigFor(cert)
		fmt.Fprintf(out, "kyojin コンソール: https://%s/\n", displayAddr(cfg.Listen, port))
		fmt.Fprintf(out, "証明書の SHA-256 フィンガープリント: %s\n", web.Fingerprint(cert.Certificate[0]))
	}
	// Each transfer side is its own listener and server: the handler of a
	// server has its side fixed, so the side comes from the socket a
	// request arrived on, never from anything the client sends.
	servers := []*http.Server{srv}
	listeners := []net.Listener{ln}
	if tsvc != nil {
		for _, side := range []struct {
			side transfer.Side
			addr string
		}{{transfer.SideInternet, cfg.Transfer.InternetListen}, {transfer.SideLGWAN, cfg.Transfer.LGWANListen}} {
			tln, err := net.Listen("tcp", side.addr)
			if err != nil {
				return &ExitError{Code: 1, Err: fmt.Errorf("listen on %s (%s): %w", side.addr, side.side, err)}
			}
			defer tln.Close()
			ts := &http.Server{
				Handler:           console.SideHandler(side.side),
				ReadHeaderTimeout: 10 * time.Second,
				// Uploads of several large files need more than the console's limits.
				ReadTimeout:    30 * time.Minute,
				WriteTimeout:   30 * time.Minute,
				IdleTimeout:    120 * time.Second,
				MaxHeaderBytes: 64 << 10,
				TLSConfig:      srv.TLSConfig,
				ErrorLog:       srv.ErrorLog,
			}
			servers, listeners = append(servers, ts), append(listeners, tln)
			fmt.Fprintf(out, "ファイル転送（%s）: %s://%s/transfer\n", side.side.JA(), scheme, displayAddr(side.addr, tln.Addr().(*net.TCPAddr).Port))
		}
		go expireTransfers(ctx, tsvc, env.Log)
	}
	if m != nil {
		fmt.Fprintf(out, "モデル: %s（%s、指摘 %d 件）\n", cfg.Model, m.Org.Name, len(res.Findings))
	}
	if a := cfg.Activity; a.SanitizeAudit != "" || a.MailgateAudit != "" {
		fmt.Fprintf(out, "稼働状況の記録: 無害化 %s、メール中継 %s\n", cmp.Or(a.SanitizeAudit, "—"), cmp.Or(a.MailgateAudit, "—"))
	}
	if ar != nil {
		fmt.Fprintf(out, "評価: %s（%s、総合評点 %.1f%%）\n", cfg.Assessment, ar.Year.Label("ja"), ar.Overall.Percent)
	}
	if demo {
		fmt.Fprintf(out, "デモ管理者: ユーザー名 demo / パスワード %s （この表示は一度だけです。初回ログイン時に TOTP を登録します）\n", demoPassword)
	}
	svc.Audit.Append(ctx, audit.Event{Actor: "system", Action: audit.ServerStart, Target: "console",
		Details: map[string]any{"listen": cfg.Listen, "dev": dev, "demo": demo, "model": cfg.Model}})
	go sweepSessions(ctx, s, env.Log)
	go notifyIncidentWarnings(ctx, isvc, env.Log)
	errc := make(chan error, len(servers))
	for i, hs := range servers {
		go func() {
			if dev {
				errc <- hs.Serve(listeners[i])
			} else {
				errc <- hs.ServeTLS(listeners[i], "", "")
			}
		}()
	}
	select {
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			return err
		}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, hs := range servers {
			if err := hs.Shutdown(sctx); err != nil {
				return err
			}
		}
		fmt.Fprintln(out, "停止しました")
	}
	return nil
}

// serveAssessment loads and evaluates the assessment (and last year's) as
// `kyojin assess` does, at today's date.
func serveAssessment(env *Env, cat *catalog.Catalog, m *model.Model, res *check.Result, cfg *web.Config) (*assess.Result, error) {
	var prev *assess.Assessment
	var err error
	if cfg.AssessmentPrevious != "" {
		if prev, err = loadAssessment(env, cat, m, cfg.AssessmentPrevious, nil); err != nil {
			return nil, err
		}
	}
	a, err := loadAssessment(env, cat, m, cfg.Assessment, prev)
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.FiscalYear >= a.FiscalYear {
		return nil, usageError("前年度の評価ファイルの年度（%s）が評価ファイルの年度（%s）より前ではありません", prev.FiscalYear.Label("ja"), a.FiscalYear.Label("ja"))
	}
	return assess.Evaluate(assess.Input{Catalog: cat, Model: m, Check: res, Assessment: a, Previous: prev, Now: time.Now().UTC()}), nil
}

func applyPolicy(svc *auth.Service, cfg *web.Config) {
	if d := cfg.Session.TTL.Duration; d > 0 {
		svc.Policy.SessionTTL = d
	}
	if d := cfg.Session.Idle.Duration; d > 0 {
		svc.Policy.SessionIdle = d
	}
	if n := cfg.Lockout.MaxFailures; n > 0 {
		svc.Policy.MaxFailures = n
	}
	if d := cfg.Lockout.LockFor.Duration; d > 0 {
		svc.Policy.LockFor = d
	}
}

// requireLoopback refuses plain HTTP anywhere but on the loopback
// interface: passwords and session cookies must never cross a network in
// clear.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--dev serves plain HTTP and only listens on a loopback address, not %q", addr)
	}
	return nil
}

func displayAddr(listen string, port int) string {
	host, _, _ := net.SplitHostPort(listen)
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// sweepSessions removes expired sessions every ten minutes.
func sweepSessions(ctx context.Context, s store.Store, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := s.DeleteExpiredSessions(ctx, now); err != nil {
				log.Warn("session sweep failed", "err", err)
			} else if n > 0 {
				log.Debug("expired sessions removed", "n", n)
			}
		}
	}
}
