package cli

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/store"
)

// roleFlags collects repeated --role ROLE[=SCOPE] flags.
type roleFlags []string

func (r *roleFlags) String() string     { return strings.Join(*r, ",") }
func (r *roleFlags) Set(s string) error { *r = append(*r, s); return nil }

// parseGrants turns "security-officer=department:somu" into grants.
func parseGrants(specs []string) ([]store.Grant, error) {
	var out []store.Grant
	for _, s := range specs {
		role, scope, _ := strings.Cut(s, "=")
		g := store.Grant{Role: role, Scope: scope}
		if err := auth.ValidateGrant(g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// GeneratePassword returns a random password (see auth.GeneratePassword).
func GeneratePassword() string { return auth.GeneratePassword() }

// services opens the store and builds the authentication service with the
// sealing key from the data directory.
func (f *storeFlags) services(ctx context.Context, env *Env) (store.Store, *auth.Service, error) {
	s, err := f.openMigrated(ctx)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := auth.LoadOrCreateKey(filepath.Join(f.data, "secret.key"))
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, auth.NewService(s, audit.New(s), sealer, env.Log), nil
}

func init() {
	var sf storeFlags
	var name, display string
	var roles roleFlags
	var fromStdin bool
	register(&Command{
		Name:  "admin",
		Usage: "[flags] create --name NAME --role ROLE[=SCOPE]... [--password-stdin]",
		Short: "コンソールの利用者を作成する（既定のパスワードはありません）",
		Long: `最初の管理者はこのコマンドで作成します。--password-stdin を付けると標準入力の 1 行目を
パスワードとして使い、付けなければ無作為なパスワードを生成して一度だけ表示します。
特権ロール（職員以外）は初回ログイン時に MFA（TOTP またはセキュリティキー）の登録が必要です。
ロール: ciso, chief-officer, security-officer=department:ID, security-manager=division:ID,
system-administrator=system:ID, staff, auditor`,
		Flags: func(fs *flag.FlagSet) {
			sf.register(fs)
			roles = nil // Flags runs once per invocation; the slice must not accumulate
			fs.StringVar(&name, "name", "", "ログイン名（a-z 0-9 - _ .）")
			fs.StringVar(&display, "display", "", "表示名")
			fs.Var(&roles, "role", "ロール ROLE[=SCOPE]（複数指定可）")
			fs.BoolVar(&fromStdin, "password-stdin", false, "パスワードを標準入力から読む")
		},
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 || args[0] != "create" {
				return usageError("admin needs the subcommand create")
			}
			if name == "" || len(roles) == 0 {
				return usageError("admin create needs --name and at least one --role")
			}
			grants, err := parseGrants(roles)
			if err != nil {
				return usageError("%v", err)
			}
			password, generated := "", false
			if fromStdin {
				line, err := bufio.NewReader(env.Stdin).ReadString('\n')
				if err != nil && line == "" {
					return usageError("no password on standard input")
				}
				password = strings.TrimRight(line, "\r\n")
			} else {
				password, generated = GeneratePassword(), true
			}
			ctx := context.Background()
			s, svc, err := sf.services(ctx, env)
			if err != nil {
				return err
			}
			defer s.Close()
			u, err := svc.CreateUser(ctx, "cli", name, display, password, grants)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "利用者 %s を作成しました（ロール: %s）\n", u.Name, roles.String())
			if generated {
				// Printed exactly once; kyojin keeps only the argon2id hash.
				fmt.Fprintf(env.Stdout, "初期パスワード（この表示は一度だけです）: %s\n", password)
			}
			if auth.GrantsPrivileged(grants) {
				fmt.Fprintln(env.Stdout, "初回ログイン時に MFA の登録が必要です。")
			}
			return nil
		},
	})
}
