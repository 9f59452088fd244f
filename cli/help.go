package cli

import "flag"

func init() {
	register(&Command{
		Name:  "help",
		Usage: "[COMMAND]",
		Short: "コマンドの一覧、または指定したコマンドの説明を表示する",
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) == 0 {
				writeOverview(env)
				return nil
			}
			c, ok := registry[args[0]]
			if !ok {
				return usageError("unknown command %q", args[0])
			}
			writeHelp(env.Stdout, c)
			return nil
		},
	})
}
