package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"time"

	"github.com/kyojin/kyojin/sigma"
)

func init() {
	register(&Command{
		Name:  "rules",
		Usage: "check DIR | test RULE LOGFILE",
		Short: "Sigma ルールを読み込み検査する・ログに対して試す",
		Long: `check DIR        ディレクトリ以下の Sigma ルール（.yml/.yaml）を読み込み、読み込めた数と
                 読み込めなかったファイルごとの理由を表示します。一つでも読み込めなければ終了コード 1。
test [--source proxy|webserver|dns|firewall|zeek|fortigate] RULE LOGFILE
                 RULE（ファイルまたはディレクトリ）のルールを LOGFILE の各行に適用し、一致した行と
                 ルール（作者のクレジット付き、Detection Rule License）を表示します。
                 LOGFILE は 1 行に 1 つの JSON オブジェクト（フィールド名 → 値）。相関ルールと集計条件は
                 "timestamp"（RFC 3339）と "tenant" フィールドを使います（無ければ行順・既定テナント）。
                 各行はそのログソース（"logsource" フィールド、無ければ --source）のルールだけに
                 かけます。どちらも無ければ全ルールにかけます。

check DIR: loads every rule and reports how many load and why the others do not.
test RULE LOGFILE: applies the rules to JSON-lines events and shows what matches.`,
		Subcommands: true,
		Run:         runRules,
	})
}

func runRules(env *Env, _ *flag.FlagSet, args []string) error {
	if len(args) == 0 {
		return usageError("rules: サブコマンド（check または test）を指定してください")
	}
	switch args[0] {
	case "check":
		if len(args) != 2 {
			return usageError("rules check: ディレクトリを一つ指定してください")
		}
		return rulesCheck(env, args[1])
	case "test":
		sub := flag.NewFlagSet("rules test", flag.ContinueOnError)
		sub.SetOutput(io.Discard)
		source := sub.String("source", "", "")
		if err := sub.Parse(args[1:]); err != nil {
			return usageError("rules test: %v", err)
		}
		if sub.NArg() != 2 {
			return usageError("rules test: RULE と LOGFILE を指定してください")
		}
		return rulesTest(env, sub.Arg(0), sub.Arg(1), *source)
	default:
		return usageError("rules: 不明なサブコマンド %q（check または test）", args[0])
	}
}

func loadRules(path string) (*sigma.Set, []*sigma.FileError, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, &ExitError{Code: 2, Err: fmt.Errorf("ルールを開けません: %w", err)}
	}
	if st.IsDir() {
		return sigma.LoadDir(path, nil)
	}
	s, errs := sigma.LoadFile(path, nil)
	return s, errs, nil
}

func rulesCheck(env *Env, dir string) error {
	set, errs, err := loadRules(dir)
	if err != nil {
		return err
	}
	unsupported := 0
	for _, e := range errs {
		kind := "エラー"
		if errors.Is(e, sigma.ErrUnsupported) {
			kind = "未対応"
			unsupported++
		}
		fmt.Fprintf(env.Stdout, "%s: %v\n", kind, e)
	}
	agg := 0
	for _, r := range set.Rules {
		if r.Aggregation != nil {
			agg++
		}
	}
	if env.Lang == "en" {
		fmt.Fprintf(env.Stdout, "%d rules loaded (%d with aggregation), %d correlations; %d not loaded (%d unsupported)\n",
			len(set.Rules), agg, len(set.Correlations), len(errs), unsupported)
	} else {
		fmt.Fprintf(env.Stdout, "読み込み: ルール %d 件（うち集計条件 %d 件）、相関ルール %d 件／読み込めず: %d 件（うち未対応 %d 件）\n",
			len(set.Rules), agg, len(set.Correlations), len(errs), unsupported)
	}
	if len(errs) > 0 {
		return &ExitError{Code: 1}
	}
	return nil
}

// jsonEvent is one JSON-lines record as a sigma event.
type jsonEvent struct {
	f      map[string]string
	t      time.Time
	tenant string
}

func (e *jsonEvent) Get(k string) (string, bool) { v, ok := e.f[k]; return v, ok }
func (e *jsonEvent) Range(fn func(k, v string) bool) {
	for k, v := range e.f {
		if !fn(k, v) {
			return
		}
	}
}
func (e *jsonEvent) Time() time.Time { return e.t }
func (e *jsonEvent) Tenant() string  { return e.tenant }

// flatten turns a JSON object into dotted field names with string values.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		for k, vv := range x {
			if prefix != "" {
				k = prefix + "." + k
			}
			flatten(k, vv, out)
		}
	case string:
		out[prefix] = x
	case json.Number:
		out[prefix] = x.String()
	case bool:
		out[prefix] = strconv.FormatBool(x)
	case nil:
		// null: the field is absent for Sigma.
	default:
		b, _ := json.Marshal(x)
		out[prefix] = string(b)
	}
}

const maxLogLine = 1 << 20

func rulesTest(env *Env, rulePath, logPath, source string) error {
	set, errs, err := loadRules(rulePath)
	if err != nil {
		return err
	}
	for _, e := range errs {
		fmt.Fprintf(env.Stderr, "読み込めないルール: %v\n", e)
	}
	if len(set.Rules) == 0 {
		return &ExitError{Code: 2, Err: errors.New("適用できるルールがありません")}
	}
	idx := sigma.NewIndex(set.Rules)
	eng, err := sigma.NewEngine(set.Correlations, set.Rules, nil, 0)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("相関ルールを組み立てられません: %w", err)}
	}
	f, err := os.Open(logPath)
	if err != nil {
		return &ExitError{Code: 2, Err: fmt.Errorf("ログを開けません: %w", err)}
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	base := time.Unix(0, 0).UTC()
	lines, bad, hits := 0, 0, map[string]int{}
	for sc.Scan() {
		lines++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var obj map[string]any
		dec := json.NewDecoder(bytesReader(sc.Bytes()))
		dec.UseNumber()
		if err := dec.Decode(&obj); err != nil {
			bad++
			fmt.Fprintf(env.Stderr, "%d 行目: JSON ではありません: %v\n", lines, err)
			continue
		}
		ev := &jsonEvent{f: map[string]string{}, tenant: "default", t: base.Add(time.Duration(lines) * time.Millisecond)}
		flatten("", obj, ev.f)
		if ts, ok := ev.f["timestamp"]; ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
				ev.t = t
			}
		}
		if tn, ok := ev.f["tenant"]; ok && tn != "" {
			ev.tenant = tn
		}
		// Route by log source, as intake does: a proxy line never runs DNS rules.
		key := source
		if ls, ok := ev.f["logsource"]; ok {
			key = ls
		}
		var matched []*sigma.Rule
		if key != "" {
			matched = idx.Match(key, ev, nil)
		} else {
			for _, r := range set.Rules {
				if r.Match(ev) {
					matched = append(matched, r)
				}
			}
		}
		for _, r := range matched {
			if eng.AlertsAlone(r) {
				hits[r.Title]++
				fmt.Fprintf(env.Stdout, "%d 行目: [%s] %s\n    %s\n", lines, r.Level, r.Title, r.Credit())
			}
		}
		for _, m := range eng.Observe(ev, matched) {
			hits[m.Correlation.Title]++
			fmt.Fprintf(env.Stdout, "%d 行目: 相関 [%s] %s テナント=%s グループ=%v 値=%g（%s〜%s）\n    %s\n", lines,
				m.Correlation.Level, m.Correlation.Title, m.Tenant, m.Group, m.Value,
				m.First.Format(time.RFC3339), m.Last.Format(time.RFC3339), m.Correlation.Credit())
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ログを読めません（%d 行目の後）: %w", lines, err)
	}
	names := make([]string, 0, len(hits))
	for n := range hits {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(env.Stdout, "%d 行、JSON でない行 %d、ルール %d 件、一致したルール %d 件\n", lines, bad, len(set.Rules), len(names))
	for _, n := range names {
		fmt.Fprintf(env.Stdout, "  %5d  %s\n", hits[n], n)
	}
	return nil
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
