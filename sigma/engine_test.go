package sigma

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

type streamEv struct {
	mapEvent
	t      time.Time
	tenant string
}

func (s streamEv) Time() time.Time { return s.t }
func (s streamEv) Tenant() string  { return s.tenant }

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// baseRule builds a trivial rule that matches events with rule=<name>.
func baseRule(t *testing.T, id, name string) *Rule {
	t.Helper()
	y := fmt.Sprintf("title: %s\nid: %s\nname: %s\nlogsource: {category: test}\ndetection:\n  sel:\n    rule: %s\n  condition: sel\n", name, id, name, name)
	s, errs := Parse([]byte(y), name, nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return s.Rules[0]
}

func loadSpecCorrelation(t *testing.T, file string) *Correlation {
	t.Helper()
	dir := sharedDir(t, "sigma-spec")
	s, errs := LoadFile(filepath.Join(dir, "tests", "schema", "correlation", file), nil)
	if len(errs) > 0 {
		t.Fatalf("%s: %v", file, errs[0])
	}
	if len(s.Correlations) != 1 {
		t.Fatalf("%s: %d correlations", file, len(s.Correlations))
	}
	return s.Correlations[0]
}

// run feeds events (each matching the named rule) and returns the matches.
func run(t *testing.T, e *Engine, rules map[string]*Rule, evs []streamEv) []CorrelationMatch {
	t.Helper()
	var out []CorrelationMatch
	for _, ev := range evs {
		r := rules[ev.mapEvent["rule"]]
		if !r.Match(ev) {
			t.Fatalf("base rule %s does not match its event", r.Name)
		}
		out = append(out, e.Observe(ev, []*Rule{r})...)
	}
	return out
}

func TestSpecCorrelationExamples(t *testing.T) {
	failed := "5638f7c0-ac70-491d-8465-2a65075e0d86"
	type tc struct {
		file  string
		rules []string // names; the first one also gets id failed
		evs   func() []streamEv
		want  int     // matches expected
		value float64 // value of the first match
	}
	ev := func(rule string, sec int, tenant string, kv ...string) streamEv {
		m := mapEvent{"rule": rule}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return streamEv{m, t0.Add(time.Duration(sec) * time.Second), tenant}
	}
	cases := []tc{
		{"event_count.yml", []string{"failed"}, func() []streamEv {
			var evs []streamEv
			// 99 in the hour on host A: silent; the 100th fires.
			for i := 0; i < 100; i++ {
				evs = append(evs, ev("failed", i*30, "t1", "ComputerName", "A"))
			}
			// 100 on host B spread over 2h: never 100 within 1h.
			for i := 0; i < 100; i++ {
				evs = append(evs, ev("failed", i*80, "t1", "ComputerName", "B"))
			}
			// 60 + 60 on host A but in two tenants: silent.
			for i := 0; i < 60; i++ {
				evs = append(evs, ev("failed", 4000+i, "t2", "ComputerName", "C"), ev("failed", 4000+i, "t3", "ComputerName", "C"))
			}
			return evs
		}, 1, 100},
		{"value_count.yml", []string{"failed"}, func() []streamEv {
			var evs []streamEv
			for i := 0; i < 150; i++ { // same user 150 times: 1 distinct
				evs = append(evs, ev("failed", i, "t1", "ComputerName", "A", "WorkstationName", "W", "User", "admin"))
			}
			for i := 0; i < 100; i++ { // 100 distinct users in a day
				evs = append(evs, ev("failed", 200+i*600, "t1", "ComputerName", "A", "WorkstationName", "W", "User", fmt.Sprint("u", i)))
			}
			return evs
		}, 1, 100},
		{"temporal.yml", []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, func() []streamEv {
			k := []string{"ComputerName", "PC1", "User", "bob"}
			return []streamEv{
				ev("recon_cmd_c", 0, "t1", k...), ev("recon_cmd_a", 10, "t1", k...),
				ev("recon_cmd_b", 20, "t1", "ComputerName", "PC1", "User", "eve"), // other group
				ev("recon_cmd_b", 400, "t1", k...),                                // c is now older than 5m
				ev("recon_cmd_c", 420, "t1", k...),                                // a(10) too old: silent
				ev("recon_cmd_a", 430, "t1", k...),                                // b,c,a within 5m: fires
			}
		}, 1, 3},
		{"temporal_ordered.yml", []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, func() []streamEv {
			k := []string{"ComputerName", "PC1", "User", "bob"}
			return []streamEv{
				ev("recon_cmd_c", 0, "t1", k...), ev("recon_cmd_b", 5, "t1", k...), ev("recon_cmd_a", 10, "t1", k...), // wrong order
				ev("recon_cmd_b", 20, "t1", k...),
				ev("recon_cmd_c", 30, "t1", "ComputerName", "PC1", "User", "eve"), // other group
				ev("recon_cmd_c", 40, "t1", k...),                                 // a,b,c in order: fires
			}
		}, 1, 3},
		{"value_sum.yml", []string{"website_access"}, func() []streamEv {
			k := []string{"SourceIP", "10.0.0.1", "User", "bob"}
			return []streamEv{
				ev("website_access", 0, "t1", append(k, "bytes_sent", "600000")...),
				ev("website_access", 4000, "t1", append(k, "bytes_sent", "600000")...), // first one expired
				ev("website_access", 4100, "t1", append(k, "bytes_sent", "500000")...), // 1.1 MB in 1h: fires
			}
		}, 1, 1100000},
		{"value_avg.yml", []string{"rule_a_id"}, func() []streamEv {
			k := []string{"SourceIP", "10.0.0.1", "User", "bob"}
			return []streamEv{
				ev("rule_a_id", 0, "t1", append(k, "BytesOut", "100")...),
				ev("rule_a_id", 10, "t1", append(k, "BytesOut", "800")...), // avg 450
				ev("rule_a_id", 20, "t1", append(k, "BytesOut", "900")...), // avg 600: fires
			}
		}, 1, 600},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			corr := loadSpecCorrelation(t, c.file)
			rules := map[string]*Rule{}
			var list []*Rule
			for i, n := range c.rules {
				id := n
				if i == 0 && (c.file == "event_count.yml" || c.file == "value_count.yml") {
					id = failed
				}
				r := baseRule(t, id, n)
				rules[n] = r
				list = append(list, r)
			}
			e, err := NewEngine([]*Correlation{corr}, list, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			got := run(t, e, rules, c.evs())
			if len(got) != c.want {
				t.Fatalf("%d matches, want %d: %+v", len(got), c.want, got)
			}
			if got[0].Value != c.value {
				t.Errorf("value %v, want %v", got[0].Value, c.value)
			}
			if got[0].Tenant != "t1" {
				t.Errorf("tenant %q", got[0].Tenant)
			}
		})
	}
	t.Run("value_percentile.yml is reported unsupported", func(t *testing.T) {
		dir := sharedDir(t, "sigma-spec")
		_, errs := LoadFile(filepath.Join(dir, "tests", "schema", "correlation", "value_percentile.yml"), nil)
		if len(errs) != 1 || !errorsIsUnsupported(errs[0]) {
			t.Fatalf("want one unsupported error, got %v", errs)
		}
	})
}

func TestEngineEvictsAtCap(t *testing.T) {
	r := baseRule(t, "r1", "r1")
	corr := &Correlation{ID: "c", Title: "c", Type: "event_count", Rules: []string{"r1"}, GroupBy: []string{"src_ip"},
		Timespan: time.Hour, Conds: []Cond{{"gte", 3}}}
	e, err := NewEngine([]*Correlation{corr}, []*Rule{r}, nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		e.Observe(streamEv{mapEvent{"rule": "r1", "src_ip": fmt.Sprint(i)}, t0, "t"}, []*Rule{r})
	}
	if e.Open() != 10 || e.Evicted != 90 {
		t.Fatalf("open %d evicted %d, want 10 and 90", e.Open(), e.Evicted)
	}
	// The most recent windows survive: src 99 fires after two more events.
	var got []CorrelationMatch
	for i := 0; i < 2; i++ {
		got = append(got, e.Observe(streamEv{mapEvent{"rule": "r1", "src_ip": "99"}, t0, "t"}, []*Rule{r})...)
	}
	if len(got) != 1 || got[0].Group[0] != "99" {
		t.Fatalf("got %+v", got)
	}
}

func TestEngineUnresolvedRule(t *testing.T) {
	corr := &Correlation{Title: "c", Type: "event_count", Rules: []string{"nope"}, Timespan: time.Hour, Conds: []Cond{{"gte", 1}}}
	if _, err := NewEngine([]*Correlation{corr}, nil, nil, 0); err == nil {
		t.Fatal("unresolved rule reference accepted")
	}
}

func TestLegacyAggregation(t *testing.T) {
	y := `title: scan
id: agg-1
logsource: {category: firewall}
detection:
  selection:
    action: denied
  timeframe: 1m
  condition: selection | count(dst_port) by src_ip > 2
`
	s, errs := Parse([]byte(y), "agg.yml", nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	r := s.Rules[0]
	if r.Aggregation == nil || r.Aggregation.Type != "value_count" || r.Aggregation.Field != "dst_port" {
		t.Fatalf("aggregation %+v", r.Aggregation)
	}
	e, err := NewEngine(nil, s.Rules, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []CorrelationMatch
	for i, port := range []string{"22", "22", "23", "80"} {
		ev := streamEv{mapEvent{"action": "denied", "src_ip": "192.0.2.1", "dst_port": port}, t0.Add(time.Duration(i) * time.Second), "t"}
		if r.Match(ev) {
			got = append(got, e.Observe(ev, []*Rule{r})...)
		}
	}
	if len(got) != 1 || got[0].Value != 3 {
		t.Fatalf("got %+v, want one match with 3 distinct ports", got)
	}
}

func TestEngineOutOfOrder(t *testing.T) {
	r := baseRule(t, "r1", "r1")
	corr := &Correlation{ID: "c", Title: "c", Type: "event_count", Rules: []string{"r1"},
		Timespan: time.Minute, Conds: []Cond{{"gte", 3}}}
	e, err := NewEngine([]*Correlation{corr}, []*Rule{r}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	feed := func(sec int) []CorrelationMatch {
		return e.Observe(streamEv{mapEvent{"rule": "r1"}, t0.Add(time.Duration(sec) * time.Second), "t"}, []*Rule{r})
	}
	feed(100)
	if got := feed(10); len(got) != 0 { // 90 s late: outside the window, ignored
		t.Fatalf("late event fired: %+v", got)
	}
	feed(70) // 30 s late but inside the window
	got := feed(101)
	if len(got) != 1 || got[0].Value != 3 || !got[0].First.Equal(t0.Add(70*time.Second)) {
		t.Fatalf("got %+v, want one match of 3 starting at +70s", got)
	}
}

func TestAlertsAloneGenerate(t *testing.T) {
	a, b, c := baseRule(t, "a", "a"), baseRule(t, "b", "b"), baseRule(t, "c", "c")
	quiet := &Correlation{Title: "q", Type: "temporal", Rules: []string{"a"}, Timespan: time.Minute, Conds: []Cond{{"gte", 1}}}
	loud := &Correlation{Title: "l", Type: "temporal", Rules: []string{"b"}, Timespan: time.Minute, Conds: []Cond{{"gte", 1}}, Generate: true}
	e, err := NewEngine([]*Correlation{quiet, loud}, []*Rule{a, b, c}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if e.AlertsAlone(a) || !e.AlertsAlone(b) || !e.AlertsAlone(c) {
		t.Errorf("AlertsAlone a=%v b=%v c=%v, want false true true", e.AlertsAlone(a), e.AlertsAlone(b), e.AlertsAlone(c))
	}
}

func TestIndexRoutingAndExclusion(t *testing.T) {
	proxy := ruleFrom(t, "  s: {c-useragent|startswith: rclone}\n  condition: s\n", nil)
	dnsSet, errs := Parse([]byte("title: d\nid: d1\nlogsource: {category: dns}\ndetection: {s: {query|endswith: .tk}, condition: s}\n"), "d", nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	idx := NewIndex([]*Rule{proxy, dnsSet.Rules[0]})
	ev := mapEvent{"c-useragent": "rclone/v1", "query": "a.tk"}
	if got := idx.Match("proxy", ev, nil); len(got) != 1 || got[0] != proxy {
		t.Errorf("proxy routing: %v", got)
	}
	if got := idx.Match("dns", ev, nil); len(got) != 1 || got[0] != dnsSet.Rules[0] {
		t.Errorf("dns routing: %v", got)
	}
	if !idx.Exclude("city-a", "d1") || idx.Exclude("city-a", "nosuch") {
		t.Fatal("Exclude found the wrong rules")
	}
	if got := idx.MatchTenant("dns", "city-a", ev, nil); len(got) != 0 {
		t.Errorf("excluded rule matched for city-a: %v", got)
	}
	if got := idx.MatchTenant("dns", "city-b", ev, nil); len(got) != 1 {
		t.Errorf("exclusion leaked to city-b: %v", got)
	}
}
