package logparse

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
)

// checkVerbatim fails when a field Verbatim vouches for is not in the raw
// line (ASCII case folded).
func checkVerbatim(t testing.TB, ev *event.Event) {
	t.Helper()
	raw := strings.ToLower(ev.Raw)
	for k, v := range ev.Fields {
		if Verbatim(ev.Source, k) && !strings.Contains(raw, strings.ToLower(v)) {
			t.Fatalf("source %s field %s = %q is not in the raw line %q", ev.Source, k, v, ev.Raw)
		}
	}
	if !Verbatim(ev.Source, "host") || !strings.Contains(ev.Raw, ev.Host) {
		t.Fatalf("host %q not in %q", ev.Host, ev.Raw)
	}
}

func TestVerbatim(t *testing.T) {
	p := New(time.UTC, nil)
	lines := intakestream.Lines(20_000)
	lines = append(lines, seedLines(t)...)
	lines = append(lines,
		[]byte("<134>Nov 22 10:00:01 proxy1 squid[811]: 1763805601.123 45 10.3.1.5 TCP_MISS/200 1234 GET http://user@%65vil.example:8080/a%2Fb/<x>.php?q=%3Cscript%3E#frag - HIER_DIRECT/203.0.113.9 text/html"),
		[]byte("<134>Nov 22 10:00:01 proxy1 squid[811]: 1763805601.123 45 10.3.1.5 TCP_TUNNEL/200 1234 CONNECT [2001:db8::1]:443 - HIER_DIRECT/2001:db8::1 -"),
		[]byte(`<134>Nov 22 10:00:01 web1 nginx: 10.3.1.5 - - [22/Nov/2026:10:00:01 +0900] "GET http://Example.JP/%7Euser/a.PHP?x=1 HTTP/1.1" 200 5 "-" "curl/8"`),
		[]byte("<4>Nov 22 10:00:03 fw1 kernel: LGWAN-Drop IN=eth0 OUT= SRC=10.2.1.1 DST=203.0.113.5 PROTO=TCP SPT=5555 DPT=443 SYN URGP=0 DF"),
	)
	for _, l := range lines {
		ev := &event.Event{Tenant: "t"}
		p.Parse("syslog", l, ev)
		checkVerbatim(t, ev)
	}
}

// seedLines are the lines of TestParse's table.
func seedLines(t testing.TB) [][]byte {
	var out [][]byte
	for _, c := range parseCases {
		out = append(out, []byte(c.line))
	}
	return out
}

func FuzzVerbatim(f *testing.F) {
	for _, l := range intakestream.Lines(200) {
		f.Add(l)
	}
	p := New(time.UTC, nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		ev := &event.Event{Tenant: "t"}
		p.Parse("syslog", line, ev)
		if ev.Reparse() != "" {
			checkVerbatim(t, ev)
		}
	})
}

// TestSplitURL: on URLs without escapes, splitURL agrees with url.Parse;
// on any URL its parts are substrings of it.
func TestSplitURL(t *testing.T) {
	for _, raw := range []string{
		"http://example.jp/a/b.php?x=1&y=2", "https://user:pw@Example.JP:8443/", "http://[2001:db8::1]:8080/p?q",
		"http://example.jp", "http://example.jp?q=1", "http://h/p#frag?no", "/relative/path?q", "ftp://h:21/x.tar.gz",
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		host, port, stem, q := splitURL(raw)
		if host != u.Hostname() || port != u.Port() || stem != u.EscapedPath() || q != u.RawQuery {
			t.Errorf("%s: got %q %q %q %q, url.Parse %q %q %q %q", raw, host, port, stem, q, u.Hostname(), u.Port(), u.EscapedPath(), u.RawQuery)
		}
	}
}

// checkBounds fails when a field's value does not occur in the raw line
// between one of its Bounds.
func checkBounds(t testing.TB, ev *event.Event) {
	t.Helper()
	for k, v := range ev.Fields {
		if Absent(ev.Source, k) {
			t.Fatalf("source %s set %s, which Absent says it never sets: %q", ev.Source, k, ev.Raw)
		}
		if vals := Values(ev.Source, k); vals != nil && !slices.Contains(vals, strings.ToLower(v)) {
			t.Fatalf("source %s field %s = %q is not one of %q: %q", ev.Source, k, v, vals, ev.Raw)
		}
	}
	raw := strings.ToLower(ev.Raw) + "\n"
	for k, v := range ev.Fields {
		before, after := Bounds(ev.Source, k)
		if before == nil && after == nil {
			continue
		}
		v = strings.ToLower(v)
		found := false
		for _, b := range before {
			for _, a := range after {
				found = found || strings.Contains(raw, b+v+a)
			}
		}
		if !found {
			t.Fatalf("source %s field %s = %q: not between %q and %q in %q", ev.Source, k, v, before, after, ev.Raw)
		}
	}
}

func TestBounds(t *testing.T) {
	p := New(time.UTC, nil)
	lines := append(intakestream.Lines(20_000), seedLines(t)...)
	lines = append(lines,
		[]byte("<4>Nov 22 10:00:03 fw1 kernel: LGWAN-Drop IN=eth0 OUT= SRC=10.2.1.1 DST=203.0.113.5 PROTO=TCP SPT=5555 DPT=443"),
		[]byte("<4>Nov 22 10:00:03 fw1 kernel: X IN=eth0\tSRC=10.2.1.1 DST=203.0.113.5 PROTO=UDP SPT=53 DPT=53 DPT=54"),
		[]byte("<134>Nov 22 10:00:03 fw2 filterlog: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,10.2.0.5,203.0.113.7,51000,23,0,S,1,,,,"),
		[]byte("<4>Nov 22 10:00:03 fw1 kernel: 拒否 IN=eth0 SRC=10.2.1.1 DST=203.0.113.5 PROTO=TCP SPT=5555 DPT=23\u3000WINDOW=0"),
		[]byte(`<4>Nov 22 10:00:03 fw3 fortigate: date=2026-11-22 time=10:00:03 srcip=10.2.1.1 dstip=203.0.113.5 dstport="23" srcport=5555 action=deny`),
	)
	n := 0
	for _, l := range lines {
		ev := &event.Event{Tenant: "t"}
		p.Parse("syslog", l, ev)
		if b, _ := Bounds(ev.Source, event.DstPort); b != nil && ev.Fields[event.DstPort] != "" {
			n++
		}
		checkBounds(t, ev)
	}
	if n < 100 {
		t.Fatalf("only %d events had a bounded dst_port: the test checks little", n)
	}
}

func FuzzBounds(f *testing.F) {
	for _, l := range intakestream.Lines(200) {
		f.Add(l)
	}
	f.Add([]byte("<134>Nov 22 10:00:03 fw2 filterlog: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,10.2.0.5,203.0.113.7,51000,23,0,S,1,,,,"))
	p := New(time.UTC, nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		ev := &event.Event{Tenant: "t"}
		p.Parse("syslog", line, ev)
		if ev.Reparse() != "" {
			checkBounds(t, ev)
		}
	})
}
