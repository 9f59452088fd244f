package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kyojin/kyojin/clamd"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/quarantine"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/std"
)

func init() {
	register(&Command{
		Name:  "sanitize",
		Usage: "[flags] IN... -o OUTDIR | policy-check FILE... | policy-default",
		Short: "インターネット系から LGWAN 系へ渡すファイルを無害化する",
		Long: `ファイルの本当の形式を中身から判定し、ポリシーに従って無害化（再構成・変換）、
保留または遮断します。出力は独立した検査器で再検査し、clamd でウイルス検査し、
原本は暗号化して隔離保管します（ガイドライン 3(2)）。

  kyojin sanitize -o OUTDIR [--policy FILE] [--json] IN...
  kyojin sanitize policy-check FILE...   ポリシーを検証する
  kyojin sanitize policy-default         既定ポリシーを表示する

終了コード: 0 すべて引き渡し可（CLEAN/SANITIZED/CONVERTED）, 1 引き渡せないファイルあり, 2 入力・設定の誤り`,
		Flags: func(fs *flag.FlagSet) {
			fs.String("o", "", "output directory (required)")
			fs.String("policy", "", "policy YAML file (default: the embedded strict policy)")
			fs.Bool("json", false, "print audit records as JSON lines instead of the summary")
			fs.String("audit", "", "append audit records (JSON lines) to this file")
			fs.String("clamd", "", "clamd address, overriding the policy (unix:/path or host:port)")
		},
		Run: runSanitize,
	})
}

func flagString(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }
func flagBool(fs *flag.FlagSet, name string) bool     { return fs.Lookup(name).Value.String() == "true" }

// loadPolicy reads the policy file, or the embedded default when file is "".
func loadPolicy(env *Env, file string) (*sanitize.Policy, error) {
	if file == "" {
		return sanitize.DefaultPolicy(), nil
	}
	p, err := sanitize.LoadPolicy(file)
	var le *diag.ListError
	if errors.As(err, &le) {
		le.List.Write(env.Stderr, env.Lang)
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("policy %s is invalid", file), Hint: "kyojin sanitize policy-default > policy.yaml で既定ポリシーを出力し、編集してください"}
	}
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err}
	}
	return p, nil
}

// openVault opens the quarantine the policy names.
func openVault(p *sanitize.Policy) (*quarantine.Store, error) {
	key, err := quarantine.LoadKey(p.Quarantine.KeyFile, p.Quarantine.KeyEnv)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err,
			Hint: "隔離保管の鍵を設定してください（例: export KYOJIN_QUARANTINE_KEY=$(openssl rand -hex 32)）"}
	}
	s, err := quarantine.Open(p.Quarantine.Dir, key, p.Quarantine.Retention)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: err, Hint: "ポリシーの quarantine.dir を書き込み可能な場所にしてください"}
	}
	return s, nil
}

func runSanitize(env *Env, fs *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "policy-check":
			return policyCheck(env, args[1:])
		case "policy-default":
			_, err := env.Stdout.Write(sanitize.DefaultPolicyYAML())
			return err
		}
	}
	outDir := flagString(fs, "o")
	if outDir == "" || len(args) == 0 {
		return usageError("need input files and -o OUTDIR")
	}
	p, err := loadPolicy(env, flagString(fs, "policy"))
	if err != nil {
		return err
	}
	if a := flagString(fs, "clamd"); a != "" {
		p.Clamd.Address = a
	}
	cfg := sanitize.Config{Policy: p, Log: env.Log}
	if p.Clamd.Enabled {
		c, err := clamd.New(p.Clamd.Address, p.Clamd.Timeout)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		cfg.Scanner = c
	}
	if p.Quarantine.Enabled {
		s, err := openVault(p)
		if err != nil {
			return err
		}
		cfg.Vault = s
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	tmp, err := os.MkdirTemp(outDir, ".kyojin-tmp-")
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	defer os.RemoveAll(tmp)
	cfg.TempDir = tmp
	cfg.Handlers, cfg.Inspectors = std.Handlers(tmp), std.Inspectors(tmp)
	eng, err := sanitize.New(cfg)
	if err != nil {
		return &ExitError{Code: 2, Err: err}
	}
	var audit io.Writer
	if a := flagString(fs, "audit"); a != "" {
		f, err := os.OpenFile(a, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		defer f.Close()
		audit = f
	}
	jsonOut := flagBool(fs, "json")
	undelivered := 0
	for _, in := range args {
		rec, dest, err := sanitizeOne(eng, in, outDir, audit, env.Stdout, jsonOut)
		if err != nil {
			fmt.Fprintf(env.Stderr, "%s: %v\n", in, err)
			undelivered++
			continue
		}
		if !jsonOut {
			printSummary(env, in, rec, dest)
		}
		switch rec.Verdict {
		case sanitize.VerdictClean, sanitize.VerdictSanitized, sanitize.VerdictConverted:
		default:
			undelivered++
		}
	}
	if undelivered > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

func sanitizeOne(eng *sanitize.Engine, in, outDir string, audit, stdout io.Writer, jsonOut bool) (*sanitize.Record, string, error) {
	f, err := os.Open(in)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !st.Mode().IsRegular() {
		return nil, "", errors.New("not a regular file")
	}
	out, err := eng.Process(context.Background(), sanitize.Submission{Name: filepath.Base(in), R: f, Size: st.Size()})
	if err != nil {
		return nil, "", err
	}
	defer out.Close()
	dest := ""
	if out.Output != nil {
		dest, err = deliver(out, outDir)
		if err != nil {
			return nil, "", err
		}
	}
	for _, r := range out.Records {
		line, _ := json.Marshal(r)
		if audit != nil {
			audit.Write(append(line, '\n'))
		}
		if jsonOut {
			stdout.Write(append(line, '\n'))
		}
	}
	return out.Record(), dest, nil
}

// deliver copies the output to outDir under its output name, never
// overwriting: name.ext, name-2.ext, ...
func deliver(out *sanitize.Outcome, outDir string) (string, error) {
	ext := filepath.Ext(out.OutName)
	base := strings.TrimSuffix(out.OutName, ext)
	for i := 1; i < 1000; i++ {
		name := out.OutName
		if i > 1 {
			name = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		dest := filepath.Join(outDir, name)
		f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = io.Copy(f, io.NewSectionReader(out.Output, 0, out.Record().SizeOut))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(dest)
			return "", err
		}
		return dest, nil
	}
	return "", errors.New("too many files with the same name in the output directory")
}

var verdictText = map[sanitize.Verdict]diag.Text{
	sanitize.VerdictClean:     diag.T("問題なし", "clean"),
	sanitize.VerdictSanitized: diag.T("無害化済み", "sanitized"),
	sanitize.VerdictConverted: diag.T("変換済み", "converted"),
	sanitize.VerdictHeld:      diag.T("保留（暗号化などのため）", "held"),
	sanitize.VerdictBlocked:   diag.T("遮断", "blocked"),
	sanitize.VerdictFailed:    diag.T("処理失敗のため遮断", "failed (blocked)"),
	sanitize.VerdictPartial:   diag.T("一部を除去して引き渡し", "partially delivered"),
}

var reasonText = map[string]diag.Text{
	sanitize.ReasonPolicy:      diag.T("ポリシーで許可されていない形式です", "the policy does not admit this type"),
	sanitize.ReasonName:        diag.T("ファイル名が不正です", "the file name is not acceptable"),
	sanitize.ReasonTooLarge:    diag.T("サイズが上限を超えています", "the file is too large"),
	sanitize.ReasonLimit:       diag.T("処理上限（展開サイズ・圧縮率・階層・画素数など）を超えました", "a processing limit was exceeded"),
	sanitize.ReasonRejected:    diag.T("危険な構造が含まれています", "a hostile structure was found"),
	sanitize.ReasonEncrypted:   diag.T("暗号化されているため中身を検査できません", "encrypted content cannot be inspected"),
	sanitize.ReasonHandler:     diag.T("ファイルを解析できませんでした", "the file could not be parsed"),
	sanitize.ReasonTimeout:     diag.T("処理時間の上限を超えました", "the time limit was exceeded"),
	sanitize.ReasonPanic:       diag.T("処理中に異常が発生しました", "the handler crashed"),
	sanitize.ReasonNoHandler:   diag.T("この形式の無害化処理が組み込まれていません", "no handler is wired for this type"),
	sanitize.ReasonNoInspector: diag.T("出力を検査する手段がありません", "no inspector for the output"),
	sanitize.ReasonInspection:  diag.T("無害化後の検査で能動的な内容が見つかりました", "the output check found active content"),
	sanitize.ReasonVirus:       diag.T("ウイルスが検出されました", "a virus was found"),
	sanitize.ReasonScanError:   diag.T("ウイルス検査ができませんでした", "the virus scan was unavailable"),
	sanitize.ReasonQuarantine:  diag.T("原本を隔離保管できませんでした", "the original could not be quarantined"),
	sanitize.ReasonMembers:     diag.T("アーカイブの一部のファイルを除去しました", "some archive members were withheld"),
	sanitize.ReasonNotText:     diag.T("allow は UTF-8 のテキストにだけ使えます", "allow applies to UTF-8 text only"),
	sanitize.ReasonBudget:      diag.T("アーカイブ全体の展開量が上限を超えました", "the archive's total decompressed size is over the limit"),
	sanitize.ReasonInternal:    diag.T("内部エラー", "internal error"),
}

func printSummary(env *Env, in string, rec *sanitize.Record, dest string) {
	w := env.Stdout
	fmt.Fprintf(w, "%s: %s (%s)", in, verdictText[rec.Verdict].In(env.Lang), rec.Verdict)
	if dest != "" {
		fmt.Fprintf(w, " → %s", dest)
	}
	fmt.Fprintln(w)
	label := map[bool][3]string{true: {"理由", "処理", "種別"}, false: {"reason", "actions", "type"}}[env.Lang != "en"]
	fmt.Fprintf(w, "  %s: %s", label[2], rec.Detected)
	if rec.OutType != "" && rec.OutType != rec.Detected {
		fmt.Fprintf(w, " → %s", rec.OutType)
	}
	fmt.Fprintln(w)
	if rec.ReasonCode != "" {
		fmt.Fprintf(w, "  %s: %s [%s: %s]\n", label[0], reasonText[rec.ReasonCode].In(env.Lang), rec.ReasonCode, rec.Reason)
	}
	if len(rec.Actions) > 0 {
		parts := make([]string, 0, len(rec.Actions))
		for _, a := range rec.Actions {
			parts = append(parts, fmt.Sprintf("%s %s ×%d", a.Kind, a.Object, a.Count))
		}
		fmt.Fprintf(w, "  %s: %s\n", label[1], strings.Join(parts, "; "))
	}
}

func policyCheck(env *Env, files []string) error {
	if len(files) == 0 {
		return usageError("policy-check needs at least one FILE")
	}
	bad := false
	for _, f := range files {
		p, err := sanitize.LoadPolicy(f)
		var le *diag.ListError
		switch {
		case errors.As(err, &le):
			le.List.Write(env.Stderr, env.Lang)
			bad = true
		case err != nil:
			fmt.Fprintf(env.Stderr, "%s: %v\n", f, err)
			bad = true
		default:
			if env.Lang == "en" {
				fmt.Fprintf(env.Stdout, "%s: OK (policy %s version %s)\n", f, p.Name, p.Version)
			} else {
				fmt.Fprintf(env.Stdout, "%s: 問題ありません（ポリシー %s 版 %s）\n", f, p.Name, p.Version)
			}
		}
	}
	if bad {
		return &ExitError{Code: 2}
	}
	return nil
}
