package sigma

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
)

// benchRules loads the shared rules and replicates them (distinct ids) up
// to n rules.
func benchRules(b testing.TB, n int) []*Rule {
	sharedDir(b, "sigma") // skips when absent
	base := sharedRules(b)
	var out []*Rule
	for i := 0; len(out) < n; i++ {
		r := *base[i%len(base)]
		r.ID = fmt.Sprintf("%s-%d", r.ID, i/len(base))
		if r.Aggregation != nil {
			a := *r.Aggregation
			a.ID, a.Rules = r.ID, []string{r.ID}
			r.Aggregation = &a
		}
		out = append(out, &r)
	}
	return out
}

type benchEv struct {
	mapEvent
	key    string
	t      time.Time
	tenant string
}

func (e *benchEv) Time() time.Time { return e.t }
func (e *benchEv) Tenant() string  { return e.tenant }

// syntheticStream makes proxy, DNS and firewall events from 100 tenants;
// about one in fifty carries something the rules look for.
func syntheticStream(n int) []*benchEv {
	rng := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"www.city.example.lg.jp", "update.microsoft.com", "cdn.example.net", "raw.githubusercontent.com", "api.telegram.org", "files.example.tk"}
	uas := []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36", "Microsoft BITS/7.8", "curl/8.5.0", "rclone/v1.66.0", "Mozilla/5.0 (compatible; MSIE 9.0)"}
	uris := []string{"/index.html", "/images/logo.png", "/api/v1/items?id=42", "/download/setup.exe", "/wp-login.php", "/search?q=<script>alert(1)</script>"}
	qs := []string{"www.city.example.lg.jp", "time.windows.com", "pool.minexmr.com", "aGVsbG8gd29ybGQ==.evil.example", "mail.pref.example.lg.jp"}
	out := make([]*benchEv, n)
	t := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	for i := range out {
		ev := &benchEv{mapEvent: mapEvent{}, t: t.Add(time.Duration(i) * time.Millisecond), tenant: fmt.Sprintf("tenant-%03d", rng.IntN(100))}
		src := fmt.Sprintf("10.%d.%d.%d", rng.IntN(4), rng.IntN(256), rng.IntN(256))
		ev.mapEvent["src_ip"] = src
		rare := rng.IntN(50) == 0
		pick := func(xs []string) string {
			if rare {
				return xs[rng.IntN(len(xs))]
			}
			return xs[rng.IntN(2)]
		}
		switch i % 3 {
		case 0:
			ev.key = "proxy"
			ev.mapEvent["cs-host"] = pick(hosts)
			ev.mapEvent["c-useragent"] = pick(uas)
			ev.mapEvent["c-uri"] = "http://" + ev.mapEvent["cs-host"] + pick(uris)
			ev.mapEvent["cs-method"] = "GET"
			ev.mapEvent["sc-status"] = "200"
			ev.mapEvent["dst_ip"] = "203.0.113.7"
		case 1:
			ev.key = "dns"
			ev.mapEvent["query"] = pick(qs)
			ev.mapEvent["record_type"] = "A"
			ev.mapEvent["answer"] = "198.51.100.2"
		default:
			ev.key = "firewall"
			ev.mapEvent["dst_ip"] = fmt.Sprintf("198.51.100.%d", rng.IntN(256))
			ev.mapEvent["dst_port"] = []string{"443", "80", "53", "21", "23"}[rng.IntN(5)]
			ev.mapEvent["action"] = []string{"allowed", "denied"}[rng.IntN(2)]
		}
		out[i] = ev
	}
	return out
}

// BenchmarkMatch300 measures events/s on one core matching 300 rules,
// routed by log source (Index), against the same stream matched against
// every rule (the naive baseline).
func BenchmarkMatch300(b *testing.B) {
	rules := benchRules(b, 300)
	evs := syntheticStream(30000)
	idx := NewIndex(rules)
	b.Run("indexed", func(b *testing.B) {
		var dst []*Rule
		hits := 0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ev := evs[i%len(evs)]
			dst = idx.Match(ev.key, ev, dst[:0])
			hits += len(dst)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("all-rules", func(b *testing.B) {
		hits := 0
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ev := evs[i%len(evs)]
			for _, r := range rules {
				if r.Match(ev) {
					hits++
				}
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
	b.Run("indexed+correlation", func(b *testing.B) {
		eng, err := NewEngine(nil, rules, nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		var dst []*Rule
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			ev := evs[i%len(evs)]
			dst = idx.Match(ev.key, ev, dst[:0])
			eng.Observe(ev, dst)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}

// TestMillionWindows opens one million correlation windows and records the
// heap they take; with the cap at one million, further groups evict.
func TestMillionWindows(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skipping the one-million-window memory test")
	}
	r := baseRule(t, "r1", "r1")
	corr := &Correlation{ID: "c", Title: "c", Type: "event_count", Rules: []string{"r1"}, GroupBy: []string{"src_ip"},
		Timespan: time.Hour, Conds: []Cond{{"gte", 1000}}}
	const n = 1_000_000
	e, err := NewEngine([]*Correlation{corr}, []*Rule{r}, nil, n)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	matched := []*Rule{r}
	ev := &benchEv{mapEvent: mapEvent{}, tenant: "tenant-001", t: t0}
	start := time.Now()
	for i := 0; i < n+n/5; i++ {
		ev.mapEvent["src_ip"] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		ev.tenant = fmt.Sprintf("tenant-%03d", i%100)
		e.Observe(ev, matched)
	}
	el := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if e.Open() != n || e.Evicted != n/5 {
		t.Fatalf("open %d evicted %d, want %d and %d", e.Open(), e.Evicted, n, n/5)
	}
	heap := float64(after.HeapAlloc) - float64(before.HeapAlloc)
	t.Logf("1,000,000 open windows (+200,000 evicted): heap %.0f MiB, %.0f bytes/window, %.0f events/s", heap/(1<<20), heap/n, float64(n+n/5)/el.Seconds())
	if heap/n > 1024 {
		t.Errorf("%.0f bytes per window, want under 1 KiB", heap/n)
	}
	runtime.KeepAlive(e)
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRawGate measures, in process CPU time per line of the §6
// stream (lines of a rule key: proxy, webserver, dns, firewall), the
// raw-line gate against today's detection on parsed events: "match" is
// Index.MatchTenant on the parsed event, "parse+match" adds logparse (the
// content parse deferral saves), "gate" is MayMatch on the raw line, and
// "gate+parse+match" parses and matches only the lines the gate keeps.
// Tables: "today" is logparse's verbatim table as it is; "urlfix" adds the
// URL fields logparse would copy verbatim after the proposed fix, with
// aggregation rules quiet (correlations off, as in the §6 benchmark).
func BenchmarkRawGate(b *testing.B) {
	rules := benchRules(b, 100) // the Sigma part of the §6 rule set (cloud e2eRules)
	var lines []streamEvent
	for _, se := range parsedStream(b, 20000) {
		if se.key != "" {
			lines = append(lines, se)
		}
	}
	raws := make([][]byte, len(lines))
	for i, se := range lines {
		raws[i] = []byte(se.ev.Raw)
	}
	tenants := make([]string, 100)
	for i := range tenants {
		tenants[i] = fmt.Sprintf("t%03d", i)
	}
	for _, table := range []string{"today", "urlfix"} {
		idx := NewIndex(rules)
		idx.SetGate(logparseGate(table == "urlfix", table == "urlfix"))
		kept := 0
		for i, se := range lines {
			if idx.MayMatch(se.key, tenants[i%100], se.ev.Raw) {
				kept++
			}
		}
		p := logparse.New(time.UTC, nil)
		scratch := &event.Event{}
		run := func(name string, fn func(i int) int) {
			b.Run(table+"/"+name, func(b *testing.B) {
				hits := 0
				c0 := cpuNow()
				for i := 0; b.Loop(); i++ {
					hits += fn(i % len(lines))
				}
				b.ReportMetric(float64(cpuNow()-c0)/float64(b.N), "cpu-ns/line")
				b.ReportMetric(float64(kept)/float64(len(lines)), "kept")
				b.ReportMetric(0, "ns/op")
				_ = hits
			})
		}
		var dst []*Rule
		run("match", func(i int) int {
			dst = idx.MatchTenant(lines[i].key, tenants[i%100], lines[i].ev, dst[:0])
			return len(dst)
		})
		run("parse+match", func(i int) int {
			p.Parse("syslog", raws[i], scratch)
			dst = idx.MatchTenant(lines[i].key, tenants[i%100], scratch, dst[:0])
			return len(dst)
		})
		run("gate", func(i int) int {
			if idx.MayMatch(lines[i].key, tenants[i%100], lines[i].ev.Raw) {
				return 1
			}
			return 0
		})
		run("gate+parse+match", func(i int) int {
			if !idx.MayMatch(lines[i].key, tenants[i%100], lines[i].ev.Raw) {
				return 0
			}
			p.Parse("syslog", raws[i], scratch)
			dst = idx.MatchTenant(lines[i].key, tenants[i%100], scratch, dst[:0])
			return len(dst)
		})
	}
}
