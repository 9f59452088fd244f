package cli

import (
	"context"
	"flag"
	"fmt"
)

func init() {
	var sf storeFlags
	register(&Command{
		Name:  "db",
		Usage: "[--data DIR | --db postgres://…] migrate|status",
		Short: "コンソールのデータベースのスキーマを更新する（migrate）、状態を表示する（status）",
		Long: `migrate は未適用のマイグレーションを順に適用します（何度実行しても安全です）。
status は各マイグレーションの適用状況を表示します。未適用があれば終了ステータス 1。`,
		Flags: sf.register,
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 || (args[0] != "migrate" && args[0] != "status") {
				return usageError("db needs migrate or status")
			}
			ctx := context.Background()
			s, err := sf.open()
			if err != nil {
				return err
			}
			defer s.Close()
			if args[0] == "migrate" {
				if err := s.Migrate(ctx); err != nil {
					return err
				}
			}
			st, err := s.MigrationStatus(ctx)
			if err != nil {
				return err
			}
			pending := 0
			for _, m := range st {
				state := "適用済み " + m.AppliedAt.Format("2006-01-02 15:04:05Z")
				if env.Lang == "en" {
					state = "applied " + m.AppliedAt.Format("2006-01-02 15:04:05Z")
				}
				if !m.Applied {
					pending++
					state = "未適用"
					if env.Lang == "en" {
						state = "pending"
					}
				}
				fmt.Fprintf(env.Stdout, "%4d  %-24s %s\n", m.Version, m.Name, state)
			}
			if pending > 0 {
				return &ExitError{Code: 1, Err: fmt.Errorf("%d migrations pending", pending), Hint: "kyojin db migrate"}
			}
			return nil
		},
	})
}
