package cli

import (
	"encoding/json"
	"flag"
	"io"
	"path/filepath"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/cloud"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/eventstore/pgevents"
)

// cloudOperations writes one tenant's model-rule results over a period
// (kyojin cloud operations), the file kyojin assess --operations reads.
func cloudOperations(env *Env, args []string) error {
	fs := flag.NewFlagSet("cloud operations", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tenant := fs.String("tenant", "", "テナント ID")
	from := fs.String("from", "", "開始日（省略時は今年度の 4 月 1 日）")
	to := fs.String("to", "", "終了日（含まない。省略時は明日）")
	storeDir := fs.String("store", "", "保存先ディレクトリ")
	config := fs.String("config", "", "設定ファイル")
	out := fs.String("o", "-", "出力先（- は標準出力）")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 0 || *tenant == "" {
		return usageError("cloud operations --tenant T (--config F | --store DIR) [--from YYYY-MM-DD] [--to YYYY-MM-DD] [-o FILE]")
	}
	if !eventstore.ValidTenant(*tenant) {
		return usageError("テナント ID が不正です: %q", *tenant)
	}
	store, cfg, err := resolveCloudStore(env, *storeDir, *config, *tenant)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	lo, hi := assess.FiscalYearOf(now).Start(), time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, time.UTC)
	if *from != "" {
		if lo, err = time.Parse(time.DateOnly, *from); err != nil {
			return usageError("--from は YYYY-MM-DD で書いてください")
		}
	}
	if *to != "" {
		if hi, err = time.Parse(time.DateOnly, *to); err != nil {
			return usageError("--to は YYYY-MM-DD で書いてください")
		}
	}
	if !hi.After(lo) {
		return usageError("--from は --to より前の日付にしてください")
	}
	code := ""
	if cfg != nil {
		for _, t := range cfg.Tenants {
			if t.ID == *tenant && t.Loaded != nil && t.Loaded.Org != nil {
				code = string(t.Loaded.Org.Code)
			}
		}
	}
	ops, err := cloud.ReadOperations(filepath.Join(store, "operations"), *tenant, code, lo, hi)
	if err != nil {
		return err
	}
	return writeOutput(env, *out, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(ops)
	})
}

// flushOperations adds the model detector's counts to the day files every
// minute; the returned function stops it after a last flush.
func flushOperations(env *Env, md *cloud.ModelDetector, dir string) func() {
	flush := func() {
		if err := md.FlushOperations(dir); err != nil {
			env.Log.Error("cloud: writing operations evidence", "err", err)
		}
	}
	stop := every(time.Minute, flush)
	return func() { stop(); flush() }
}

// every runs fn every d until the returned function is called (which
// waits for a run in progress).
func every(d time.Duration, fn func()) func() {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				fn()
			case <-done:
				return
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// resolveCloudStore gives the directory of the cloud's own files
// (operations, intel) from --store or the configuration of --config (which
// is returned, nil without one): cloud.Config.FileDir, so that a store in
// PostgreSQL keeps them beside the configuration. With a configuration,
// tenant (when set) must be one of its tenants.
func resolveCloudStore(env *Env, store, config, tenant string) (string, *cloud.Config, error) {
	var cfg *cloud.Config
	if config != "" {
		var err error
		if cfg, err = loadCloudConfig(env, config); err != nil {
			return "", nil, err
		}
		if store == "" {
			store = cfg.FileDir()
		}
		if tenant != "" && !cfg.HasTenant(tenant) {
			return "", nil, usageError("テナント %q は設定にありません", tenant)
		}
	}
	if store == "" {
		return "", nil, usageError("--store DIR または --config FILE を指定してください")
	}
	if pgevents.IsDSN(store) {
		return "", nil, usageError("--store が PostgreSQL のときは --config FILE を指定してください（ファイルは設定ファイルの場所に置かれます）")
	}
	return store, cfg, nil
}

// isModelRule reports whether id names a rule generated from the models.
func isModelRule(id string) bool {
	for _, r := range cloud.ModelRules {
		if r.ID == id {
			return true
		}
	}
	return false
}
