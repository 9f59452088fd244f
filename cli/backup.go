package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/kyojin/kyojin/store"
)

// The guideline's ransomware checklist (backups kept offline, restores
// rehearsed) applies to kyojin's own state too: backup writes every durable
// record to one JSON file, restore loads it into an empty store, and the
// round trip is tested.

func init() {
	var sf storeFlags
	register(&Command{
		Name:  "backup",
		Usage: "[--data DIR | --db postgres://…] FILE",
		Short: "コンソールの状態（利用者、権限、MFA、監査ログ、設定）を FILE にバックアップする",
		Long: `FILE（JSON、権限 0600）に書き出します。セッションとログイン試行は含みません。
TOTP の秘密はデータディレクトリの secret.key で暗号化されたまま書き出されるため、
secret.key も別の媒体に保管してください。インシデントの証拠ファイルも evidence.key で
暗号化されたまま含まれるので、evidence.key も同様に保管してください。既存の FILE は上書きしません。`,
		Flags: sf.register,
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usageError("backup needs exactly one FILE")
			}
			ctx := context.Background()
			s, err := sf.openMigrated(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			snap, err := s.Dump(ctx)
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(snap, "", " ")
			if err != nil {
				return err
			}
			if err := writeNewFile(args[0], append(data, '\n')); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: 利用者 %d、監査ログ %d 件、設定 %d 件\n", args[0], len(snap.Users), len(snap.Audit), len(snap.Settings))
			return nil
		},
	})
	var rf storeFlags
	register(&Command{
		Name:  "restore",
		Usage: "[--data DIR | --db postgres://…] FILE",
		Short: "kyojin backup で作った FILE を空のデータベースに復元する",
		Long:  `復元先は空でなければなりません（既存のデータを上書きしません）。復元後に kyojin audit verify を実行してください。`,
		Flags: rf.register,
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usageError("restore needs exactly one FILE")
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return &ExitError{Code: 2, Err: err}
			}
			var snap store.Snapshot
			if err := json.Unmarshal(data, &snap); err != nil {
				return &ExitError{Code: 2, Err: fmt.Errorf("%s: not a kyojin backup: %w", args[0], err)}
			}
			ctx := context.Background()
			s, err := rf.openMigrated(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			if err := s.Restore(ctx, &snap); err != nil {
				if errors.Is(err, store.ErrNotEmpty) {
					return &ExitError{Code: 1, Err: err, Hint: "restore into a new --data directory or an empty database"}
				}
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: 利用者 %d、監査ログ %d 件を復元しました\n", args[0], len(snap.Users), len(snap.Audit))
			return nil
		},
	})
}

// writeNewFile writes data to a new file with mode 0600 via a temporary
// file and rename, refusing to replace an existing file.
func writeNewFile(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("%s already exists", path)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kyojin-backup-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
