package cli

import (
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/kyojin/kyojin/cli.Version=...".
var Version = "0.1.0-dev"

func init() {
	register(&Command{
		Name:  "version",
		Short: "バージョンを表示する",
		Run: func(env *Env, _ *flag.FlagSet, _ []string) error {
			rev := ""
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					if s.Key == "vcs.revision" {
						rev = " " + s.Value
					}
				}
			}
			fmt.Fprintf(env.Stdout, "kyojin %s%s (%s %s/%s)\n", Version, rev, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	})
}
