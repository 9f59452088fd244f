package cloud

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
)

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
		p := logparse.New(time.UTC, nil)
		deferred := 0
		for i, l := range intakestream.Lines(20_000) {
			ev := &event.Event{Tenant: cfg.Tenants[i%len(cfg.Tenants)].ID, Received: time.Unix(1e9, 0)}
			if lazy {
				p.ParseLazy("syslog", l, ev)
			} else {
				p.Parse("syslog", l, ev)
			}
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
