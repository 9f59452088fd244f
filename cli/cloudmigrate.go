package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/kyojin/kyojin/eventstore/pgevents"
)

// cloudMigrate creates or upgrades the PostgreSQL event schema as its
// owner, and grants the role the cloud runs as what it needs and no more
// (row-level security applies to that role; it cannot switch it off).
func cloudMigrate(env *Env, args []string) error {
	fs := flag.NewFlagSet("cloud migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dsn := fs.String("store", "", "postgres:// DSN of the owning role")
	grant := fs.String("grant", "", "role the cloud runs as")
	if err := fs.Parse(args); err != nil || !pgevents.IsDSN(*dsn) || fs.NArg() != 0 {
		return usageError("cloud migrate --store postgres://OWNER@HOST/DB [--grant ROLE]")
	}
	st, err := pgevents.Open(*dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := st.Migrate(ctx); err != nil {
		return err
	}
	if *grant != "" {
		if err := st.Grant(ctx, *grant); err != nil {
			return err
		}
	}
	v, err := st.Version(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "イベント表のスキーマ / event schema: version %d\n", v)
	if *grant != "" {
		fmt.Fprintf(env.Stdout, "権限を付与しました / granted to: %s\n", *grant)
	}
	return nil
}
