package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/store"
)

func init() {
	var sf storeFlags
	var format, actor, action, since, until string
	var asJSON bool
	register(&Command{
		Name:  "audit",
		Usage: "[flags] verify | export [FILE]",
		Short: "監査ログのハッシュチェーンを検証する（verify）、CSV/JSON で書き出す（export）",
		Long: `verify は監査ログの全エントリのハッシュと連鎖を検証し、改ざん（変更・削除・並べ替え）を
検出すると終了ステータス 1 で報告します。表示される先頭ハッシュ（head）を別の場所に控えておくと、
ログ全体の書き換えも検出できます。
export は条件に合うエントリを FILE（省略時は標準出力）に書き出します。`,
		Flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			fs.StringVar(&format, "format", "csv", "export の形式: csv または json")
			fs.StringVar(&actor, "actor", "", "export: 操作者で絞り込む")
			fs.StringVar(&action, "action", "", "export: 操作（前方一致、例 login）で絞り込む")
			fs.StringVar(&since, "since", "", "export: この日時以降（RFC 3339 または YYYY-MM-DD）")
			fs.StringVar(&until, "until", "", "export: この日時より前（RFC 3339 または YYYY-MM-DD）")
			fs.BoolVar(&asJSON, "json", false, "verify: 結果を JSON で出力する")
		},
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) == 0 {
				return usageError("audit needs verify or export")
			}
			ctx := context.Background()
			switch args[0] {
			case "verify":
				if len(args) != 1 {
					return usageError("audit verify takes no arguments")
				}
				s, err := sf.openMigrated(ctx)
				if err != nil {
					return err
				}
				defer s.Close()
				return auditVerify(env, s, asJSON)
			case "export":
				if len(args) > 2 {
					return usageError("audit export takes at most one FILE")
				}
				f := store.AuditFilter{Actor: actor, Action: action}
				var err error
				if f.Since, err = parseWhen(since); err != nil {
					return usageError("--since: %v", err)
				}
				if f.Until, err = parseWhen(until); err != nil {
					return usageError("--until: %v", err)
				}
				if format != "csv" && format != "json" {
					return usageError("--format must be csv or json")
				}
				s, err := sf.openMigrated(ctx)
				if err != nil {
					return err
				}
				defer s.Close()
				entries, err := s.AuditEntries(ctx, f)
				if err != nil {
					return err
				}
				var w io.Writer = env.Stdout
				if len(args) == 2 && args[1] != "-" {
					file, err := os.OpenFile(args[1], os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
					if err != nil {
						return &ExitError{Code: 2, Err: err}
					}
					defer file.Close()
					w = file
				}
				if format == "json" {
					return audit.WriteJSON(w, entries)
				}
				return audit.WriteCSV(w, entries)
			}
			return usageError("unknown audit subcommand %q (verify or export)", args[0])
		},
	})
}

func auditVerify(env *Env, s store.Store, asJSON bool) error {
	r, err := audit.Verify(context.Background(), s)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		for _, p := range r.Problems {
			label := "改ざん"
			if p.Warning {
				label = "警告"
			}
			if env.Lang == "en" {
				label = "TAMPERED"
				if p.Warning {
					label = "warning"
				}
			}
			fmt.Fprintf(env.Stdout, "%s: seq %d: %s: %s\n", label, p.Seq, p.Kind, p.Message)
		}
		if env.Lang == "en" {
			fmt.Fprintf(env.Stdout, "%d entries, head %d:%s\n", r.Entries, r.HeadSeq, r.HeadHash)
		} else {
			fmt.Fprintf(env.Stdout, "エントリ %d 件、head %d:%s\n", r.Entries, r.HeadSeq, r.HeadHash)
		}
	}
	if !r.OK() {
		return &ExitError{Code: 1, Err: fmt.Errorf("audit log failed verification (%d problems)", len(r.Problems))}
	}
	return nil
}

func parseWhen(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.ParseInLocation("2006-01-02", s, time.Local)
}
