package cli

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/report"
)

func init() {
	var (
		out, format, failOn string
		maxRows             int
	)
	register(&Command{
		Name:  "check",
		Usage: "[flags] PATH",
		Short: "三層の分離（マイナンバー利用事務系・LGWAN接続系・インターネット接続系）を検査し、レポートを出力する",
		Long: `PATH のモデルを読み込み（kyojin validate と同じ厳密さ）、対策基準3・付録2（手順1〜3）・
参考5・α/α'/β/β'モデルの要件に基づく検査ルールを適用します。ルールの一覧は docs/rules.md。

出力形式は -o のファイル拡張子（.txt .json .md .html .xlsx）か --format で選びます。
HTML は外部資源を参照しない1ファイルです。XLSX には指摘事項と付録2の3つの一覧
（ネットワーク接続情報・サーバ間接続情報・端末接続情報）が入ります。

PATH が団体ごとのサブディレクトリを並べたディレクトリ（都道府県内の全団体など）のときは、
各団体を検査して団体ごとの件数の一覧（text）または結果の配列（json）を出力します。

終了ステータス: 0 = 検査完了（--fail-on 未満）、1 = --fail-on 以上の指摘あり、2 = モデルの誤り。`,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "o", "-", "出力先ファイル（- は標準出力）")
			fs.StringVar(&format, "format", "", "出力形式: text, json, markdown, html, xlsx（省略時は -o の拡張子から）")
			fs.StringVar(&failOn, "fail-on", "", "この重大度以上の指摘があれば終了ステータス 1: info, low, medium, high, critical")
			fs.IntVar(&maxRows, "max-rows", 0, "HTML・Markdown の一覧表の最大行数（0 は無制限）")
		},
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 1 {
				return usageError("check needs exactly one PATH")
			}
			threshold := check.Severity(-1)
			if failOn != "" {
				s, err := check.ParseSeverity(failOn)
				if err != nil {
					return usageError("%v", err)
				}
				threshold = s
			}
			f := format
			if f == "" {
				var err error
				if f, err = report.FormatFromPath(out); err != nil {
					return usageError("%v", err)
				}
			} else if _, err := report.ParseFormat(f); err != nil {
				return usageError("%v", err)
			}
			if isModelSet(args[0]) {
				return checkSet(env, args[0], f, out, threshold)
			}
			m, diags := loadModel(args[0])
			if m == nil {
				diags.Write(env.Stderr, env.Lang)
				errs, _ := diags.Count()
				return &ExitError{Code: 2, Err: fmt.Errorf("%d errors in %s", errs, args[0]), Hint: "kyojin validate " + args[0]}
			}
			res := check.Run(m)
			opts := report.Options{Lang: env.Lang, Version: Version, Source: args[0], MaxRows: maxRows}
			if err := writeOutput(env, out, func(w io.Writer) error { return report.Write(w, f, res, diags, opts) }); err != nil {
				return err
			}
			if out != "-" {
				s := res.Summary.BySeverity
				fmt.Fprintf(env.Stderr, "%s: %s（重大 %d・高 %d・中 %d・低 %d・情報 %d）\n", out, res.Organization,
					s[check.Critical], s[check.High], s[check.Medium], s[check.Low], s[check.Info])
			}
			if threshold >= 0 && res.Max() >= threshold {
				return &ExitError{Code: 1}
			}
			return nil
		},
	})
}

// writeOutput writes to standard output, or to path atomically: a temporary
// file in the same directory renamed into place, so a failed run never leaves
// a truncated report behind.
func writeOutput(env *Env, path string, write func(io.Writer) error) error {
	if path == "-" {
		bw := bufio.NewWriter(env.Stdout)
		if err := write(bw); err != nil {
			return err
		}
		return bw.Flush()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".kyojin-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	bw := bufio.NewWriter(tmp)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
