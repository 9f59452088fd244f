package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kyojin/kyojin/notify"
)

func init() {
	register(&Command{
		Name:  "notify",
		Usage: "validate --config F | test --config F --route R | outbox --config F [--json] | requeue --config F ID",
		Short: "通知（メール・Webhook）の設定検査、テスト送信、送信待ちと配送不能の一覧",
		Long: `validate  通知設定ファイルを厳密に検査し、問題をすべて file:line:column で報告します。
test      経路 R の全宛先（メール・Webhook）へテスト通知を直接送り、宛先ごとの結果を表示します。
          一つでも失敗すれば終了コード 1（詳細はログ、-v で表示）。
outbox    送信待ち（pending）、配送不能（dead）、まとめ待ち（held）、進行中のエスカレーションを表示します。
requeue   配送不能になった通知 ID を送信待ちに戻します（原因を直した後に）。稼働中の通知処理は
          30 秒以内に取り込みます。

validate: checks the configuration. test: sends a test notification to every destination of a route.
outbox: lists pending and dead deliveries. requeue: moves a dead delivery back to pending.
Configuration: docs/notify.md`,
		Subcommands: true,
		Run:         runNotify,
	})
}

func runNotify(env *Env, _ *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		return usageError("notify: サブコマンド（validate、test、outbox、requeue）を指定してください")
	}
	sub := flag.NewFlagSet("notify "+args[0], flag.ContinueOnError)
	sub.SetOutput(io.Discard)
	cfgFile := sub.String("config", "", "")
	route := sub.String("route", "", "")
	asJSON := sub.Bool("json", false, "")
	rest, err := parseInterspersed(sub, args[1:])
	if err != nil {
		return usageError("notify %s: %v", args[0], err)
	}
	if *cfgFile == "" && len(rest) > 0 && args[0] == "validate" {
		*cfgFile, rest = rest[0], rest[1:]
	}
	if *cfgFile == "" {
		return usageError("notify %s: --config F を指定してください", args[0])
	}
	cfg, err := loadNotifyConfig(env, *cfgFile)
	if err != nil {
		return err
	}
	switch args[0] {
	case "validate":
		if _, err := notify.LoadTemplates(cfg.TemplatesDir); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		fmt.Fprintf(env.Stdout, "%s: OK（経路 %d、Webhook %d、エスカレーション %d）\n", *cfgFile, len(cfg.Routes), len(cfg.Webhooks), len(cfg.Ladders))
		return nil
	case "test":
		if *route == "" {
			return usageError("notify test: --route R を指定してください")
		}
		return notifyTest(env, cfg, *route)
	case "outbox":
		return notifyOutbox(env, cfg.Outbox.Dir, *asJSON)
	case "requeue":
		if len(rest) != 1 {
			return usageError("notify requeue: 通知 ID を一つ指定してください")
		}
		if err := notify.Requeue(cfg.Outbox.Dir, rest[0]); err != nil {
			env.Log.Error("notify requeue", "id", rest[0], "err", err)
			return fmt.Errorf("%s を戻せません（notify outbox で ID を確認してください）", rest[0])
		}
		fmt.Fprintf(env.Stdout, "%s を送信待ちに戻しました\n", rest[0])
		return nil
	}
	return usageError("notify: 不明なサブコマンド %q", args[0])
}

func notifyTest(env *Env, cfg *notify.Config, route string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := notify.Test(ctx, cfg, route, notify.Options{Log: env.Log})
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	failed := 0
	for _, r := range res {
		status := "OK"
		if env.Lang != "en" {
			status = "送信しました"
		}
		if r.Err != nil {
			failed++
			// The cause is a server's reply or a network error: no secret.
			status = "NG: " + r.Err.Error()
		}
		fmt.Fprintf(env.Stdout, "%s\t%s\t%s\n", r.Channel, r.Target, status)
	}
	if failed > 0 {
		return &ExitError{Code: 1, Err: fmt.Errorf("%d/%d destinations failed", failed, len(res))}
	}
	return nil
}

func notifyOutbox(env *Env, dir string, asJSON bool) error {
	l, err := notify.ListOutbox(dir)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		type brief struct {
			ID, Route, Channel, Target, Kind, Tenant, LastError string
			Created, NextAttempt, Dead                          time.Time
			Attempts                                            int
		}
		conv := func(items []notify.Item) []brief {
			out := []brief{}
			for _, it := range items {
				out = append(out, brief{it.ID, it.Route, it.Channel, it.Target, string(it.Kind), it.Tenant, it.LastError, it.Created, it.NextAttempt, it.Dead, it.Attempts})
			}
			return out
		}
		return enc.Encode(map[string]any{"pending": conv(l.Pending), "dead": conv(l.Dead), "held": l.Held, "ladders": len(l.Ladders)})
	}
	w := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "送信待ち %d 件、配送不能 %d 件、エスカレーション進行中 %d 件\n", len(l.Pending), len(l.Dead), len(l.Ladders))
	for _, route := range slices.Sorted(maps.Keys(l.Held)) {
		fmt.Fprintf(w, "まとめ待ち\t%s\t%d 件\n", route, l.Held[route])
	}
	if len(l.Pending)+len(l.Dead) > 0 {
		fmt.Fprintln(w, "状態\tID\t経路\t宛先\t種類\t試行\t次回/停止\t最後のエラー")
	}
	for _, it := range l.Pending {
		fmt.Fprintf(w, "pending\t%s\t%s\t%s:%s\t%s\t%d\t%s\t%s\n", it.ID, it.Route, it.Channel, it.Target, it.Kind, it.Attempts, it.NextAttempt.Format(time.RFC3339), it.LastError)
	}
	for _, it := range l.Dead {
		fmt.Fprintf(w, "dead\t%s\t%s\t%s:%s\t%s\t%d\t%s\t%s\n", it.ID, it.Route, it.Channel, it.Target, it.Kind, it.Attempts, it.Dead.Format(time.RFC3339), it.LastError)
	}
	for _, st := range l.Ladders {
		fmt.Fprintf(w, "ladder\t%s\t%s\t%s\t\t%d\t%s\t\n", st.Key, st.Ladder, st.Ref.String(), st.Fired, st.Started.Format(time.RFC3339))
	}
	return w.Flush()
}

// loadNotifyConfig reads a notification configuration, writing every
// problem found (file:line:column and a hint) to stderr.
func loadNotifyConfig(env *Env, file string) (*notify.Config, error) {
	cfg, diags := notify.LoadConfig(file)
	diags.Write(env.Stderr, env.Lang)
	if cfg == nil {
		errs, _ := diags.Count()
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("%d errors in %s", errs, file), Hint: "docs/notify.md で設定の書き方を確認してください"}
	}
	return cfg, nil
}

// openNotify loads the notification configuration and opens its
// dispatcher (taking the outbox lock); the caller runs or processes it and
// closes it.
func openNotify(env *Env, file string, acker notify.Acker) (*notify.Dispatcher, *notify.Config, error) {
	cfg, err := loadNotifyConfig(env, file)
	if err != nil {
		return nil, nil, err
	}
	d, err := notify.New(cfg, notify.Options{Log: env.Log, Acker: acker})
	if err != nil {
		ee := &ExitError{Code: 2, Err: fmt.Errorf("notify %s: %w", file, err)}
		if strings.Contains(err.Error(), "in use by another dispatcher") {
			ee.Hint = "一つの outbox.dir は一つのプロセスだけが使えます。kyojin serve と kyojin tamper watch などには別の outbox.dir の通知設定を指定してください"
		}
		return nil, nil, ee
	}
	return d, cfg, nil
}

// startNotify loads the notification configuration and runs its
// dispatcher (deliveries, retries, digests, escalation ladders) until ctx
// ends. stop cancels nothing: it waits for the dispatcher after ctx is
// done and releases the outbox. acker may be nil when no ladder is used.
func startNotify(ctx context.Context, env *Env, file string, acker notify.Acker) (d *notify.Dispatcher, cfg *notify.Config, stop func(), err error) {
	if d, cfg, err = openNotify(env, file, acker); err != nil {
		return nil, nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			env.Log.Error("notification dispatcher stopped", "err", err)
		}
	}()
	fmt.Fprintf(env.Stdout, "通知: %s（経路 %d、Webhook %d、エスカレーション %d）\n", file, len(cfg.Routes), len(cfg.Webhooks), len(cfg.Ladders))
	return d, cfg, func() {
		<-done
		if err := d.Close(); err != nil {
			env.Log.Warn("notification outbox not released", "err", err)
		}
	}, nil
}
