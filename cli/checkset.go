package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mattn/go-runewidth"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
)

// isModelSet reports whether dir holds no model files itself but
// subdirectories that do: the bodies of a prefecture, one per directory.
func isModelSet(dir string) bool {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	subdirs := false
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			return false
		}
		if e.IsDir() && !strings.HasPrefix(name, ".") {
			if m, _ := filepath.Glob(filepath.Join(dir, name, "*.y*ml")); len(m) > 0 {
				subdirs = true
			}
		}
	}
	return subdirs
}

// setRow is one body's outcome in a set check.
type setRow struct {
	Dir          string        `json:"dir"`
	Organization string        `json:"organization,omitempty"`
	Code         string        `json:"code,omitempty"`
	NetworkModel string        `json:"network_model,omitempty"`
	LoadErrors   int           `json:"load_errors"`
	Result       *check.Result `json:"result,omitempty"`
}

// checkSet checks every body of a set and writes a summary (text) or all
// results (json). A body whose model does not load counts as a failure.
func checkSet(env *Env, dir, format, out string, threshold check.Severity) error {
	if format != "text" && format != "json" {
		return usageError("a directory of organizations can be reported as text or json (got %s)", format)
	}
	models, diags := model.LoadSet(dir)
	diags.Write(env.Stderr, env.Lang)
	entries, _ := os.ReadDir(dir)
	var dirs []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			if m, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.y*ml")); len(m) > 0 {
				dirs = append(dirs, e.Name())
			}
		}
	}
	rows := make([]setRow, len(models))
	failed, broken := 0, 0
	for i, m := range models {
		rows[i].Dir = dirs[i]
		if m == nil {
			broken++
			for _, d := range diags.Items {
				if strings.HasPrefix(d.File, filepath.Join(dir, dirs[i])+string(filepath.Separator)) {
					rows[i].LoadErrors++
				}
			}
			continue
		}
		res := check.Run(m)
		rows[i].Organization, rows[i].Code, rows[i].NetworkModel, rows[i].Result = res.Organization, res.Code, res.NetworkModel, res
		if threshold >= 0 && res.Max() >= threshold {
			failed++
		}
	}
	err := writeOutput(env, out, func(w io.Writer) error {
		if format == "json" {
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			return enc.Encode(rows)
		}
		table := [][]string{{"ディレクトリ", "団体", "団体コード", "モデル", "重大", "高", "中", "低", "情報"}}
		if env.Lang == "en" {
			table[0] = []string{"dir", "organization", "code", "model", "critical", "high", "medium", "low", "info"}
		}
		for _, r := range rows {
			if r.Result == nil {
				table = append(table, []string{r.Dir, fmt.Sprintf("(%d errors)", r.LoadErrors), "", "", "", "", "", "", ""})
				continue
			}
			s := r.Result.Summary.BySeverity
			table = append(table, []string{r.Dir, r.Organization, r.Code, model.NetworkModel(r.NetworkModel).Label(),
				fmt.Sprint(s[check.Critical]), fmt.Sprint(s[check.High]), fmt.Sprint(s[check.Medium]), fmt.Sprint(s[check.Low]), fmt.Sprint(s[check.Info])})
		}
		return writeTable(w, table)
	})
	if err != nil {
		return err
	}
	if broken > 0 {
		return &ExitError{Code: 2, Err: fmt.Errorf("%d of %d organizations have model errors", broken, len(rows))}
	}
	if failed > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// writeTable aligns columns by display width, so that full-width Japanese
// names line up in a terminal.
func writeTable(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	for _, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)+2))
			}
		}
		if _, err := fmt.Fprintln(w, strings.TrimRight(b.String(), " ")); err != nil {
			return err
		}
	}
	return nil
}
