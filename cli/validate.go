package cli

import (
	"flag"
	"fmt"
)

func init() {
	register(&Command{
		Name:  "validate",
		Usage: "PATH",
		Short: "モデル（YAML ファイルまたはディレクトリ）を厳密に読み込み、問題をすべて報告する",
		Long: `PATH の YAML（apiVersion: kyojin/v1）を読み込み、未知のフィールド、型の誤り、
未定義の参照、ID の重複、サブネットの重なり、団体コードの検査数字などを
一度にすべて file:line:column の形で報告します。
エラーがあれば終了ステータス 2、警告だけなら 0 です。`,
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usageError("validate needs exactly one PATH")
			}
			m, diags := loadModel(args[0])
			diags.Write(env.Stderr, env.Lang)
			if m == nil {
				errs, _ := diags.Count()
				return &ExitError{Code: 2, Err: fmt.Errorf("%d errors in %s", errs, args[0]), Hint: "docs/model.md でフィールドの書き方を確認してください"}
			}
			_, warns := diags.Count()
			if env.Lang == "en" {
				fmt.Fprintf(env.Stdout, "%s: OK (%d warnings): %s, %d zones, %d systems, %d hosts, %d flows\n",
					args[0], warns, m.Org.Name, len(m.Zones), len(m.Systems), len(m.Hosts), len(m.Flows))
			} else {
				fmt.Fprintf(env.Stdout, "%s: 問題なし（警告 %d 件）: %s、ゾーン %d、システム %d、ホスト %d、通信 %d\n",
					args[0], warns, m.Org.Name, len(m.Zones), len(m.Systems), len(m.Hosts), len(m.Flows))
			}
			return nil
		},
	})
}
