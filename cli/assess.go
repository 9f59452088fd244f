package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/oscal"
)

func init() {
	register(&Command{
		Name:  "assess",
		Usage: "[flags] --model PATH FILE | export-workbooks | import-workbooks | export-oscal",
		Short: "年度の自己点検（ガイドライン対策基準への適合状況）を評価し、改善計画・例外措置・前年度比を出力する",
		Long: `FILE はその年度の評価ファイル（kind: Assessment）です。モデルから適用される要件を決め
（適用外の要件は理由つきで一覧）、kyojin check の自動検査の指摘で自己申告の「実施」を上書きし、
節ごと・全体の評点、必須の未達を先頭にした一覧、期限超過の改善計画、例外措置と有効期限、
--previous で前年度比を出力します。

  kyojin assess --model examples/kakuu-city examples/kakuu-city-assessment/r8.yaml \
      --previous examples/kakuu-city-assessment/r7.yaml -o report.html

フラグ:
  --model PATH       モデル（必須）
  --previous FILE    前年度の評価ファイル（前年度比と未完了の改善計画の引継ぎ）
  --now YYYY-MM-DD   評価の基準日（省略時は今日。期限超過の判定に使う）
  -o FILE            出力先（.txt .json .html .xlsx、- は標準出力）
  --format F         text, json, html, xlsx
  --operations FILE  セキュリティクラウドの運用の記録（kyojin cloud operations の出力）: モデル規則の
                     検知は該当条項を「未実施」にし、期間中の検知なしは適合の証跡として記載

サブコマンド:
  export-workbooks --model M [--file F] --out DIR   部局ごとの自己点検ワークブックを書き出す
  import-workbooks DIR --model M --into FILE [--year 2026]   記入済みワークブックを取り込む（全件か無し）
  export-oscal --model M FILE [-o out.json]          OSCAL assessment-results として出力

終了ステータス: 0 = 完了、2 = 入力の誤り。`,
		Flags: func(fs *flag.FlagSet) {
			var in assessInputs
			in.flags(fs)
		},
		Subcommands: true,
		Run:         runAssess,
	})
}

// assessInputs are the flags shared by the subcommands that read a model and a file.
type assessInputs struct {
	model, previous, now, out, format string
	operations                        string
}

func (in *assessInputs) flags(fs *flag.FlagSet) {
	fs.StringVar(&in.model, "model", "", "モデルのファイルまたはディレクトリ")
	fs.StringVar(&in.previous, "previous", "", "前年度の評価ファイル")
	fs.StringVar(&in.now, "now", "", "基準日 YYYY-MM-DD（省略時は今日）")
	fs.StringVar(&in.out, "o", "-", "出力先ファイル（- は標準出力）")
	fs.StringVar(&in.format, "format", "", "出力形式: text, json, html, xlsx")
	fs.StringVar(&in.operations, "operations", "", "セキュリティクラウドの運用の記録（kyojin cloud operations の出力）")
}

// evaluate loads everything and evaluates file at --now.
func (in *assessInputs) evaluate(env *Env, file string) (*assess.Result, error) {
	now, err := in.nowTime()
	if err != nil {
		return nil, err
	}
	return loadAndEvaluate(env, in.model, file, in.previous, now, in.operations)
}

// inherit takes the values of flags given before the subcommand as defaults.
func inherit(top, sub *flag.FlagSet) {
	if top == nil {
		return
	}
	top.Visit(func(f *flag.Flag) {
		if sf := sub.Lookup(f.Name); sf != nil {
			_ = sf.Value.Set(f.Value.String())
		}
	})
}

func (in *assessInputs) nowTime() (time.Time, error) {
	if in.now == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, in.now)
	if err != nil {
		return time.Time{}, usageError("--now: YYYY-MM-DD 形式で指定してください: %q", in.now)
	}
	return t, nil
}

func runAssess(env *Env, top *flag.FlagSet, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "export-workbooks":
			return assessExportWorkbooks(env, top, args[1:])
		case "import-workbooks":
			return assessImportWorkbooks(env, top, args[1:])
		case "export-oscal":
			return assessExportOSCAL(env, top, args[1:])
		}
	}
	var in assessInputs
	fs := flag.NewFlagSet("assess", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in.flags(fs)
	inherit(top, fs)
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeHelp(env.Stdout, registry["assess"])
			return nil
		}
		return usageError("assess: %v", err)
	}
	if len(rest) != 1 || in.model == "" {
		return usageError("assess: --model PATH と評価ファイルを一つ指定してください")
	}
	format := in.format
	if format == "" {
		if format, err = assess.FormatFromPath(in.out); err != nil {
			return usageError("%v", err)
		}
	}
	res, err := in.evaluate(env, rest[0])
	if err != nil {
		return err
	}
	if err := writeOutput(env, in.out, func(w io.Writer) error { return assess.Write(w, format, res, env.Lang) }); err != nil {
		return err
	}
	if in.out != "-" {
		fmt.Fprintf(env.Stderr, "%s: %s %s 総合評点 %.1f%%（未達 %d 件）\n", in.out, res.Organization, res.Year.Label(env.Lang), res.Overall.Percent, len(res.Gaps))
	}
	return nil
}

// inputError prints diagnostics and returns exit status 2.
func inputError(env *Env, what string, d diag.List) error {
	d.Write(env.Stderr, env.Lang)
	n, _ := d.Count()
	return &ExitError{Code: 2, Err: fmt.Errorf("%s: %d 件のエラー", what, n)}
}

func loadCatalogAndModel(env *Env, path string) (*catalog.Catalog, *model.Model, error) {
	cat, err := catalog.Default()
	if err != nil {
		env.Log.Error("catalog data does not load", "err", err)
		return nil, nil, fmt.Errorf("カタログデータを読み込めません: %w", err)
	}
	m, err := loadModelOrReport(env, path)
	return cat, m, err
}

func loadModelOrReport(env *Env, path string) (*model.Model, error) {
	m, d := loadModel(path)
	if m == nil {
		return nil, inputError(env, path, d)
	}
	return m, nil
}

func loadAssessment(env *Env, cat *catalog.Catalog, m *model.Model, path string, prev *assess.Assessment) (*assess.Assessment, error) {
	a, d := readAssessment(path)
	if a != nil {
		d.Append(assess.Validate(cat, m, a, prev))
	}
	if a == nil || d.HasErrors() {
		return nil, inputError(env, path, d)
	}
	d.Write(env.Stderr, env.Lang) // warnings
	return a, nil
}

func loadAndEvaluate(env *Env, modelPath, file, previous string, now time.Time, operations string) (*assess.Result, error) {
	cat, err := catalog.Default()
	if err != nil {
		env.Log.Error("catalog data does not load", "err", err)
		return nil, fmt.Errorf("カタログデータを読み込めません: %w", err)
	}
	m, err := loadModelOrReport(env, modelPath)
	if err != nil {
		return nil, err
	}
	var prev *assess.Assessment
	if previous != "" {
		if prev, err = loadAssessment(env, cat, m, previous, nil); err != nil {
			return nil, err
		}
	}
	a, err := loadAssessment(env, cat, m, file, prev)
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.FiscalYear >= a.FiscalYear {
		return nil, usageError("--previous の年度（%s）が評価ファイルの年度（%s）より前ではありません", prev.FiscalYear.Label("ja"), a.FiscalYear.Label("ja"))
	}
	var ops *assess.Operations
	if operations != "" {
		if ops, err = assess.ReadOperations(operations, cat); err != nil {
			return nil, &ExitError{Code: 2, Err: err}
		}
		if ops.Organization != "" && m.Org != nil && ops.Organization != string(m.Org.Code) {
			return nil, usageError("--operations の団体コード %s がモデル（%s）と一致しません", ops.Organization, m.Org.Code)
		}
	}
	return assess.Evaluate(assess.Input{Catalog: cat, Model: m, Check: check.Run(m), Assessment: a, Previous: prev, Now: now, Operations: ops}), nil
}

func assessExportWorkbooks(env *Env, top *flag.FlagSet, args []string) error {
	var in assessInputs
	var outDir, file string
	var year int
	fs := flag.NewFlagSet("assess export-workbooks", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in.flags(fs)
	inherit(top, fs)
	fs.StringVar(&outDir, "out", "", "")
	fs.StringVar(&file, "file", "", "")
	fs.IntVar(&year, "year", 0, "")
	rest, err := parseInterspersed(fs, args)
	if err != nil || len(rest) != 0 || in.model == "" || outDir == "" {
		return usageError("assess export-workbooks: --model PATH --out DIR [--file 評価ファイル] [--year 2026] を指定してください")
	}
	cat, m, err := loadCatalogAndModel(env, in.model)
	if err != nil {
		return err
	}
	var prefill *assess.Assessment
	fy := assess.FiscalYear(year)
	if file != "" {
		if prefill, err = loadAssessment(env, cat, m, file, nil); err != nil {
			return err
		}
		if fy == 0 {
			fy = prefill.FiscalYear
		}
	}
	if fy == 0 {
		now, err := in.nowTime()
		if err != nil {
			return err
		}
		fy = assess.FiscalYearOf(now)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return fmt.Errorf("出力先を作れません: %w", err)
	}
	for _, u := range assess.Units(cat, m) {
		if len(u.Requirements) == 0 {
			continue
		}
		path := filepath.Join(outDir, assess.WorkbookName(u, fy))
		if err := writeOutput(env, path, func(w io.Writer) error { return assess.WriteWorkbook(w, cat, m, u, fy, prefill) }); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		fmt.Fprintf(env.Stderr, "%s: %s（%d 項目）\n", path, u.Name, len(u.Requirements))
	}
	return nil
}

func assessImportWorkbooks(env *Env, top *flag.FlagSet, args []string) error {
	var in assessInputs
	var into string
	fs := flag.NewFlagSet("assess import-workbooks", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in.flags(fs)
	inherit(top, fs)
	fs.StringVar(&into, "into", "", "")
	rest, err := parseInterspersed(fs, args)
	if err != nil || len(rest) != 1 || in.model == "" || into == "" {
		return usageError("assess import-workbooks: DIR --model PATH --into 評価ファイル を指定してください")
	}
	cat, m, err := loadCatalogAndModel(env, in.model)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(rest[0], "*.xlsx"))
	if err != nil || len(files) == 0 {
		return usageError("assess import-workbooks: %s に .xlsx がありません", rest[0])
	}
	var base *assess.Assessment
	if _, err := os.Stat(into); err == nil {
		if base, err = loadAssessment(env, cat, m, into, nil); err != nil {
			return err
		}
	}
	res, errs := assess.ImportWorkbooks(cat, m, base, files)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(env.Stderr, e.Error())
		}
		return &ExitError{Code: 2, Err: fmt.Errorf("%d 件のエラー: 何も取り込んでいません（%s は変更していません）", len(errs), into)}
	}
	if err := writeOutput(env, into, func(w io.Writer) error { _, err := w.Write(assess.Encode(cat, res)); return err }); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "%s: %d 冊のワークブックから %d 項目を取り込みました\n", into, len(files), len(res.Requirements))
	return nil
}

func assessExportOSCAL(env *Env, top *flag.FlagSet, args []string) error {
	var in assessInputs
	fs := flag.NewFlagSet("assess export-oscal", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	in.flags(fs)
	inherit(top, fs)
	rest, err := parseInterspersed(fs, args)
	if err != nil || len(rest) != 1 || in.model == "" {
		return usageError("assess export-oscal: --model PATH 評価ファイル [-o FILE] を指定してください")
	}
	res, err := in.evaluate(env, rest[0])
	if err != nil {
		return err
	}
	cat, _ := catalog.Default()
	return writeOutput(env, in.out, func(w io.Writer) error { return writeJSON(w, oscal.AssessmentResultsOf(cat, res)) })
}
