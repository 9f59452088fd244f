package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/kyojin/kyojin/mailgate"
	"github.com/kyojin/kyojin/mailgate/queue"
)

func init() {
	var cfgFile, dir string
	register(&Command{
		Name:  "mailgate",
		Usage: "serve CONFIG | validate CONFIG | queue list|show|retry|drop [ID] (-c CONFIG | -dir QUEUE_DIR)",
		Short: "メール無害化リレー（インターネットのメールを無害化して LGWAN 側メールサーバへ配送）",
		Long: `serve    設定ファイルに従い SMTP で受信し、送信ドメイン認証（SPF・DKIM・DMARC）、
         無害化（HTML→テキスト、添付ファイルの無害化・隔離）を行い、ディスク上の
         キューに確実に保存してから 250 を返し、下流（LGWAN 側）へ配送します。
validate 設定ファイルを厳密に検査し、問題を file:line:column で報告します。
queue    キューの一覧（list）、内容表示（show ID）、即時再送（retry ID）、削除（drop ID）。
         稼働中のリレーは queue.rescan の間隔で変更を取り込みます。

設定例: docs/mailgate.md`,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&cfgFile, "c", "", "設定ファイル（queue で使用）")
			fs.StringVar(&dir, "dir", "", "キューのディレクトリ（queue で -c の代わりに）")
		},
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) == 0 {
				return usageError("mailgate needs a subcommand: serve, validate or queue")
			}
			switch args[0] {
			case "validate", "serve":
				if len(args) != 2 {
					return usageError("mailgate %s needs exactly one CONFIG", args[0])
				}
				cfg, diags := mailgate.LoadConfig(args[1])
				diags.Write(env.Stderr, env.Lang)
				if cfg == nil {
					errs, _ := diags.Count()
					return &ExitError{Code: 2, Err: fmt.Errorf("%d errors in %s", errs, args[1]), Hint: "docs/mailgate.md で設定の書き方を確認してください"}
				}
				if args[0] == "validate" {
					fmt.Fprintf(env.Stdout, "%s: OK (%d listeners, domains %v, downstream %s)\n", args[1], len(cfg.Listeners), cfg.Domains, cfg.Downstream.Address)
					return nil
				}
				return serveMailgate(env, cfg)
			case "queue":
				return mailgateQueue(env, cfgFile, dir, args[1:])
			}
			return usageError("unknown mailgate subcommand %q", args[0])
		},
	})
}

func serveMailgate(env *Env, cfg *mailgate.Config) error {
	r, err := mailgate.New(cfg, mailgate.Options{Log: env.Log})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := r.Start(ctx); err != nil {
		return err
	}
	for _, a := range r.Addrs() {
		fmt.Fprintf(env.Stdout, "listening %s\n", a)
	}
	<-ctx.Done()
	time.Sleep(200 * time.Millisecond)
	return nil
}

func mailgateQueue(env *Env, cfgFile, dir string, args []string) error {
	if dir == "" {
		if cfgFile == "" {
			return usageError("queue needs -c CONFIG or -dir QUEUE_DIR")
		}
		cfg, diags := mailgate.LoadConfig(cfgFile)
		if cfg == nil {
			diags.Write(env.Stderr, env.Lang)
			return &ExitError{Code: 2, Err: fmt.Errorf("invalid configuration %s", cfgFile)}
		}
		dir = cfg.Queue.Dir
	}
	if len(args) == 0 {
		return usageError("queue needs list, show, retry or drop")
	}
	needID := func() (string, error) {
		if len(args) != 2 || !queue.ValidID(args[1]) {
			return "", usageError("queue %s needs one queue ID", args[0])
		}
		return args[1], nil
	}
	switch args[0] {
	case "list":
		envs, err := queue.List(dir)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRECEIVED\tSIZE\tATTEMPTS\tNEXT\tFROM\tTO\tLAST ERROR")
		for _, e := range envs {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t<%s>\t%v\t%s\n", e.ID, e.Received.Format(time.DateTime), e.Size, e.Attempts, e.NextAttempt.Format(time.DateTime), e.From, e.To, e.LastError)
		}
		tw.Flush()
		fmt.Fprintf(env.Stdout, "%d messages\n", len(envs))
		return nil
	case "show":
		id, err := needID()
		if err != nil {
			return err
		}
		e, m, err := queue.Show(dir, id)
		if err != nil {
			return err
		}
		defer m.Close()
		b, _ := json.MarshalIndent(e, "", "  ")
		fmt.Fprintf(env.Stdout, "%s\n\n", b)
		_, err = io.Copy(env.Stdout, m)
		return err
	case "retry", "drop":
		id, err := needID()
		if err != nil {
			return err
		}
		if args[0] == "retry" {
			err = queue.Retry(dir, id)
		} else {
			err = queue.Drop(dir, id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "%s: %s\n", id, args[0])
		return nil
	}
	return usageError("unknown queue subcommand %q", args[0])
}
