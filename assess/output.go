package assess

import (
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"path/filepath"
	"strings"

	"embed"
)

// Formats of the assessment report.
var Formats = []string{"text", "json", "html", "xlsx"}

// FormatFromPath picks the format from an output file name ("-" = text).
func FormatFromPath(path string) (string, error) {
	if path == "-" || path == "" {
		return "text", nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".txt":
		return "text", nil
	case ".json":
		return "json", nil
	case ".html", ".htm":
		return "html", nil
	case ".xlsx":
		return "xlsx", nil
	}
	return "", fmt.Errorf("出力形式を拡張子 %q から決められません（.txt .json .html .xlsx、または --format）", filepath.Ext(path))
}

// Write renders r in format and lang.
func Write(w io.Writer, format string, r *Result, lang string) error {
	v := ViewOf(r, lang)
	switch format {
	case "text":
		return writeText(w, v)
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "html":
		return htmlTemplate.Execute(w, v)
	case "xlsx":
		return writeXLSX(w, v)
	}
	return fmt.Errorf("unknown format %q (text, json, html, xlsx)", format)
}

func tr(lang, ja, en string) string {
	if lang == "en" {
		return en
	}
	return ja
}

func writeText(w io.Writer, v *View) error {
	L := func(ja, en string) string { return tr(v.Lang, ja, en) }
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	p("%s — %s %s（%s）\n", L("情報セキュリティ自己点検結果", "Security self-assessment"), v.Organization, v.YearLabel, v.NetworkModel)
	p("%s: %s\n\n", L("評価日", "Date"), v.DateLabel)
	p("%s: %.1f%%", L("総合評点", "Overall score"), v.Overall.Percent)
	if v.Overall.Delta != "" {
		p("（%s %s: %.1f%%, %s）", L("前年度", "previous"), v.Trend.Year, *v.Overall.Previous, v.Overall.Delta)
	}
	p("\n%s %d / %s %d / %s %d / %s %d / %s %d\n\n",
		Implemented.Label(v.Lang), v.Overall.Implemented, Partial.Label(v.Lang), v.Overall.Partial,
		NotImplemented.Label(v.Lang), v.Overall.NotImpl, Unanswered.Label(v.Lang), v.Overall.Unanswered, NotApplicable.Label(v.Lang), v.Overall.NA)
	p("== %s ==\n", L("節ごとの評点", "Scores by section"))
	for _, s := range v.Sections {
		p("  %-6s %5.1f%%  %s %s", s.Section, s.Percent, s.Catalog, s.Title)
		if s.Delta != "" {
			p("  (%s)", s.Delta)
		}
		p("\n")
	}
	p("\n== %s（%d）==\n", L("未達の要件（必須を先に）", "Gaps (mandatory first)"), len(v.Gaps))
	for _, g := range v.Gaps {
		p("  [%s] %-14s %s  %s", g.Obligation, g.ID, g.Status, g.Title)
		if g.Owner != "" {
			p("  %s: %s", L("担当", "owner"), g.Owner)
		}
		if g.Due != "" {
			p("  %s: %s", L("期限", "due"), g.Due)
		}
		p("\n")
		if g.Override != "" {
			p("      %s\n", g.Override)
		}
		for _, o := range g.Operations {
			p("      %s\n", o)
		}
	}
	header := false
	for _, it := range v.Items {
		if len(it.Operations) == 0 {
			continue
		}
		if !header {
			p("\n== %s ==\n", L("運用による自動確認（自治体情報セキュリティクラウドのモデル規則）", "Automatic from operations (security cloud model rules)"))
			header = true
		}
		p("  %-14s %s  %s\n", it.ID, it.Status, it.Title)
		for _, o := range it.Operations {
			p("      %s\n", o)
		}
	}
	if len(v.Actions) > 0 {
		p("\n== %s ==\n", L("改善計画", "Corrective actions"))
		for _, a := range v.Actions {
			flag := ""
			if a.Overdue {
				flag = fmt.Sprintf(L("【期限超過 %d日】", "[OVERDUE %d days] "), a.DaysOverdue)
			}
			if a.CarriedOver {
				flag += L("【前年度から継続】", "[carried over] ")
			}
			p("  %s%s %s  %s: %s  %s: %s  %s\n", flag, a.ID, a.Status, L("担当", "owner"), a.Owner, L("期限", "due"), a.Due, a.Action)
		}
	}
	if len(v.Exceptions) > 0 {
		p("\n== %s ==\n", L("例外措置", "Exceptions"))
		for _, x := range v.Exceptions {
			state := fmt.Sprintf(L("残り%d日", "%d days left"), x.DaysLeft)
			if x.Expired {
				state = L("期限切れ", "EXPIRED")
			}
			p("  %s %s  %s: %s（%s）  %s\n", x.ID, strings.Join(x.Requirements, ", "), L("有効期限", "expires"), x.Expires, state, x.Reason)
		}
	}
	if len(v.AuditFindings) > 0 {
		p("\n== %s ==\n", L("監査指摘", "Audit findings"))
		for _, f := range v.AuditFindings {
			p("  %s [%s] %s  %s\n", f.ID, f.Severity, strings.Join(f.Requirements, ", "), f.Title)
		}
	}
	if t := v.Trend; t != nil {
		p("\n== %s（%s → %s）==\n", L("前年度比", "Trend"), t.Year, v.YearLabel)
		for _, c := range t.Improved {
			p("  ↑ %s %s → %s  %s\n", c.ID, c.From, c.To, c.Title)
		}
		for _, c := range t.Regressed {
			p("  ↓ %s %s → %s  %s\n", c.ID, c.From, c.To, c.Title)
		}
	}
	p("\n%s: %d（%s）\n", L("適用外の要件", "Requirements not applicable"), len(v.Excluded), L("理由は JSON・HTML・XLSX に記載", "reasons in the JSON, HTML and XLSX reports"))
	return nil
}

//go:embed templates/assess.html.tmpl
var templateFS embed.FS

// htmlTemplate escapes every value by context, so text from assessment files
// cannot inject markup; the page references no external resource.
var htmlTemplate = template.Must(template.New("assess.html.tmpl").Funcs(template.FuncMap{
	"L":    tr,
	"join": func(s []string) string { return strings.Join(s, ", ") },
	"pct":  func(f float64) string { return fmt.Sprintf("%.1f", f) },
}).ParseFS(templateFS, "templates/assess.html.tmpl"))
