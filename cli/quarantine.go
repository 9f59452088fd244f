package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/user"

	"github.com/kyojin/kyojin/audit"
)

func init() {
	register(&Command{
		Name:  "quarantine",
		Usage: "[--policy FILE] list | show REF | release REF --reason TEXT -o FILE | purge [--all]",
		Short: "無害化前の原本（暗号化隔離保管）を一覧・表示・払い出し・削除する",
		Long: `原本は AES-256-GCM で暗号化され、ポリシーの quarantine.dir に保管期間だけ保存されます。
払い出し（release）には理由が必須で、release.log と、コンソールの改ざん検知可能な
監査ログ（--data / --db のストア）の両方に記録されます。監査ログに記録できなければ
払い出しは取り消されます。
purge は保管期間を過ぎたものを削除します（--all ですべて）。`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("policy", "", "policy YAML file naming the quarantine (default: the embedded policy)")
			fs.String("reason", "", "why the original is released (required for release)")
			fs.String("o", "", "where to write the released original (must not exist)")
			fs.Bool("all", false, "purge every item, not only expired ones")
			fs.Bool("json", false, "JSON output")
			quarantineAudit.register(fs)
		},
		Run: runQuarantine,
	})
}

// quarantineAudit names the console's store, whose hash-chained audit log
// records every release (issue: releases from quarantine are audited).
var quarantineAudit storeFlags

func runQuarantine(env *Env, fs *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		return usageError("need a subcommand: list, show, release or purge")
	}
	p, err := loadPolicy(env, flagString(fs, "policy"))
	if err != nil {
		return err
	}
	store, err := openVault(p)
	if err != nil {
		return err
	}
	jsonOut := flagBool(fs, "json")
	emit := func(v any) {
		b, _ := json.MarshalIndent(v, "", "  ")
		fmt.Fprintln(env.Stdout, string(b))
	}
	switch args[0] {
	case "list":
		items, err := store.List()
		if err != nil {
			return err
		}
		if jsonOut {
			emit(items)
			return nil
		}
		for _, it := range items {
			fmt.Fprintf(env.Stdout, "%s  %s  %-9s %10d  %s\n", it.Ref, it.Stored.Local().Format("2006-01-02 15:04"), it.Verdict, it.Size, it.Name)
		}
		return nil
	case "show":
		if len(args) != 2 {
			return usageError("show needs REF")
		}
		it, err := store.Get(args[1])
		if err != nil {
			return err
		}
		emit(it)
		return nil
	case "release":
		if len(args) != 2 {
			return usageError("release needs REF")
		}
		reason, dest := flagString(fs, "reason"), flagString(fs, "o")
		if reason == "" {
			return &ExitError{Code: 2, Err: fmt.Errorf("release needs --reason"), Hint: `kyojin quarantine release REF --reason "課長承認 No.123" -o FILE`}
		}
		if dest == "" {
			return usageError("release needs -o FILE")
		}
		ctx := context.Background()
		st, err := quarantineAudit.openMigrated(ctx)
		if err != nil {
			return fmt.Errorf("open the audit log: %w", err)
		}
		defer st.Close()
		rel, err := store.Release(args[1], dest, operator(), reason)
		if err != nil {
			return err
		}
		// The release counts only once it is in the audit chain; otherwise
		// take the released copy back.
		if _, err := audit.New(st).Append(ctx, audit.Event{Actor: operator(), Action: audit.QuarantineRelease, Target: rel.Ref,
			Details: map[string]any{"dest": rel.Dest, "reason": reason}}); err != nil {
			os.Remove(rel.Dest)
			env.Log.Error("quarantine release not audited; released copy removed", "ref", rel.Ref, "err", err)
			return fmt.Errorf("release of %s could not be audited and was undone", rel.Ref)
		}
		if jsonOut {
			emit(rel)
		} else if env.Lang == "en" {
			fmt.Fprintf(env.Stdout, "released %s to %s (recorded in release.log)\n", rel.Ref, rel.Dest)
		} else {
			fmt.Fprintf(env.Stdout, "%s を %s に払い出しました（release.log に記録）\n", rel.Ref, rel.Dest)
		}
		return nil
	case "purge":
		gone, err := store.Purge(flagBool(fs, "all"))
		if err != nil {
			return err
		}
		if jsonOut {
			emit(gone)
		} else {
			fmt.Fprintf(env.Stdout, "%d 件削除しました / purged %d\n", len(gone), len(gone))
		}
		return nil
	}
	return usageError("unknown subcommand %q", args[0])
}

// operator names who released an original, for the release log.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
}
