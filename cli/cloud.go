package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/kyojin/kyojin/cloud"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/sigma"
	"github.com/kyojin/kyojin/store"
)

func init() {
	register(&Command{
		Name:  "cloud",
		Usage: "serve --config FILE [--role intake|worker|all] | import FILE --tenant T --format F | search --tenant T [--from T] [--to T] [FIELD=VALUE|FIELD~TEXT ...]",
		Short: "県のセキュリティクラウド: ログ受信・取り込み・検索",
		Long: `自治体情報セキュリティクラウドのログ基盤です。

  kyojin cloud serve --config cloud.yaml [--role intake|worker|all]
      設定の listeners（udp / tcp / tls / http）でログを受信し、テナントごとに保存します。
      設定に bus（NATS JetStream）があれば、intake は受信して bus へ、worker は bus から
      解析・検知・保存します（all は両方）。
  kyojin cloud import FILE --tenant T --format F (--config cloud.yaml | --store DIR|postgres://…)
      ファイルを一括取り込みします（FILE が - なら標準入力）。--config があれば受信時と同じ検知
      （モデル規則・脅威情報・Sigma ルール）を行い、アラートを出します。
  kyojin cloud operations --tenant T --config cloud.yaml [--from 2026-04-01] [--to 2027-04-01] [-o ops.json]
      モデル規則の期間中の結果（検査件数・検知）を出力します（kyojin assess --operations の入力）。
  kyojin cloud intel add|list|import ...
      県内で共有する脅威情報（ドメイン・IP・URL）を登録・一覧・取り込みします（kyojin cloud intel で詳細）。
  kyojin cloud search --tenant T [--from 2026-11-22T00:00:00Z] [--to ...] [FIELD=VALUE] [FIELD~TEXT]
      一つのテナントの保存済みイベントを検索します（JSON Lines で出力）。
  kyojin cloud migrate --store postgres://OWNER@HOST/DB [--grant ROLE]
      PostgreSQL のイベント表を作成・更新し、クラウドが使うロールに必要な権限だけを与えます。

形式 (--format): ` + strings.Join(logparse.Formats(), ", ") + `
項目名は docs/event-schema.md を参照してください。`,
		Subcommands: true,
		Run:         runCloud,
	})
}

func runCloud(env *Env, _ *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		return usageError("cloud: サブコマンド（serve, import, search）を指定してください")
	}
	switch args[0] {
	case "migrate":
		return cloudMigrate(env, args[1:])
	case "serve":
		return cloudServe(env, args[1:])
	case "import":
		return cloudImport(env, args[1:])
	case "search":
		return cloudSearch(env, args[1:])
	case "operations":
		return cloudOperations(env, args[1:])
	case "intel":
		return cloudIntel(env, args[1:])
	}
	return usageError("cloud: 不明なサブコマンド %q（serve, import, search）", args[0])
}

func loadCloudConfig(env *Env, path string) (*cloud.Config, error) {
	cfg, diags := cloud.LoadConfig(path)
	if len(diags.Items) > 0 {
		diags.Write(env.Stderr, env.Lang)
	}
	if cfg == nil {
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("invalid configuration %s", path)}
	}
	return cfg, nil
}

// openCloudStore resolves the store from --store (a directory or a
// postgres:// DSN) or --config.
func openCloudStore(env *Env, storeDir, config string) (cloud.EventStore, *cloud.Config, error) {
	var cfg *cloud.Config
	if config != "" {
		var err error
		if cfg, err = loadCloudConfig(env, config); err != nil {
			return nil, nil, err
		}
		if storeDir == "" {
			storeDir = cfg.Store
		}
	}
	if storeDir == "" {
		return nil, nil, usageError("--store DIR または --config FILE を指定してください")
	}
	st, err := (&cloud.Config{Store: storeDir}).OpenStore()
	if err != nil {
		return nil, nil, err
	}
	return st, cfg, nil
}

func cloudServe(env *Env, args []string) error {
	fs := flag.NewFlagSet("cloud serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config := fs.String("config", "", "設定ファイル (YAML)")
	workers := fs.Int("workers", runtime.GOMAXPROCS(0), "解析ワーカー数")
	role := fs.String("role", "all", "intake | worker | all")
	if err := fs.Parse(args); err != nil || *config == "" {
		return usageError("cloud serve --config FILE [--role intake|worker|all]")
	}
	node, st, cfg, err := openCloudNode(env, *config, *role)
	if err != nil {
		return err
	}
	defer node.close()
	if !node.worker {
		return node.serveIntakeOnly(env)
	}
	in := cloud.NewIntake(cfg, st, env.Log)
	// Detection always runs: the shared threat intelligence applies to every
	// tenant, with or without Sigma rules and models.
	hub, retainAlerts, closeAlerts, err := attachDetection(env, cfg, in)
	if err != nil {
		return err
	}
	defer closeAlerts()
	in.Start(*workers)
	ctx, stop := serveContext()
	defer stop()
	if err := node.attach(ctx, in); err != nil {
		_ = in.Close()
		return errors.Join(err, st.Close())
	}
	srv := cloud.NewServer(cfg, in)
	srv.SetIntel(hub)
	if err := srv.Start(ctx); err != nil {
		stop()
		srv.Wait()
		_ = in.Close()
		return err
	}
	for _, l := range cfg.Listeners {
		env.Log.Info("cloud: listening", "listener", l.Name, "type", l.Type, "addr", srv.Addr(l.Name).String())
		fmt.Fprintf(env.Stderr, "受信中 / listening: %s %s %s\n", l.Name, l.Type, srv.Addr(l.Name))
	}
	retain := func() {
		retainAlerts(time.Now())
		removed, err := cfg.ApplyRetention(st, time.Now())
		if err != nil {
			env.Log.Error("cloud: retention", "err", err)
		}
		for tenant, n := range removed {
			if n > 0 {
				env.Log.Info("cloud: retention removed days", "tenant", tenant, "days", n)
			}
		}
	}
	retain()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for i, done := 1, false; !done; i++ {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			logStats(env, in)
			if i%60 == 0 {
				retain()
			}
		}
	}
	srv.Wait()
	node.stopConsuming()
	err = in.Close()
	logStats(env, in)
	return errors.Join(err, st.Close())
}

func logStats(env *Env, in *cloud.Intake) {
	for tenant, s := range in.Stats() {
		env.Log.Info("cloud: intake", "tenant", tenant, "received", s.Received, "parsed", s.Parsed, "failed", s.Failed, "dropped", s.Dropped, "framing_errors", s.Framing)
	}
}

func cloudImport(env *Env, args []string) error {
	fs := flag.NewFlagSet("cloud import", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tenant := fs.String("tenant", "", "テナント ID")
	format := fs.String("format", "", "形式: "+strings.Join(logparse.Formats(), ", "))
	storeDir := fs.String("store", "", "保存先ディレクトリ")
	config := fs.String("config", "", "設定ファイル（保存先とテナントを確認）")
	pos, err := parseInterspersed(fs, args)
	if err != nil || len(pos) != 1 || *tenant == "" || *format == "" {
		return usageError("cloud import FILE --tenant T --format F (--store DIR | --config FILE)")
	}
	if !logparse.KnownFormat(*format) {
		return usageError("不明な形式 %q（%s）", *format, strings.Join(logparse.Formats(), ", "))
	}
	if !eventstore.ValidTenant(*tenant) {
		return usageError("テナント ID が不正です: %q", *tenant)
	}
	st, cfg, err := openCloudStore(env, *storeDir, *config)
	if err != nil {
		return err
	}
	defer st.Close()
	loc := time.Local
	if cfg != nil {
		loc = cfg.Location()
		if !cfg.HasTenant(*tenant) {
			return usageError("テナント %q は設定にありません", *tenant)
		}
	}
	var r io.Reader = env.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return fmt.Errorf("ファイルを開けません: %w", err)
		}
		defer f.Close()
		r = f
	}
	// With a configuration, a batch load goes through the same detection
	// as live intake (model rules, threat intelligence, the Sigma rules):
	// alerts are raised for what the file holds.
	var det detectorSlot
	if cfg != nil {
		_, _, stopDetect, err := attachDetection(env, cfg, &det)
		if err != nil {
			return err
		}
		defer stopDetect()
	}
	p := logparse.New(loc, nil)
	br := bufio.NewReaderSize(r, 64<<10)
	var parsed, failed int
	batch := make([]*event.Event, 0, 256)
	err = cloud.ReadLines(br, func(line []byte) error {
		ev := &event.Event{Tenant: *tenant}
		p.Parse(*format, line, ev)
		if ev.Failed() {
			failed++
		} else {
			parsed++
			if det.d != nil {
				det.d.Detect(ev)
			}
		}
		batch = append(batch, ev)
		if len(batch) == cap(batch) {
			err := st.Append(batch...)
			batch = batch[:0]
			return err
		}
		return nil
	})
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("取り込み失敗: %w", err)
	}
	if err := st.Append(batch...); err != nil {
		return err
	}
	if err := st.Close(); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "取り込み / imported: %d 件 解析 / parsed: %d 失敗 / failed (kept raw): %d\n", parsed+failed, parsed, failed)
	return nil
}

func parseTimeFlag(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("時刻 %q は RFC 3339 か YYYY-MM-DD で書いてください", s)
}

func cloudSearch(env *Env, args []string) error {
	fs := flag.NewFlagSet("cloud search", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tenant := fs.String("tenant", "", "テナント ID（必須: 検索はテナントを越えません）")
	from := fs.String("from", "", "開始時刻 (RFC 3339 / YYYY-MM-DD)")
	to := fs.String("to", "", "終了時刻（含まない）")
	limit := fs.Int("limit", 0, "最大件数")
	storeDir := fs.String("store", "", "保存先ディレクトリ")
	config := fs.String("config", "", "設定ファイル")
	pos, err := parseInterspersed(fs, args)
	if err != nil || *tenant == "" {
		return usageError("cloud search --tenant T [--from T] [--to T] [FIELD=VALUE ...]")
	}
	q := eventstore.Query{Tenant: *tenant, Limit: *limit}
	if q.From, err = parseTimeFlag(*from); err != nil {
		return usageError("%v", err)
	}
	if q.To, err = parseTimeFlag(*to); err != nil {
		return usageError("%v", err)
	}
	for _, a := range pos {
		f, err := eventstore.ParseFilter(a)
		if err != nil {
			return usageError("%v", err)
		}
		q.Filters = append(q.Filters, f)
	}
	st, _, err := openCloudStore(env, *storeDir, *config)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriter(env.Stdout)
	enc := json.NewEncoder(w)
	n := 0
	err = st.Search(q, func(ev *event.Event) bool {
		n++
		return enc.Encode(ev) == nil
	})
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if n == 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// attachDetection loads the Sigma rules of cfg.Rules (reporting each rule
// that cannot load) with their correlations, adds the rules generated from
// the tenants' models and the shared threat intelligence (whose hub it
// returns for the HTTP feed), and sends alerts to the console's store when
// cfg.DB is set (cloudAlertStore) and/or to the JSON-lines file cfg.Alerts
// (default FILEDIR/alerts.jsonl without db). The cloud's own files
// (operations evidence, threat intelligence, unstored alerts) are under
// cfg.FileDir(): the store directory, or the configuration's directory
// when events are in PostgreSQL.
// detectorSlot receives the detectors attachDetection builds, for callers
// without an Intake (kyojin cloud import).
type detectorSlot struct{ d cloud.Detector }

// SetDetector implements the setter attachDetection calls.
func (s *detectorSlot) SetDetector(d cloud.Detector) { s.d = d }

func attachDetection(env *Env, cfg *cloud.Config, in interface{ SetDetector(cloud.Detector) }) (hub *intel.Hub, retainAlerts func(time.Time), stop func(), err error) {
	alerts := cfg.Alerts
	if alerts == "" && cfg.DB == "" {
		alerts = filepath.Join(cfg.FileDir(), "alerts.jsonl")
	}
	var w io.Writer // nil interface without a file: detectors then only raise on the sink
	closeOut := func() {}
	if alerts != "" {
		f, err := os.OpenFile(alerts, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("alerts: %w", err)
		}
		w, closeOut = f, func() { f.Close() }
	}
	var sink *cloud.StoreSink
	retainAlerts = func(time.Time) {} // alerts in JSON lines are the operator's to rotate
	if cfg.DB != "" {
		var closeStore func()
		var ast store.AlertStore
		if sink, ast, closeStore, err = cloudAlertStore(env, cfg); err != nil {
			closeOut()
			return nil, nil, nil, err
		}
		retainAlerts = cloudAlertRetention(env, cfg, ast)
		closeFile := closeOut
		closeOut = func() {
			sink.Close()
			closeStore()
			s := sink.Stats()
			env.Log.Info("cloud: alerts", "raised", s.Raised, "created", s.Created, "merged", s.Merged, "suppressed", s.Suppressed, "dropped", s.Dropped, "failed", s.Failed)
			closeFile()
		}
	}
	md := cloud.NewModelDetector(cfg.Tenants, w)
	md.SetLocation(cfg.Location())
	stopOps := flushOperations(env, md, cfg.OperationsDir())
	var stopIntel func()
	hub, stopIntel, err = startIntel(env, cfg.FileDir())
	if err != nil {
		stopOps()
		closeOut()
		return nil, nil, nil, fmt.Errorf("intel: %w", err)
	}
	stopOps = func(stop func()) func() { return func() { stopIntel(); stop() } }(stopOps)
	id := cloud.NewIntelDetector(hub, w)
	ds := cloud.Detectors{md, id}
	sinks := []interface{ SendTo(cloud.AlertSink) }{md, id}
	if cfg.Rules != "" {
		set, bad, err := sigma.LoadDir(cfg.Rules, nil)
		if err != nil {
			stopOps()
			closeOut()
			return nil, nil, nil, fmt.Errorf("rules: %w", err)
		}
		for _, fe := range bad {
			env.Log.Warn("sigma rule not loaded", "rule", fe.Error())
		}
		sd := cloud.NewSigmaDetector(set.Rules, w)
		if err := sd.EnableCorrelations(set.Correlations, set.Rules, cloud.CorrelationOptions{Tenants: len(cfg.Tenants)}); err != nil {
			stopOps()
			closeOut()
			return nil, nil, nil, fmt.Errorf("rules: %w", err)
		}
		for _, t := range cfg.Tenants {
			for _, id := range t.ExcludeRules {
				if !sd.Exclude(t.ID, id) && !isModelRule(id) {
					env.Log.Warn("cloud: exclude_rules names an unknown rule", "tenant", t.ID, "rule", id)
				}
			}
		}
		ds = append(ds, sd)
		sinks = append(sinks, sd)
		stopStats := every(time.Minute, func() {
			st := sd.CorrelationStats()
			env.Log.Info("cloud: correlation windows", "open", st.Open, "evicted", st.Evicted, "fired", st.Fired, "tenants", st.Tenants, "cap_per_tenant", st.Cap, "detector_panics", cloud.DetectorPanics())
		})
		stopOps = func(stop func()) func() { return func() { stopStats(); stop() } }(stopOps)
		fmt.Fprintf(env.Stderr, "Sigma ルール %d 件・相関ルール %d 件を読み込みました（読み込めないもの %d 件）\n", len(set.Rules), len(set.Correlations), len(bad))
	}
	if sink != nil {
		for _, d := range sinks {
			d.SendTo(sink)
		}
		fmt.Fprintf(env.Stderr, "アラートの保存先: %s\n", cloudDBLabel(cfg.DB))
	}
	in.SetDetector(ds)
	if alerts != "" {
		fmt.Fprintf(env.Stderr, "アラートの出力先: %s\n", alerts)
	}
	return hub, retainAlerts, func() { stopOps(); closeOut() }, nil
}
