package cli

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/oscal"
)

func init() {
	register(&Command{
		Name:  "catalog",
		Usage: "list [flags] | show [--json] ID | export-oscal [-o FILE]",
		Short: "ガイドライン対策基準と関連チェックリストの項目を一覧・表示する",
		Long: `項目はガイドラインの番号で指定します（例: 1(1)②、6.1(14)③、3(2)@R2.12）。
シェルでは括弧を含む ID を引用符で囲んでください: kyojin catalog show '6.1(14)③'
全角の数字・括弧でも指定できます。

list のフラグ:
  --catalog guideline|ransomware|resilience|vendor   カタログを絞る
  --section S          節（6 は 6.1〜6.6 を含む、6.1 はその項のみ）
  --obligation mandatory|recommended
  --edition H30.9|R2.12|R4.3|R6.10|R7.3   その版に存在する項目のみ
  --model alpha|alpha-prime|beta|beta-prime   自団体のモデルに適用される項目のみ
  --org prefecture|city|special-ward|town|village|association
  --feature uses-cloud,telework,...   利用している機能（指定すると未利用機能の項目を除外）
  --zone mynumber,lgwan,internet       保有する領域（指定すると他領域の項目を除外）
  --explain            適用外となった項目と理由も表示
  --json               JSON で出力

export-oscal: カタログ全体を OSCAL 1.1.2 の catalog JSON で出力（対応は docs/oscal.md）`,
		Flags: func(fs *flag.FlagSet) {
			fs.Bool("json", false, "JSON で出力する")
		},
		Subcommands: true,
		Run:         runCatalog,
	})
}

// catalogListFlags are parsed by the list subcommand itself, after the subcommand name.
type catalogListFlags struct {
	kind, section, obligation, edition, model, org, features, zones string
	explain, json                                                   bool
}

func runCatalog(env *Env, fs *flag.FlagSet, args []string) error {
	jsonOut := fs.Lookup("json").Value.String() == "true"
	if len(args) == 0 {
		return usageError("catalog: サブコマンド（list または show）を指定してください")
	}
	cat, err := catalog.Default()
	if err != nil {
		// The data is embedded and tested; a failure here is a build defect.
		env.Log.Error("catalog data does not load", "err", err)
		return fmt.Errorf("カタログデータを読み込めません: %w", err)
	}
	switch args[0] {
	case "list":
		return catalogList(env, cat, args[1:], jsonOut)
	case "export-oscal":
		sub := flag.NewFlagSet("catalog export-oscal", flag.ContinueOnError)
		sub.SetOutput(io.Discard)
		out := sub.String("o", "-", "")
		if err := sub.Parse(args[1:]); err != nil || sub.NArg() > 0 {
			return usageError("catalog export-oscal: [-o FILE] のみ指定できます")
		}
		// last-modified is the build's data, not the wall clock, so exports are reproducible.
		return writeOutput(env, *out, func(w io.Writer) error {
			return writeJSON(w, oscal.Catalog(cat, time.Date(2025, 3, 31, 0, 0, 0, 0, time.UTC)))
		})
	case "show":
		sub := flag.NewFlagSet("catalog show", flag.ContinueOnError)
		sub.SetOutput(io.Discard)
		subJSON := sub.Bool("json", false, "")
		if err := sub.Parse(args[1:]); err != nil {
			return usageError("catalog show: %v", err)
		}
		rest := sub.Args()
		// Allow the flag after the ID too: "show 1(1) --json".
		if n := len(rest); n == 2 && (rest[1] == "--json" || rest[1] == "-json") {
			*subJSON, rest = true, rest[:1]
		}
		if len(rest) != 1 {
			return usageError("catalog show: 項目 ID を一つ指定してください")
		}
		e, ok := cat.Lookup(rest[0])
		if !ok {
			return &ExitError{Code: 2, Err: fmt.Errorf("項目 %q はカタログにありません（%w）", rest[0], catalog.ErrNotFound), Hint: "kyojin catalog list"}
		}
		if jsonOut || *subJSON {
			return writeJSON(env.Stdout, entryJSON(e))
		}
		writeEntry(env, cat, e)
		return nil
	default:
		return usageError("catalog: 不明なサブコマンド %q（list または show）", args[0])
	}
}

func catalogList(env *Env, cat *catalog.Catalog, args []string, jsonOut bool) error {
	var lf catalogListFlags
	fs := flag.NewFlagSet("catalog list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&lf.kind, "catalog", "", "")
	fs.StringVar(&lf.section, "section", "", "")
	fs.StringVar(&lf.obligation, "obligation", "", "")
	fs.StringVar(&lf.edition, "edition", "", "")
	fs.StringVar(&lf.model, "model", "", "")
	fs.StringVar(&lf.org, "org", "", "")
	fs.StringVar(&lf.features, "feature", "", "")
	fs.StringVar(&lf.zones, "zone", "", "")
	fs.BoolVar(&lf.explain, "explain", false, "")
	fs.BoolVar(&lf.json, "json", jsonOut, "")
	if err := fs.Parse(args); err != nil {
		return usageError("catalog list: %v", err)
	}
	if fs.NArg() > 0 {
		return usageError("catalog list: 余分な引数 %q", fs.Args())
	}
	f, prof, err := lf.filter()
	if err != nil {
		return err
	}
	base := f
	base.Profile = nil
	all := cat.Select(base)
	selected := cat.Select(f)
	if lf.json {
		out := make([]any, 0, len(selected))
		for _, e := range selected {
			out = append(out, entryJSON(e))
		}
		return writeJSON(env.Stdout, out)
	}
	w := env.Stdout
	lastSec := ""
	for _, e := range selected {
		sec := string(e.Catalog) + "/" + e.Section + "/" + e.Subsection
		if sec != lastSec {
			fmt.Fprintf(w, "== %s ==\n", sectionLabel(cat, e, env.Lang))
			lastSec = sec
		}
		indent := strings.Repeat("  ", depth(cat, e))
		fmt.Fprintf(w, "%s%-*s %s  %s\n", indent, 18-len(indent), e.ID, catalog.ObligationName(e.Obligation, env.Lang), e.Title.In(env.Lang))
	}
	excluded := len(all) - len(selected)
	if env.Lang == "en" {
		fmt.Fprintf(w, "%d entries", len(selected))
		if prof != nil {
			fmt.Fprintf(w, " (%d not applicable)", excluded)
		}
	} else {
		fmt.Fprintf(w, "%d 件", len(selected))
		if prof != nil {
			fmt.Fprintf(w, "（適用外 %d 件）", excluded)
		}
	}
	fmt.Fprintln(w)
	if lf.explain && prof != nil && excluded > 0 {
		if env.Lang == "en" {
			fmt.Fprintln(w, "\nNot applicable:")
		} else {
			fmt.Fprintln(w, "\n適用外の項目と理由:")
		}
		for _, e := range all {
			if ok, reasons := cat.AppliesTo(e, *prof); !ok {
				texts := make([]string, len(reasons))
				for i, r := range reasons {
					texts[i] = r.Text.In(env.Lang)
				}
				fmt.Fprintf(w, "  %-16s %s\n", e.ID, strings.Join(texts, "; "))
			}
		}
	}
	return nil
}

func (lf catalogListFlags) filter() (catalog.Filter, *catalog.Profile, error) {
	var f catalog.Filter
	if lf.kind != "" {
		if !slices.Contains(catalog.Kinds, catalog.Kind(lf.kind)) {
			return f, nil, usageError("--catalog: 不明なカタログ %q（guideline, ransomware, resilience, vendor）", lf.kind)
		}
		f.Catalog = catalog.Kind(lf.kind)
	}
	f.Section = lf.section
	switch catalog.Obligation(lf.obligation) {
	case "", catalog.Mandatory, catalog.Recommended:
		f.Obligation = catalog.Obligation(lf.obligation)
	default:
		return f, nil, usageError("--obligation: mandatory または recommended を指定してください（%q）", lf.obligation)
	}
	if lf.edition != "" && !slices.Contains(catalog.Editions, lf.edition) {
		return f, nil, usageError("--edition: 不明な版 %q（%s）", lf.edition, strings.Join(catalog.Editions, ", "))
	}
	f.Edition = lf.edition
	var p catalog.Profile
	used := false
	if lf.model != "" {
		if !slices.Contains(catalog.NetworkModels, lf.model) {
			return f, nil, usageError("--model: 不明なモデル %q（%s）", lf.model, strings.Join(catalog.NetworkModels, ", "))
		}
		p.NetworkModel, used = lf.model, true
	}
	if lf.org != "" {
		if !slices.Contains(catalog.OrgKinds, lf.org) {
			return f, nil, usageError("--org: 不明な団体の種類 %q（%s）", lf.org, strings.Join(catalog.OrgKinds, ", "))
		}
		p.OrgKind, used = lf.org, true
	}
	if lf.features != "" {
		p.Features, used = splitList(lf.features), true
		for _, x := range p.Features {
			if !slices.Contains(catalog.Features, x) {
				return f, nil, usageError("--feature: 不明な機能 %q（%s）", x, strings.Join(catalog.Features, ", "))
			}
		}
	}
	if lf.zones != "" {
		p.Zones, used = splitList(lf.zones), true
		for _, x := range p.Zones {
			if !slices.Contains(catalog.Zones, x) {
				return f, nil, usageError("--zone: 不明な領域 %q（%s）", x, strings.Join(catalog.Zones, ", "))
			}
		}
	}
	if !used {
		return f, nil, nil
	}
	f.Profile = &p
	return f, &p, nil
}

// splitList splits a comma-separated flag value; "none" gives an empty, non-nil list.
func splitList(s string) []string {
	out := []string{}
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" && x != "none" {
			out = append(out, x)
		}
	}
	return out
}

func depth(cat *catalog.Catalog, e *catalog.Entry) int {
	d := 0
	for p := e.Parent; p != "" && d < 8; d++ {
		pe, ok := cat.Lookup(p)
		if !ok {
			break
		}
		p = pe.Parent
	}
	return d
}

func sectionLabel(cat *catalog.Catalog, e *catalog.Entry, lang string) string {
	id := e.Section
	if e.Subsection != "" {
		id = e.Subsection
	}
	t, _ := cat.SectionTitle(e.Catalog, id)
	if e.Catalog == catalog.Guideline {
		return id + " " + t.In(lang)
	}
	return catalog.KindName(e.Catalog, lang) + " — " + t.In(lang)
}

var zoneNames = map[string]catalog.Text{
	"mynumber": {JA: "マイナンバー利用事務系", EN: "My Number zone"},
	"lgwan":    {JA: "LGWAN 接続系", EN: "LGWAN zone"},
	"internet": {JA: "インターネット接続系", EN: "Internet zone"},
}

func appliesText(a catalog.Applies, lang string) string {
	if a.IsZero() {
		if lang == "en" {
			return "all bodies"
		}
		return "すべての団体"
	}
	en := lang == "en"
	var parts []string
	add := func(ja, enLabel string, vals []string) {
		if len(vals) == 0 {
			return
		}
		label := ja
		if en {
			label = enLabel
		}
		parts = append(parts, label+": "+strings.Join(vals, ", "))
	}
	add("ネットワークモデル", "network models", a.NetworkModels)
	zones := make([]string, len(a.Zones))
	for i, z := range a.Zones {
		zones[i] = zoneNames[z].In(lang)
	}
	add("領域", "zones", zones)
	if a.MinConfidentiality != "" {
		if en {
			parts = append(parts, "confidentiality "+a.MinConfidentiality+" or higher")
		} else {
			parts = append(parts, "機密性"+a.MinConfidentiality+"以上の情報")
		}
	}
	add("団体の種類", "organization kinds", a.OrgKinds)
	add("利用機能", "features", a.Features)
	return strings.Join(parts, " / ")
}

func writeEntry(env *Env, cat *catalog.Catalog, e *catalog.Entry) {
	w, lang := env.Stdout, env.Lang
	en := lang == "en"
	sep := "、"
	if en {
		sep = ", "
	}
	label := func(ja, english string) string {
		if en {
			return english
		}
		return ja
	}
	fmt.Fprintf(w, "%s  %s\n\n", e.ID, e.Title.In(lang))
	row := func(l, v string) {
		if v != "" {
			fmt.Fprintf(w, "  %s: %s\n", l, v)
		}
	}
	row(label("カタログ", "Catalog"), catalog.KindName(e.Catalog, lang))
	row(label("節", "Section"), sectionLabel(cat, e, lang))
	if e.Parent != "" {
		p, _ := cat.Lookup(e.Parent)
		row(label("上位項目", "Parent"), e.Parent+" "+p.Title.In(lang))
	}
	row(label("区分", "Obligation"), catalog.ObligationName(e.Obligation, lang))
	roles := make([]string, len(e.Roles))
	for i, r := range e.Roles {
		roles[i] = catalog.RoleName(r, lang)
	}
	row(label("責任者", "Responsible"), strings.Join(roles, sep))
	vs := make([]string, len(e.Verification))
	for i, v := range e.Verification {
		vs[i] = catalog.VerificationName(v, lang)
	}
	row(label("確認方法", "Verification"), strings.Join(vs, sep))
	row(label("証跡の例", "Evidence"), strings.Join(e.Evidence, sep))
	row(label("適用条件", "Applies to"), appliesText(e.Applies, lang))
	row(label("関連条項", "Related clauses"), strings.Join(e.Related, sep))
	fmt.Fprintf(w, "\n%s\n  %s\n", label("要旨:", "Summary:"), e.Summary.In(lang))
	if len(e.Editions) > 0 {
		fmt.Fprintf(w, "\n%s\n", label("版:", "Editions:"))
		for _, c := range e.Editions {
			line := "  " + c.Edition + " " + changeName(c.Change, lang)
			if c.Note != "" && c.Note != "baseline" {
				line += " — " + c.Note
			}
			fmt.Fprintln(w, line)
		}
	}
	if kids := e.Children(); len(kids) > 0 {
		fmt.Fprintf(w, "\n%s\n", label("下位項目:", "Sub-clauses:"))
		for _, k := range kids {
			ke, _ := cat.Lookup(k)
			fmt.Fprintf(w, "  %-18s %s  %s\n", k, catalog.ObligationName(ke.Obligation, lang), ke.Title.In(lang))
		}
	}
}

func changeName(c, lang string) string {
	names := map[string]catalog.Text{
		"added":   {JA: "追加", EN: "added"},
		"changed": {JA: "変更", EN: "changed"},
		"removed": {JA: "削除", EN: "removed"},
	}
	return names[c].In(lang)
}

// entryJSON adds the derived child list to the entry for JSON output.
func entryJSON(e *catalog.Entry) any {
	return struct {
		*catalog.Entry
		Children []string `json:"children,omitempty"`
	}{e, e.Children()}
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
