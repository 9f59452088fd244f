package cloud

// Tests of the paths that decide events from their raw line without
// parsing them (scanAddrs, the model, Sigma and intelligence gates),
// each against the full parse.

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/model"
)

// parseAs parses line into ev deferred (ParseLazy) or at once (Parse).
func parseAs(p *logparse.Parser, lazy bool, line []byte, ev *event.Event) {
	if lazy {
		p.ParseLazy("syslog", line, ev)
	} else {
		p.Parse("syslog", line, ev)
	}
}

// addrsFound fails when an address field of the parsed event is neither
// reported by scanAddrs on the raw line nor covered by an unjudged line.
func addrsFound(t testing.TB, ev *event.Event) {
	t.Helper()
	seen := map[netip.Addr]bool{}
	judged := scanAddrs(ev.Raw, func(a netip.Addr) { seen[a] = true })
	if !judged {
		return
	}
	for _, f := range []string{event.SrcIP, event.DstIP} {
		a, ok := addrField(ev, f)
		if ok && a.Zone() == "" && !seen[a] {
			t.Fatalf("%s %v of %q not found by scanAddrs (found %v)", f, a, ev.Raw, seen)
		}
	}
}

func TestScanAddrs(t *testing.T) {
	cases := []struct {
		s      string
		want   []string
		judged bool
	}{
		{"SRC=10.1.2.3 DST=203.0.113.5 MAC=00:11:22:33:44:55:66:77:88:99:aa:bb:08:00", []string{"10.1.2.3", "203.0.113.5"}, true},
		{"client 10.3.2.2#53111 (example.com)", []string{"10.3.2.2"}, true},
		{"HIER_DIRECT/203.0.113.9 host[2001:db8::1] [fe80::1%eth0]:80", []string{"203.0.113.9", "2001:db8::1", "fe80::1"}, true},
		{"::ffff:10.1.2.3 at 10:00:01", []string{"10.1.2.3"}, true},
		{"1763805601.123 010.1.2.3 256.1.1.1 1.2.3", nil, true},
		{"tcpdump 10.1.2.3.53 > 10.3.0.1.4444", []string{"10.1.2.3", "1.2.3.53", "10.3.0.1"}, true},
		{"weird a::b::c", nil, false},
	}
	for _, c := range cases {
		var got []string
		judged := scanAddrs(c.s, func(a netip.Addr) { got = append(got, a.String()) })
		if judged != c.judged {
			t.Errorf("%q: judged %v", c.s, judged)
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: %s not found in %v", c.s, w, got)
			}
		}
		if c.want == nil && len(got) != 0 {
			t.Errorf("%q: found %v, want none", c.s, got)
		}
	}
	p := logparse.New(time.UTC, nil)
	for _, l := range intakestream.Lines(20_000) {
		ev := &event.Event{}
		p.Parse("syslog", l, ev)
		addrsFound(t, ev)
	}
}

func FuzzScanAddrs(f *testing.F) {
	for _, l := range intakestream.Lines(100) {
		f.Add(l)
	}
	f.Add([]byte("<4>Nov 22 10:00:03 fw1 kernel: DROP IN=eth0 SRC=2001:db8::5 DST=::ffff:10.1.0.1 PROTO=TCP DPT=443"))
	p := logparse.New(time.UTC, nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		ev := &event.Event{}
		p.Parse("syslog", line, ev)
		addrsFound(t, ev)
	})
}

// TestModelRulesLazy: the model rules raise the same alerts on deferred
// events (decided from the raw line where possible) as on parsed ones,
// over the benchmark stream with 100 tenants' models.
func TestModelRulesLazy(t *testing.T) {
	cfg := e2eConfig(t, t.TempDir())
	run := func(lazy bool) (string, int) {
		var out bytes.Buffer
		d := NewModelDetector(cfg.Tenants, &out)
		d.noGate = !lazy // the reference judges every parsed event in full
		p := logparse.New(time.UTC, nil)
		deferred := 0
		for i, l := range intakestream.Lines(20_000) {
			ev := &event.Event{Tenant: cfg.Tenants[i%len(cfg.Tenants)].ID, Received: time.Unix(1e9, 0)}
			parseAs(p, lazy, l, ev)
			d.Detect(ev)
			if ev.Deferred() {
				deferred++
			}
		}
		return out.String(), deferred
	}
	eager, _ := run(false)
	lazy, deferred := run(true)
	if eager != lazy {
		t.Fatalf("alerts differ:\neager %d bytes\nlazy  %d bytes", len(eager), len(lazy))
	}
	if bytes.Count([]byte(eager), []byte("\n")) < 100 || deferred < 15_000 {
		t.Fatalf("%d alerts, %d of 20000 events left unparsed", bytes.Count([]byte(eager), []byte("\n")), deferred)
	}
}

func TestTouches(t *testing.T) {
	pfx := func(ss ...string) (tm *tenantModel) {
		tm = &tenantModel{}
		var ps []netip.Prefix
		for _, s := range ss {
			p := netip.MustParsePrefix(s)
			tm.zones = append(tm.zones, zoneNet{p: p})
			ps = append(ps, p)
		}
		tm.lits, tm.fullScan = firstOctets(ps)
		return tm
	}
	v4 := pfx("10.1.0.0/16", "192.168.5.0/24")
	v6 := pfx("10.1.0.0/16", "2001:db8:1::/48")
	for _, c := range []struct {
		tm   *tenantModel
		raw  string
		want bool
	}{
		{v4, "SRC=10.3.1.1 DST=203.0.113.1", false},
		{v4, "SRC=10.1.2.3 DST=203.0.113.1", true},
		{v4, "client 110.1.2.3#53", false},
		{v4, "host[::ffff:192.168.5.77]", true},
		{v4, "x 10.1.2.3.53 > y", true},
		{v4, "010.1.2.3 10.1.2.345 10.01.2.3", false},
		{v4, "192.168.6.1 192.168.5", false},
		{v6, "SRC=2001:db8:1::5", true},
		{v6, "SRC=2001:db8:2::5 DST=10.3.0.1", false},
		{v6, "odd a::b::c", true}, // cannot be judged from the text
	} {
		if got := c.tm.touches(c.raw); got != c.want {
			t.Errorf("touches(%q) = %v (full scan %v)", c.raw, got, c.tm.fullScan)
		}
	}
	if !v6.fullScan || v4.fullScan || len(v4.lits) != 2 {
		t.Fatalf("lits %v full %v / %v", v4.lits, v4.fullScan, v6.fullScan)
	}
}

// FuzzModelRulesLazy: on any line, the model rules alert alike on the
// deferred and on the parsed event (IPv4 and IPv6 zone layouts).
func FuzzModelRulesLazy(f *testing.F) {
	for _, l := range intakestream.Lines(100) {
		f.Add(l)
	}
	f.Add([]byte("<4>Nov 22 10:00:03 fw1 kernel: DROP IN=eth0 SRC=2001:db8:1::5 DST=::ffff:203.0.113.9 PROTO=TCP DPT=443"))
	pfx := func(s string) []model.Prefix { return []model.Prefix{{Prefix: netip.MustParsePrefix(s)}} }
	tenants := []Tenant{
		{ID: "v4", Loaded: &model.Model{Zones: []*model.Zone{{ID: "mn", Type: model.ZoneMyNumber, Subnets: pfx("10.1.0.0/16")}, {ID: "lg", Type: model.ZoneLGWAN, Subnets: pfx("10.2.0.0/16")}}}},
		{ID: "v6", Loaded: &model.Model{Zones: []*model.Zone{{ID: "mn", Type: model.ZoneMyNumber, Subnets: pfx("2001:db8:1::/48")}, {ID: "lg", Type: model.ZoneLGWAN, Subnets: pfx("10.2.0.0/16")}}}},
	}
	p := logparse.New(time.UTC, nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, tn := range tenants {
			var eager, lazy bytes.Buffer
			de, dl := NewModelDetector(tenants, &eager), NewModelDetector(tenants, &lazy)
			de.noGate = true
			ev := &event.Event{Tenant: tn.ID, Received: time.Unix(1e9, 0)}
			p.Parse("syslog", line, ev)
			de.Detect(ev)
			ev = &event.Event{Tenant: tn.ID, Received: time.Unix(1e9, 0)}
			p.ParseLazy("syslog", line, ev)
			dl.Detect(ev)
			if eager.String() != lazy.String() {
				t.Fatalf("tenant %s, %q:\neager %s\nlazy  %s", tn.ID, line, eager.String(), lazy.String())
			}
		}
	})
}

// TestSigmaGateLazy: the Sigma detector raises the same alerts on
// deferred events (most decided from the raw line by the gate) as on
// parsed ones, over the §6 stream and rules; it reports how many events
// the gate had parsed per source.
func TestSigmaGateLazy(t *testing.T) {
	rules := e2eRules(t)
	cfg := e2eConfig(t, t.TempDir())
	run := func(lazy bool) (string, map[string][2]int) {
		var out bytes.Buffer
		d := NewSigmaDetector(rules, &out)
		p := logparse.New(time.UTC, nil)
		per := map[string][2]int{}
		for i, l := range intakestream.Lines(20_000) {
			ev := &event.Event{Tenant: cfg.Tenants[i%len(cfg.Tenants)].ID, Received: time.Unix(1e9, 0)}
			parseAs(p, lazy, l, ev)
			src := ev.Source
			d.Detect(ev)
			c := per[src]
			c[0]++
			if !ev.Deferred() {
				c[1]++
			}
			per[src] = c
		}
		return out.String(), per
	}
	eager, _ := run(false)
	lazy, per := run(true)
	if eager != lazy {
		t.Fatalf("alerts differ: eager %d lines, lazy %d lines", strings.Count(eager, "\n"), strings.Count(lazy, "\n"))
	}
	if strings.Count(eager, "\n") < 100 {
		t.Fatalf("only %d alerts: the comparison proves little", strings.Count(eager, "\n"))
	}
	parsed := 0
	for src, c := range per {
		t.Logf("%-10s %5d events, %5d parsed by the gate (%.1f%%)", src, c[0], c[1], 100*float64(c[1])/float64(c[0]))
		parsed += c[1]
	}
	if parsed > 20_000/4 {
		t.Errorf("the gate parsed %d of 20000 events", parsed)
	}
}

// TestSourceSwitches: the routing of every source.
func TestSourceSwitches(t *testing.T) {
	for _, c := range []struct {
		src, key string
		internet bool
	}{
		{event.SourceSquid, "proxy", true}, {event.SourceBIND, "dns", true}, {event.SourceUnbound, "dns", true},
		{event.SourcePostfix, "", false}, {event.SourceWeb, "webserver", false}, {event.SourceNetfilter, "firewall", true},
		{event.SourceFortiGate, "firewall", true}, {"pf", "firewall", true}, {event.SourceAudit, "", false},
		{event.SourceSyslog, "", false}, {"", "", false},
	} {
		k, ok := sourceKey(c.src)
		if k != c.key || ok != (c.key != "") || internetLog(c.src) != c.internet {
			t.Errorf("%q: key %q %v; internet %v", c.src, k, ok, internetLog(c.src))
		}
	}
}

// FuzzSigmaGateLazy: on any line, the Sigma detector (per-source gates
// from logparse's promises) alerts alike on the deferred and the parsed
// event.
func FuzzSigmaGateLazy(f *testing.F) {
	for _, l := range intakestream.Lines(200) {
		f.Add(l)
	}
	f.Add([]byte("<4>Nov 22 10:00:03 fw1 kernel: LGWAN-ACCEPT IN=eth0 OUT= SRC=10.2.1.1 DST=203.0.113.5 PROTO=TCP SPT=5555 DPT=80"))
	f.Add([]byte("<4>Nov 22 10:00:03 fw1 kernel: LGWAN-DROP IN=eth0 OUT= SRC=10.2.1.1 DST=203.0.113.5 PROTO=TCP SPT=5555 DPT=8080 ACCEPT"))
	rules := e2eRules(f)
	p := logparse.New(time.UTC, nil)
	var a, b bytes.Buffer
	de, dl := NewSigmaDetector(rules, &a), NewSigmaDetector(rules, &b)
	f.Fuzz(func(t *testing.T, line []byte) {
		a.Reset()
		b.Reset()
		ev := &event.Event{Tenant: "t000", Received: time.Unix(1e9, 0)}
		p.Parse("syslog", line, ev)
		de.Detect(ev)
		ev = &event.Event{Tenant: "t000", Received: time.Unix(1e9, 0)}
		p.ParseLazy("syslog", line, ev)
		dl.Detect(ev)
		if a.String() != b.String() {
			t.Fatalf("%q:\neager %s\nlazy  %s", line, a.String(), b.String())
		}
	})
}
