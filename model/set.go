package model

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kyojin/kyojin/diag"
)

// LoadSet loads many organizations at once, such as all the bodies of a
// prefecture: each immediate subdirectory of dir that holds YAML files is
// one organization (loaded as Load would load it). Organizations are loaded
// in parallel, one worker per GOMAXPROCS, but the result keeps directory
// order: models[i] belongs to the i-th such subdirectory in lexical order
// and is nil when that organization had errors. Diagnostics of all
// organizations are returned together, sorted by file.
func LoadSet(dir string) ([]*Model, diag.List) {
	var diags diag.List
	entries, err := os.ReadDir(dir)
	if err != nil {
		diags.Add(diag.Diagnostic{File: dir, Code: "read", Severity: diag.Error,
			Msg:  diag.T("団体の集合を読み込めません: "+err.Error(), "cannot read the set of organizations: "+err.Error()),
			Hint: diag.T("団体ごとのサブディレクトリを含むディレクトリを指定してください", "give a directory with one subdirectory per organization")})
		return nil, diags
	}
	var dirs []string
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if hasYAML(sub) {
			dirs = append(dirs, sub)
		}
	}
	slices.Sort(dirs) // ReadDir already sorts; keep the contract explicit
	if len(dirs) == 0 {
		diags.Add(diag.Diagnostic{File: dir, Code: "empty-set", Severity: diag.Error,
			Msg:  diag.T("YAML ファイルを含むサブディレクトリがありません", "no subdirectory holds YAML files"),
			Hint: diag.T("団体ごとに一つのサブディレクトリを作り、その中にモデルを置いてください", "put each organization's model in its own subdirectory")})
		return nil, diags
	}
	models := make([]*Model, len(dirs))
	lists := make([]diag.List, len(dirs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(dirs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				models[i], lists[i] = loadOne(dirs[i])
			}
		}()
	}
	for i := range dirs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	for _, l := range lists {
		diags.Append(l)
	}
	diags.Sort()
	return models, diags
}

// loadOne loads one organization, turning a panic into a diagnostic so that
// one malformed organization cannot take the whole set down.
func loadOne(dir string) (m *Model, d diag.List) {
	defer func() {
		if r := recover(); r != nil {
			m = nil
			d.Add(diag.Diagnostic{File: dir, Code: "internal", Severity: diag.Error,
				Msg:  diag.T(fmt.Sprintf("読み込み中に内部エラーが発生しました: %v", r), fmt.Sprintf("internal error while loading: %v", r)),
				Hint: diag.T("この団体のモデルを添えて報告してください", "please report this with the organization's model")})
		}
	}()
	return Load(dir)
}

// hasYAML reports whether dir holds a YAML file at any depth (Load reads
// nested files too), skipping hidden directories as Load does.
func hasYAML(dir string) bool {
	found := false
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || found {
			found = true // unreadable: let Load report why
			return filepath.SkipAll
		}
		if d.IsDir() && p != dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}
