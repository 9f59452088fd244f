package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/intel"
)

const intelUsage = `cloud intel add VALUE... --tenant T --publisher P --reason R [--expires YYYY-MM-DD | --ttl 90d] [--level high] (--config F | --store DIR)
  cloud intel import FILE --tenant T --publisher P [--reason R] [--format list|csv|stix] (--config F | --store DIR)
  cloud intel revoke VALUE --tenant T --publisher P --reason R (--config F | --store DIR)
  cloud intel list [--all] [--json] (--config F | --store DIR)`

// cloudIntel manages the threat-intelligence indicators shared by every
// tenant (kyojin cloud intel add|import|list).
func cloudIntel(env *Env, args []string) error {
	if len(args) == 0 {
		return usageError("%s", intelUsage)
	}
	fs := flag.NewFlagSet("cloud intel", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	tenant := fs.String("tenant", "", "公開元のテナント ID")
	publisher := fs.String("publisher", "", "公開者（アラートにクレジットとして表示）")
	reason := fs.String("reason", "", "理由")
	expires := fs.String("expires", "", "有効期限 YYYY-MM-DD")
	ttl := fs.String("ttl", "", "有効期間（例 30d, 12h）")
	level := fs.String("level", "", "アラートの重大度")
	format := fs.String("format", "", "取り込み形式: list, csv, stix")
	all := fs.Bool("all", false, "期限切れも表示")
	asJSON := fs.Bool("json", false, "JSON Lines で出力")
	storeDir := fs.String("store", "", "保存先ディレクトリ")
	config := fs.String("config", "", "設定ファイル")
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return usageError("%s", intelUsage)
	}
	store, cfg, err := resolveCloudStore(env, *storeDir, *config, "")
	if err != nil {
		return err
	}
	ctx := context.Background()
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: intel.Path(store)}, env.Log, nil)
	if err != nil {
		return err
	}
	publish := func(inds []intel.Indicator) error {
		if *tenant == "" || *publisher == "" || !eventstore.ValidTenant(*tenant) {
			return usageError("--tenant と --publisher を指定してください")
		}
		if cfg != nil && !cfg.HasTenant(*tenant) {
			return usageError("テナント %q は設定にありません", *tenant)
		}
		exp, err := expiry(*expires, *ttl)
		if err != nil {
			return usageError("%v", err)
		}
		for i := range inds {
			if inds[i].Expires.IsZero() {
				inds[i].Expires = exp
			}
			if inds[i].Level == "" {
				inds[i].Level = *level
			}
			if inds[i].Reason == "" {
				inds[i].Reason = *reason
			}
		}
		if err := hub.Publish(ctx, *tenant, *publisher, inds); err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		fmt.Fprintf(env.Stdout, "公開 / published: %d 件（全テナントで照合されます / matched for every tenant）\n", len(inds))
		return nil
	}
	switch args[0] {
	case "add":
		if len(pos) == 0 {
			return usageError("%s", intelUsage)
		}
		inds := make([]intel.Indicator, len(pos))
		for i, v := range pos {
			inds[i] = intel.Indicator{Value: v}
		}
		return publish(inds)
	case "import":
		if len(pos) != 1 {
			return usageError("%s", intelUsage)
		}
		data, err := readLimited(env, pos[0], intel.MaxFileSize)
		if err != nil {
			return err
		}
		f := intel.Format(*format)
		if f == "" {
			f = intel.DetectFormat(pos[0], data)
		}
		inds, bad, err := intel.Parse(data, f, intel.Indicator{})
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		for _, b := range bad {
			fmt.Fprintf(env.Stderr, "%s: %v（読み飛ばし / skipped）\n", pos[0], b)
		}
		if err := publish(inds); err != nil {
			return err
		}
		if len(bad) > 0 {
			return &ExitError{Code: 1, Err: fmt.Errorf("%d 件を読み飛ばしました / %d entries skipped", len(bad), len(bad))}
		}
		return nil
	case "revoke":
		if len(pos) != 1 || *tenant == "" || *publisher == "" || strings.TrimSpace(*reason) == "" {
			return usageError("%s", intelUsage)
		}
		ok, err := hub.Revoke(ctx, *tenant, *publisher, pos[0], *reason)
		if err != nil {
			return &ExitError{Code: 2, Err: err}
		}
		if !ok {
			return &ExitError{Code: 1, Err: fmt.Errorf("%q は公開されていません / not published", pos[0])}
		}
		fmt.Fprintf(env.Stdout, "取り消し / revoked: %s（全テナントで照合を停止 / no longer matched）\n", pos[0])
		return nil
	case "list":
		list := hub.List(*all)
		if *asJSON {
			enc := json.NewEncoder(env.Stdout)
			for i := range list {
				if err := enc.Encode(&list[i]); err != nil {
					return err
				}
			}
			return nil
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tVALUE\tTENANT\tPUBLISHER\tEXPIRES\tREASON")
		for _, in := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", in.Kind, in.Value, in.Tenant, in.Publisher, in.Expires.Format(time.DateOnly), oneLine(in.Reason))
		}
		return tw.Flush()
	}
	return usageError("cloud intel: 不明なサブコマンド %q（add, import, revoke, list）", args[0])
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// expiry turns --expires / --ttl into a time (zero: the hub's default).
func expiry(date, ttl string) (time.Time, error) {
	switch {
	case date != "" && ttl != "":
		return time.Time{}, errors.New("--expires と --ttl はどちらか一方です")
	case date != "":
		t, err := time.Parse(time.DateOnly, date)
		if err != nil {
			return time.Time{}, errors.New("--expires は YYYY-MM-DD で書いてください")
		}
		return t, nil
	case ttl != "":
		n, unit := strings.TrimRight(ttl, "dh"), ttl[len(strings.TrimRight(ttl, "dh")):]
		d, err := time.ParseDuration(n + "h")
		if err != nil || d <= 0 || (unit != "d" && unit != "h") {
			return time.Time{}, errors.New("--ttl は 30d や 12h のように書いてください")
		}
		if unit == "d" {
			d *= 24
		}
		return time.Now().Add(d), nil
	}
	return time.Time{}, nil
}

// readLimited reads a file (- is standard input) of at most max bytes.
func readLimited(env *Env, path string, max int64) ([]byte, error) {
	var r io.Reader = env.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("ファイルを開けません: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("ファイルが大きすぎます（上限 %d バイト）", max)}
	}
	return data, nil
}

// startIntel loads the shared indicators for cloud serve and re-reads the
// store within five seconds of a change (indicators published by kyojin
// cloud intel or by the console reach the running intake), and at least
// every minute so expired ones leave the index; the returned function
// stops it.
func startIntel(env *Env, store string) (*intel.Hub, func(), error) {
	ctx := context.Background()
	fs := &intel.FileStore{Path: intel.Path(store)}
	fs.Changed()
	hub, err := intel.NewHub(ctx, fs, env.Log, nil)
	if err != nil {
		return nil, nil, err
	}
	n := 0
	stop := every(5*time.Second, func() {
		n++
		if !fs.Changed() && n%12 != 0 {
			return
		}
		if err := hub.Reload(ctx); err != nil {
			env.Log.Error("cloud: reloading threat intelligence", "err", err)
		}
	})
	return hub, stop, nil
}
