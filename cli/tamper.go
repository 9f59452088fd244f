package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/kyojin/kyojin/tamper"
)

func init() {
	register(&Command{
		Name:  "tamper",
		Usage: "keygen --out FILE | baseline|verify|scan|watch --config FILE [--site TENANT[/SITE]] [--alerts FILE] [--db DIR|URL] [--notify FILE]",
		Short: "公開 Web サイトのコンテンツ改ざん検知",
		Long: `テナントごとの公開 Web サイトの改ざんを検知します（付属資料3 ツール7）。

  kyojin tamper keygen --out tamper.key
      署名鍵（ed25519、秘密鍵は 0600）と公開鍵 tamper.key.pub を作ります。
  kyojin tamper baseline --config tamper.yaml [--site pref/www]
      Web ルートを走査し、署名付きベースラインを作ります（restore: true なら復旧用の写しも保存）。
  kyojin tamper verify --config tamper.yaml
      ベースラインの署名と、復旧用の写し（restore: true のとき）を検証します。
  kyojin tamper scan --config tamper.yaml
      全走査と外部からの取得を一度行い、変更を警告として出力します（変更があれば終了コード 1）。
  kyojin tamper watch --config tamper.yaml
      ファイル変更通知と定期全走査・定期取得で監視し続けます。

警告は JSON Lines で出力します（設定の alerts、--alerts FILE、既定は標準出力）。
設定の db または --db（コンソールのデータディレクトリか postgres://…、クラウド設定の db と同じ）を
指定すると、警告をコンソールのアラートとしても記録し、そこからインシデントを作成できます。
設定の notify または --notify で通知の設定ファイルを指定すると、新しい警告をメールと Webhook で通知します。
設定の書き方は docs/tamper.md を参照してください。`,
		Subcommands: true,
		Run:         runTamper,
	})
}

func runTamper(env *Env, _ *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		return usageError("tamper: サブコマンド（keygen, baseline, verify, scan, watch）を指定してください")
	}
	switch args[0] {
	case "keygen":
		return tamperKeygen(env, args[1:])
	case "baseline", "verify", "scan", "watch":
		return tamperRun(env, args[0], args[1:])
	}
	return usageError("tamper: 不明なサブコマンド %q（keygen, baseline, verify, scan, watch）", args[0])
}

// tamperSay writes a message in the user's language.
func tamperSay(env *Env, ja, en string) {
	if env.Lang == "en" {
		fmt.Fprintln(env.Stderr, en)
	} else {
		fmt.Fprintln(env.Stderr, ja)
	}
}

func tamperKeygen(env *Env, args []string) error {
	fs := flag.NewFlagSet("tamper keygen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("out", "", "秘密鍵の出力先（公開鍵は FILE.pub）")
	if err := fs.Parse(args); err != nil || *out == "" {
		return usageError("tamper keygen --out FILE")
	}
	if err := tamper.GenerateKey(*out); err != nil {
		return err
	}
	tamperSay(env, "署名鍵を作成しました: "+*out+"（公開鍵 "+*out+".pub）", "key written: "+*out+" (public key "+*out+".pub)")
	return nil
}

func tamperRun(env *Env, sub string, args []string) error {
	fs := flag.NewFlagSet("tamper "+sub, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "設定ファイル (YAML)")
	site := fs.String("site", "", "対象（TENANT または TENANT/SITE）。既定はすべて")
	alerts := fs.String("alerts", "", "警告の出力先（JSON Lines、- は標準出力）")
	db := fs.String("db", "", "警告をコンソールのアラートとしても記録する先（データディレクトリまたは postgres://…、設定の db）")
	notifyFile := fs.String("notify", "", "通知の設定ファイル（設定の notify）")
	if err := fs.Parse(args); err != nil || *config == "" {
		return usageError("tamper %s --config FILE", sub)
	}
	cfg, diags := tamper.LoadConfig(*config)
	if len(diags.Items) > 0 {
		diags.Write(env.Stderr, env.Lang)
	}
	if cfg == nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("invalid configuration %s", *config)}
	}
	sites := cfg.Select(*site)
	if len(sites) == 0 {
		return usageError("tamper: 該当するサイトがありません: %s", *site)
	}
	if sub == "baseline" {
		return tamperBaseline(env, sites)
	}
	dest := cfg.Alerts
	if *alerts != "" {
		dest = *alerts
	}
	var w io.Writer = env.Stdout
	if dest != "" && dest != "-" {
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		defer f.Close()
		w = f
	}
	ctx, stop := serveContext()
	defer stop()
	sinks := fanout{tamper.NewJSONLines(w)}
	ta := &tamperAlerts{now: time.Now}
	if *db != "" {
		cfg.DB = *db
	}
	if *notifyFile != "" {
		cfg.Notify = *notifyFile
	}
	if sub != "verify" && cfg.DB != "" {
		st, err := openTamperStore(ctx, cfg.DB)
		if err != nil {
			return err
		}
		defer st.Close()
		ta.st = st
		tamperSay(env, "アラートの記録先: "+cloudDBLabel(cfg.DB), "alert store: "+cloudDBLabel(cfg.DB))
	}
	if sub != "verify" && cfg.Notify != "" {
		d, ncfg, err := openNotify(env, cfg.Notify, nil)
		if err != nil {
			return err
		}
		ta.d, ta.consoleURL = d, ncfg.ConsoleURL
		if sub == "watch" {
			done := make(chan struct{})
			go func() { defer close(done); d.Run(ctx) }()
			defer func() { stop(); <-done; d.Close() }()
		} else {
			// One scan: deliver what it raised before exiting; what
			// cannot be delivered now stays in the outbox for the next
			// dispatcher (kyojin serve or tamper watch).
			defer func() { d.Process(context.WithoutCancel(ctx)); d.Close() }()
		}
	}
	if ta.st != nil || ta.d != nil {
		sinks = append(sinks, ta)
	}
	counter := &countingAlerter{next: sinks}
	var failed int
	switch sub {
	case "verify":
		for _, s := range sites {
			m, err := tamper.Open(ctx, s, counter, env.Log)
			if err != nil {
				failed++
				tamperSay(env, s.Name()+": 検証できません: "+err.Error(), s.Name()+": does not verify: "+err.Error())
				continue
			}
			bad := m.VerifyObjects()
			m.Close()
			if len(bad) > 0 {
				failed++
				tamperSay(env, fmt.Sprintf("%s: 復旧用の写しが %d 件、欠けているか改ざんされています（例: %s）", s.Name(), len(bad), bad[0]),
					fmt.Sprintf("%s: %d restore copies missing or altered (e.g. %s)", s.Name(), len(bad), bad[0]))
				continue
			}
			tamperSay(env, s.Name()+": ベースラインの署名は正しいです", s.Name()+": baseline signature verifies")
		}
	case "scan":
		for _, s := range sites {
			m, err := tamper.Open(ctx, s, counter, env.Log)
			if err != nil {
				failed++
				tamperSay(env, s.Name()+": "+err.Error(), s.Name()+": "+err.Error())
				continue
			}
			_, err = m.Scan(ctx)
			m.FetchAll(ctx)
			m.Close()
			if err != nil {
				failed++
				tamperSay(env, s.Name()+": 走査できません: "+err.Error(), s.Name()+": scan failed: "+err.Error())
			}
		}
	case "watch":
		failed = tamperWatch(ctx, env, sites, counter)
	}
	if sub == "watch" && failed == 0 {
		return nil // changes seen while watching are the alerts, not a failure
	}
	if n := counter.n(); n > 0 || failed > 0 {
		tamperSay(env, fmt.Sprintf("変更 %d 件、失敗 %d サイト", n, failed), fmt.Sprintf("%d change(s), %d site(s) failed", n, failed))
		return &ExitError{Code: 1}
	}
	if sub == "scan" {
		tamperSay(env, "変更はありません", "no changes")
	}
	return nil
}

func tamperBaseline(env *Env, sites []*tamper.Site) error {
	ctx, stop := serveContext()
	defer stop()
	for _, s := range sites {
		m, warnings, err := tamper.MakeBaseline(ctx, s, env.Log)
		if err != nil {
			tamperSay(env, s.Name()+": ベースラインを作れません: "+err.Error(), s.Name()+": baseline refused: "+err.Error())
			return &ExitError{Code: 1}
		}
		n := 0
		for _, r := range m.Roots {
			n += len(r.Entries)
		}
		tamperSay(env, fmt.Sprintf("%s: ベースラインを作成しました（%d 件、URL %d 件）: %s", s.Name(), n, len(m.Pages), s.Baseline),
			fmt.Sprintf("%s: baseline written (%d entries, %d URLs): %s", s.Name(), n, len(m.Pages), s.Baseline))
		for _, w := range warnings {
			tamperSay(env, "警告: 許可リスト外の参照をベースラインに含めました: "+w, "warning: reference outside the allowlist accepted into the baseline: "+w)
		}
	}
	return nil
}

// tamperWatch runs one monitor per site until ctx ends; it returns the
// number of sites that stopped on an error (a baseline that no longer
// verifies stops its site).
func tamperWatch(ctx context.Context, env *Env, sites []*tamper.Site, a tamper.Alerter) int {
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := 0
	fail := func(s *tamper.Site, err error) {
		mu.Lock()
		failed++
		mu.Unlock()
		tamperSay(env, s.Name()+": 監視を停止しました: "+err.Error(), s.Name()+": watch stopped: "+err.Error())
	}
	for _, s := range sites {
		m, err := tamper.Open(ctx, s, a, env.Log)
		if err != nil {
			fail(s, err)
			continue
		}
		tamperSay(env, s.Name()+": 監視を開始しました", s.Name()+": watching")
		wg.Go(func() {
			defer m.Close()
			if err := m.Watch(ctx); err != nil && !errors.Is(err, context.Canceled) {
				fail(s, err)
			}
		})
	}
	wg.Wait()
	return failed
}

// countingAlerter counts what passes through to the real alerter.
type countingAlerter struct {
	mu    sync.Mutex
	count int
	next  tamper.Alerter
}

func (c *countingAlerter) Raise(ctx context.Context, ch tamper.Change) error {
	c.mu.Lock()
	c.count++
	c.mu.Unlock()
	return c.next.Raise(ctx, ch)
}

func (c *countingAlerter) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.count
}
