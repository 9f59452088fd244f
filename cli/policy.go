package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kyojin/kyojin/policy"
)

func init() {
	var modelPath, options, assessment, outDir, formats, date string
	register(&Command{
		Name:  "policy",
		Usage: "--model PATH --out DIR [flags]",
		Short: "モデルから情報セキュリティ基本方針（公表用）と対策基準を生成する（DOCX・HTML・PDF）",
		Long: `基本方針（kihon-houshin）と対策基準（taisaku-kijun）を生成します。CISO 等の役割は
モデルの担当者の職名で埋め、対策基準にはネットワークモデル・保有する領域・団体の種類・利用機能に
該当する項目だけを、推奨事項は opt_in で採用したものだけを掲げます。

  kyojin policy --model examples/kakuu-city --options examples/kakuu-city-assessment/policy.yaml --out out/

--options はポリシー設定ファイル（kind: PolicyOptions: opt_in, effective, revisions, instrument）、
--assessment は評価ファイル（その opt_in を使う）。PDF には LibreOffice（soffice）が必要です。`,
		Flags: func(fs *flag.FlagSet) {
			fs.StringVar(&modelPath, "model", "", "モデルのファイルまたはディレクトリ")
			fs.StringVar(&options, "options", "", "ポリシー設定ファイル（kind: PolicyOptions）")
			fs.StringVar(&assessment, "assessment", "", "評価ファイル（opt_in を採用する）")
			fs.StringVar(&outDir, "out", "", "出力ディレクトリ")
			fs.StringVar(&formats, "format", "docx,html,pdf", "出力形式（カンマ区切り）: docx, html, pdf")
			fs.StringVar(&date, "date", "", "施行日 YYYY-MM-DD（省略時は設定ファイルの effective、なければ今日）")
		},
		Run: func(env *Env, _ *flag.FlagSet, args []string) error {
			if len(args) != 0 || modelPath == "" || outDir == "" {
				return usageError("policy: --model PATH と --out DIR を指定してください")
			}
			cat, m, err := loadCatalogAndModel(env, modelPath)
			if err != nil {
				return err
			}
			in := policy.Input{Catalog: cat, Model: m, Date: time.Now()}
			if date != "" {
				if in.Date, err = time.Parse(time.DateOnly, date); err != nil {
					return usageError("--date: YYYY-MM-DD 形式で指定してください")
				}
			}
			if options != "" {
				o, d := policy.LoadOptions(options)
				if o == nil {
					return inputError(env, options, d)
				}
				in.Options = o
			}
			if assessment != "" {
				a, err := loadAssessment(env, cat, m, assessment, nil)
				if err != nil {
					return err
				}
				in.OptIn = a.OptIn
			}
			if err := os.MkdirAll(outDir, 0o755); err != nil {
				return fmt.Errorf("出力先を作れません: %w", err)
			}
			for _, d := range []*policy.Document{policy.Basic(in), policy.Standards(in)} {
				for _, f := range strings.Split(formats, ",") {
					f = strings.TrimSpace(f)
					var write func(io.Writer) error
					switch f {
					case "docx":
						write = func(w io.Writer) error { return policy.WriteDOCX(w, d) }
					case "html":
						write = func(w io.Writer) error { return policy.WriteHTML(w, d) }
					case "pdf":
						write = func(w io.Writer) error { return policy.WritePDF(context.Background(), w, d, 2*time.Minute) }
					default:
						return usageError("policy: 不明な形式 %q（docx, html, pdf）", f)
					}
					path := filepath.Join(outDir, d.Name+"."+f)
					if err := writeOutput(env, path, write); err != nil {
						env.Log.Error("policy output failed", "path", path, "err", err)
						return fmt.Errorf("%s を書き出せません: %w", path, err)
					}
					fmt.Fprintf(env.Stderr, "%s: %s\n", path, d.Title)
				}
			}
			return nil
		},
	})
}
