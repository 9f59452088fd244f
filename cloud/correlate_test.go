package cloud

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/internal/shareddata"
	"github.com/kyojin/kyojin/sigma"
)

// firewallRule is a base rule on firewall events carrying rule=<name>.
func firewallRule(t testing.TB, id, name, author string) *sigma.Rule {
	t.Helper()
	y := fmt.Sprintf("title: base %s\nid: %s\nname: %s\nauthor: %s\nlogsource: {category: firewall}\ndetection:\n  sel:\n    rule: %s\n  condition: sel\nlevel: low\n", name, id, name, author, name)
	s, errs := sigma.Parse([]byte(y), name+".yml", nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	return s.Rules[0]
}

var c0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func fwEvent(tenant, rule string, sec int, kv ...string) *event.Event {
	ev := &event.Event{Tenant: tenant, Source: event.SourceNetfilter, Time: c0.Add(time.Duration(sec) * time.Second),
		Raw: fmt.Sprintf("%s %s %d", tenant, rule, sec)}
	ev.Set("rule", rule)
	for i := 0; i+1 < len(kv); i += 2 {
		ev.Set(kv[i], kv[i+1])
	}
	return ev
}

// TestStreamSpecCorrelations evaluates the correlation examples of the
// Sigma specification (tests/schema/correlation) in the intake detector:
// per tenant, with sliding windows, base-rule alerts silenced (no
// "generate"), and the alert crediting the correlation and its base rules.
func TestStreamSpecCorrelations(t *testing.T) {
	dir := filepath.Join(shareddata.Logs(t, "sigma-spec"), "tests", "schema", "correlation")
	failed := "5638f7c0-ac70-491d-8465-2a65075e0d86"
	cases := []struct {
		file  string
		rules []string // base rule names; the first gets id `failed` for the count examples
		evs   func() []*event.Event
		want  []string // tenant of each expected alert, in order
	}{
		{"event_count.yml", []string{"failed"}, func() (evs []*event.Event) {
			for i := range 100 { // 100 within the hour on host A: fires at the 100th
				evs = append(evs, fwEvent("city-a", "failed", i*30, "ComputerName", "A"))
			}
			for i := range 100 { // 100 on host B over 2h: silent
				evs = append(evs, fwEvent("city-a", "failed", i*80, "ComputerName", "B"))
			}
			for i := range 60 { // 60 + 60 for the same host in two tenants: silent
				evs = append(evs, fwEvent("city-b", "failed", 4000+i, "ComputerName", "C"), fwEvent("city-c", "failed", 4000+i, "ComputerName", "C"))
			}
			return evs
		}, []string{"city-a"}},
		{"value_count.yml", []string{"failed"}, func() (evs []*event.Event) {
			for i := range 150 { // one user 150 times: 1 distinct value
				evs = append(evs, fwEvent("city-a", "failed", i, "ComputerName", "A", "WorkstationName", "W", "User", "admin"))
			}
			for i := range 100 { // 100 distinct users within a day, other tenant
				evs = append(evs, fwEvent("city-b", "failed", 200+i*600, "ComputerName", "A", "WorkstationName", "W", "User", fmt.Sprint("u", i)))
			}
			return evs
		}, []string{"city-b"}},
		{"temporal.yml", []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, func() []*event.Event {
			k := []string{"ComputerName", "PC1", "User", "bob"}
			return []*event.Event{
				fwEvent("city-a", "recon_cmd_c", 0, k...), fwEvent("city-a", "recon_cmd_a", 10, k...),
				fwEvent("city-b", "recon_cmd_b", 20, k...),                                               // other tenant: no help
				fwEvent("city-a", "recon_cmd_b", 400, k...),                                              // c is now outside 5m
				fwEvent("city-a", "recon_cmd_c", 420, k...), fwEvent("city-a", "recon_cmd_a", 430, k...), // b,c,a: fires
			}
		}, []string{"city-a"}},
		{"temporal_ordered.yml", []string{"recon_cmd_a", "recon_cmd_b", "recon_cmd_c"}, func() []*event.Event {
			k := []string{"ComputerName", "PC1", "User", "bob"}
			return []*event.Event{
				fwEvent("city-a", "recon_cmd_c", 0, k...), fwEvent("city-a", "recon_cmd_b", 5, k...), fwEvent("city-a", "recon_cmd_a", 10, k...), // wrong order
				fwEvent("city-a", "recon_cmd_b", 20, k...),
				fwEvent("city-b", "recon_cmd_c", 30, k...), // other tenant
				fwEvent("city-a", "recon_cmd_c", 40, k...), // a,b,c in order: fires
			}
		}, []string{"city-a"}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			set, errs, err := sigma.LoadDir(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			_ = errs // value_percentile is unsupported on purpose
			var corr *sigma.Correlation
			for _, x := range set.Correlations {
				if filepath.Base(x.File) == c.file {
					corr = x
				}
			}
			if corr == nil {
				t.Fatalf("%s did not load", c.file)
			}
			var rules []*sigma.Rule
			for i, n := range c.rules {
				id := "00000000-0000-4000-8000-00000000000" + fmt.Sprint(i)
				if i == 0 && strings.HasPrefix(c.file, "event_count") || strings.HasPrefix(c.file, "value_count") {
					id = failed
				}
				rules = append(rules, firewallRule(t, id, n, "Author "+n))
			}
			var out syncBuffer
			d := NewSigmaDetector(rules, &out)
			if err := d.EnableCorrelations([]*sigma.Correlation{corr}, rules, CorrelationOptions{Tenants: 3}); err != nil {
				t.Fatal(err)
			}
			for _, ev := range c.evs() {
				d.Detect(ev)
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if out.String() == "" {
				lines = nil
			}
			if len(lines) != len(c.want) {
				t.Fatalf("%d alerts, want %d:\n%s", len(lines), len(c.want), out.String())
			}
			for i, l := range lines {
				if !strings.Contains(l, `"tenant":"`+c.want[i]+`"`) || !strings.Contains(l, `"title":"`+corr.Title+`"`) {
					t.Errorf("alert %d: %s", i, l)
				}
				for _, n := range c.rules { // DRL: every base rule is credited
					if !strings.Contains(l, "by Author "+n) {
						t.Errorf("alert lacks the credit of base rule %s: %s", n, l)
					}
				}
			}
			if st := d.CorrelationStats(); st.Fired != uint64(len(c.want)) {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestCorrelationThroughIntake: real netfilter lines through the intake's
// parse workers; an event_count correlation over dropped packets per source
// fires once per tenant that crosses it; "generate: true" keeps the base
// rule's own alerts.
func TestCorrelationThroughIntake(t *testing.T) {
	rules := `title: Dropped at the LGWAN firewall
id: 9a1f0c44-0c5e-4f7e-9a57-2d8c1d7f0d01
name: lgwan_drop
author: kyojin tests
logsource: {category: firewall}
detection:
  sel:
    action: drop
  condition: sel
level: low
---
title: Port scan from one source
id: 9a1f0c44-0c5e-4f7e-9a57-2d8c1d7f0d02
author: kyojin corr
correlation:
  type: value_count
  rules: [lgwan_drop]
  group-by: [src_ip]
  timespan: 1m
  condition: {field: dst_port, gte: 10}
  generate: true
level: high
`
	set, errs := sigma.Parse([]byte(rules), "scan.yml", nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	r, _ := start(t, 1000)
	defer r.stop(t)
	var out syncBuffer
	d := NewSigmaDetector(set.Rules, &out)
	if err := d.EnableCorrelations(set.Correlations, set.Rules, CorrelationOptions{}); err != nil {
		t.Fatal(err)
	}
	r.in.SetDetector(d)
	r.in.Start(2)
	line := func(src string, port int) []byte {
		return fmt.Appendf(nil, `<4>Nov 22 05:00:%02d fw1 kernel: [1.0] DROP IN=eth1 OUT=eth0 SRC=%s DST=198.51.100.80 LEN=60 TTL=64 PROTO=TCP SPT=40000 DPT=%d SYN`, port%60, src, port)
	}
	for p := 1; p <= 12; p++ {
		for _, tn := range []string{"pref", "town"} {
			src := "203.0.113.7"
			if tn == "town" && p > 9 {
				continue // town sees only 9 ports: silent
			}
			if err := r.in.Submit(t.Context(), tn, "syslog", line(src, p)); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.stop(t)
	s := out.String()
	if n := strings.Count(s, `"title":"Port scan from one source"`); n != 1 {
		t.Fatalf("%d correlation alerts, want 1:\n%s", n, s)
	}
	if n := strings.Count(s, `"title":"Dropped at the LGWAN firewall"`); n != 12+9 {
		t.Errorf("%d base alerts, want 21 (generate: true)", n)
	}
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, `"title":"Port scan`) && (!strings.Contains(l, `"tenant":"pref"`) || !strings.Contains(l, "by kyojin tests") || !strings.Contains(l, "by kyojin corr")) {
			t.Errorf("correlation alert: %s", l)
		}
	}
}

// TestCorrelationWindowCap: each tenant gets its share of the cap; a flood
// of new groups from one tenant evicts only that tenant's windows, counted.
func TestCorrelationWindowCap(t *testing.T) {
	base := firewallRule(t, "00000000-0000-4000-8000-0000000000aa", "hit", "a")
	corr := &sigma.Correlation{ID: "c", Title: "c", Type: "event_count", Rules: []string{"hit"}, GroupBy: []string{"src_ip"},
		Timespan: time.Hour, Conds: []sigma.Cond{{Op: "gte", V: 3}}}
	var out syncBuffer
	d := NewSigmaDetector([]*sigma.Rule{base}, &out)
	if err := d.EnableCorrelations([]*sigma.Correlation{corr}, []*sigma.Rule{base}, CorrelationOptions{MaxWindows: 4096, Tenants: 2}); err != nil {
		t.Fatal(err)
	}
	// victim opens two windows, one event each
	d.Detect(fwEvent("victim", "hit", 0, "src_ip", "192.0.2.1"))
	d.Detect(fwEvent("victim", "hit", 1, "src_ip", "192.0.2.1"))
	for i := range 5000 { // flood: 5,000 distinct sources, cap 2,048 per tenant
		d.Detect(fwEvent("flood", "hit", i, "src_ip", fmt.Sprintf("10.0.%d.%d", i>>8, i&255)))
	}
	st := d.CorrelationStats()
	if st.Cap != 2048 || st.Open != 2048+1 || st.Evicted != 5000-2048 {
		t.Fatalf("stats %+v", st)
	}
	d.Detect(fwEvent("victim", "hit", 2, "src_ip", "192.0.2.1")) // third: the victim's window survived the flood
	if !strings.Contains(out.String(), `"tenant":"victim"`) {
		t.Fatalf("victim's correlation lost to another tenant's flood:\n%s", out.String())
	}
}

// TestMillionOpenWindows opens 1,000,000 windows across 100 tenants through
// the detector and reports the heap per window (issue 8 §6).
func TestMillionOpenWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the one-million-window memory test")
	}
	base := firewallRule(t, "00000000-0000-4000-8000-0000000000bb", "hit", "a")
	corr := &sigma.Correlation{ID: "c", Title: "c", Type: "event_count", Rules: []string{"hit"}, GroupBy: []string{"src_ip"},
		Timespan: time.Hour, Conds: []sigma.Cond{{Op: "gte", V: 1000}}}
	var out syncBuffer
	d := NewSigmaDetector([]*sigma.Rule{base}, &out)
	const n, tenants = 1_000_000, 100
	if err := d.EnableCorrelations([]*sigma.Correlation{corr}, []*sigma.Rule{base}, CorrelationOptions{MaxWindows: n, Tenants: tenants}); err != nil {
		t.Fatal(err)
	}
	names := make([]string, tenants)
	for i := range names {
		names[i] = fmt.Sprintf("city-%03d", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ev := &event.Event{Source: event.SourceNetfilter, Fields: map[string]string{"rule": "hit"}}
	total := n + n/10
	start := time.Now()
	for i := range total {
		ev.Tenant = names[i%tenants]
		ev.Time = c0.Add(time.Duration(i) * time.Millisecond)
		ev.Fields["src_ip"] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		d.Detect(ev)
	}
	el := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	st := d.CorrelationStats()
	if st.Open != n || st.Evicted != uint64(total-n) {
		t.Fatalf("stats %+v, want %d open and %d evicted", st, n, total-n)
	}
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	t.Logf("%d open windows over %d tenants (+%d evicted): heap %.0f MiB, %.0f bytes/window, %.0f events/s",
		n, tenants, total-n, heap/(1<<20), heap/n, float64(total)/el.Seconds())
	if heap/n > 1024 {
		t.Errorf("%.0f bytes per window, want under 1 KiB", heap/n)
	}
	runtime.KeepAlive(d)
}

// TestExcludePerTenant: a tenant's exclude_rules turns off a correlation
// (and a base rule) for that tenant only.
func TestExcludePerTenant(t *testing.T) {
	base := firewallRule(t, "00000000-0000-4000-8000-0000000000cc", "hit", "a")
	corr := &sigma.Correlation{ID: "corr-1", Title: "two hits", Type: "event_count", Rules: []string{"hit"}, GroupBy: []string{"src_ip"},
		Timespan: time.Hour, Conds: []sigma.Cond{{Op: "gte", V: 2}}, Generate: true}
	var out syncBuffer
	d := NewSigmaDetector([]*sigma.Rule{base}, &out)
	if err := d.EnableCorrelations([]*sigma.Correlation{corr}, []*sigma.Rule{base}, CorrelationOptions{}); err != nil {
		t.Fatal(err)
	}
	if !d.Exclude("quiet", "corr-1") || d.Exclude("quiet", "no-such-rule") {
		t.Fatal("Exclude does not report known and unknown ids")
	}
	for _, tn := range []string{"loud", "quiet"} {
		d.Detect(fwEvent(tn, "hit", 0, "src_ip", "192.0.2.1"))
		d.Detect(fwEvent(tn, "hit", 1, "src_ip", "192.0.2.1"))
	}
	s := out.String()
	if strings.Count(s, `"title":"two hits"`) != 1 || strings.Contains(s, `"tenant":"quiet","rule":"corr-1"`) {
		t.Errorf("correlation alerts:\n%s", s)
	}
	if strings.Count(s, `"title":"base hit"`) != 4 {
		t.Errorf("base alerts (generate: true) should remain for both tenants:\n%s", s)
	}
}
