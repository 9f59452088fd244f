package logparse

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
)

// fastSeeds are syslog lines of every shape the fast paths see or must
// decline: the usual RFC 3164 forms, and near misses (nil values, leading
// zeros, impossible dates, long tags, control bytes, missing host).
var fastSeeds = []string{
	`<4>Nov 22 05:00:00 fw1 kernel: [1.0] LGWAN-DROP IN=eth1 OUT=eth0 SRC=10.20.3.4 DST=198.51.100.80 PROTO=TCP SPT=40000 DPT=443 SYN`,
	`<30>Nov  2 05:00:01 dns1 named[812]: client @0x7f1 10.1.1.1#5353 (evil.example): query: evil.example IN A +E(0) (10.0.0.53)`,
	`<190>Nov 22 23:59:59 web1 nginx: 203.0.113.5 - - [22/Nov/2026:05:00:00 +0900] "GET /a.php HTTP/1.1" 200 5 "-" "curl/8"`,
	`<22>Nov 22 05:00:03 mx postfix/smtpd[2041]: NOQUEUE: reject: RCPT from unknown[192.0.2.4]: 554 5.7.1 denied; from=<a@x> to=<b@y> proto=ESMTP helo=<h>`,
	`<134>Feb 29 05:00:04 proxy squid[951]: 1700000000.004 9 10.3.0.5 TCP_MISS/200 1028 GET http://x.example/i.html - HIER_DIRECT/198.51.100.5 text/html`,
	`<0>Jan  1 00:00:00 h t: m`,
	`<191>Dec 31 12:34:56 h.example.lg.jp prog-name_1.2[a-b.c]: message with ünïcödé and 日本語`,
	`May 11 04:02:37 host1 postfix/smtpd[26897]: warning: unknown[192.168.1.1]: SASL LOGIN authentication failed`,
	`<13>Nov 22 05:00:00 host tag:  two spaces`,
	`<13>Nov 22 05:00:00 host tag:`,
	`<13>Nov 22 05:00:00 host tag: `,
	`<13>Nov 22 05:00:00 - tag: nil host`,
	`<13>Nov 22 05:00:00 host -: nil tag`,
	`<13>Nov 22 05:00:00 host tag[-]: nil pid`,
	`<13>Nov 22 05:00:00 host tag[]: empty pid`,
	`<013>Nov 22 05:00:00 host tag: leading zero`,
	`<192>Nov 22 05:00:00 host tag: out of range`,
	`<13>Nov 02 05:00:00 host tag: zero-padded day`,
	`<13>Feb 30 05:00:00 host tag: impossible day`,
	`<13>Apr 31 05:00:00 host tag: impossible day`,
	`<13>Nov 22 24:00:00 host tag: hour 24`,
	`<13>Nov 22 05:60:00 host tag: minute 60`,
	`<13>Nov 22 05:00:60 host tag: leap second`,
	`<13>Nov 22 05:00:00 kernel: no host`,
	`<13>Nov 22 05:00:00  host tag: two spaces before host`,
	`<13>Nov 22 05:00:00 host  tag: two spaces before tag`,
	`<13>Nov 22 05:00:00 host abcdefghijabcdefghijabcdefghijabcdefghijabcdefgh: 48-byte tag`,
	`<13>Nov 22 05:00:00 host abcdefghijabcdefghijabcdefghijabcdefghijabcdefghi: 49-byte tag`,
	"<13>Nov 22 05:00:00 host tag: tab\there",
	"<13>Nov 22 05:00:00 host tag: del\x7fhere",
	"<13>Nov 22 05:00:00 host tag: bell\x07",
	`<13>Nov 22 05:00:00 host tag[1] no colon`,
	`<13>Nov 22 05:00:00 host tag[1]:no space`,
	`<13>Nov 22 05:00:00 host tag]x: bracket`,
	`<13>Nov 22 05:00:00 host tag[1:2]: colon in pid`,
	`<13>Nov 22 05:00:00 ho:st tag: colon in host`,
	`<13>Nov 22 05:00:00 ho!st tag: odd host`,
	`<13>Nov 22 05:00:00 host t@g!: odd tag`,
	`<13>Nov 22 05:00:00.123 host tag: fraction`,
	`<13>2026-11-22T05:00:00Z host tag: rfc3339`,
	`<13>2026-11-22T05:00:00.123+09:00 host postfix/submission/smtpd[12]: rfc3339 with fraction`,
	`<13>1 2026-11-22T05:00:00Z host app 1 - - rfc5424`,
	`<13>Nov 22 05:00:00 host`,
	`<13>Nov 22 05:00:00 `,
	`<13>Nov 22 05:00:00`,
	`<13>`,
	`<1`,
	`Nov 22 05:00:00 host tag: bare`,
	`Xyz 22 05:00:00 host tag: bad month`,
	`<13>nov 22 05:00:00 host tag: lowercase month`,
}

// compareParse parses line with the fast paths and with go-syslog only
// and reports any difference in the resulting event.
func compareParse(t testing.TB, format, line string) {
	t.Helper()
	now := func() time.Time { return time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC) }
	loc, _ := time.LoadLocation("Asia/Tokyo")
	if loc == nil {
		loc = time.FixedZone("JST", 9*3600)
	}
	fast, slow := New(loc, now), New(loc, now)
	slow.slow = true
	var a, b event.Event
	fast.Parse(format, []byte(line), &a)
	slow.Parse(format, []byte(line), &b)
	if len(a.Fields) == 0 {
		a.Fields = nil
	}
	if len(b.Fields) == 0 {
		b.Fields = nil
	}
	if !a.Time.Equal(b.Time) || a.Time.Location().String() != b.Time.Location().String() {
		t.Errorf("%q: time %v (fast) vs %v (go-syslog)", line, a.Time, b.Time)
	}
	a.Time, b.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%q:\nfast      %+v\ngo-syslog %+v", line, a, b)
	}
}

// mutate changes a line in one of the ways real and hostile senders do.
func mutate(rng *rand.Rand, s string) string {
	if s == "" {
		return s
	}
	i := rng.IntN(len(s))
	switch rng.IntN(6) {
	case 0: // delete a byte
		return s[:i] + s[i+1:]
	case 1: // insert a special byte
		specials := " :[]<>-\t\x00\x7f\xff0123456789"
		return s[:i] + string(specials[rng.IntN(len(specials))]) + s[i:]
	case 2: // replace a byte
		return s[:i] + string(rune(rng.IntN(128))) + s[i+1:]
	case 3: // cut
		return s[:i]
	case 4: // duplicate a span
		j := min(len(s), i+rng.IntN(8))
		return s[:j] + s[i:j] + s[j:]
	default: // invalid UTF-8
		return s[:i] + "\x82\xa0" + s[i:]
	}
}

// TestUnframeFastAgrees: the fast RFC 3164 path and go-syslog give the same
// event for the seeds, the crowdsec samples, and 100,000 mutations of them.
func TestUnframeFastAgrees(t *testing.T) {
	corpus := append([]string(nil), fastSeeds...)
	for _, c := range parseCases {
		corpus = append(corpus, c.line)
	}
	if dir := crowdsecDir(); dir != "" {
		logs, _ := filepath.Glob(filepath.Join(dir, "*", "*.log"))
		for _, lf := range logs {
			b, err := os.ReadFile(lf)
			if err != nil {
				t.Fatal(err)
			}
			corpus = append(corpus, strings.Split(string(b), "\n")...)
		}
	}
	fastHits := 0
	probe := New(time.UTC, nil)
	for _, l := range corpus {
		for _, f := range []string{"syslog", "postfix", "bind", "squid"} {
			compareParse(t, f, l)
		}
		if _, ok := probe.unframe3164(l, &event.Event{}); ok {
			fastHits++
		}
	}
	// the seeds hold 9 lines of the common shape; the crowdsec syslog
	// samples add more
	if fastHits < 9 {
		t.Errorf("fast path taken for %d corpus lines only", fastHits)
	}
	rng := rand.New(rand.NewPCG(8, 3164))
	n := 100_000
	if testing.Short() {
		n = 10_000
	}
	for i := 0; i < n && !t.Failed(); i++ {
		l := corpus[rng.IntN(len(corpus))]
		for k := rng.IntN(3) + 1; k > 0; k-- {
			l = mutate(rng, l)
		}
		compareParse(t, "syslog", l)
	}
	t.Logf("%d corpus lines (%d on the fast path), %d mutations compared", len(corpus), fastHits, n)
}

// crowdsecDir is the crowdsec sample folder, or "" when absent.
func crowdsecDir() string {
	root, _ := filepath.Abs("..")
	for _, p := range []string{filepath.Join(root, "..", "shared", "data", "logs", "crowdsec-tests"), filepath.Join(root, "..", "..", "shared", "data", "logs", "crowdsec-tests")} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// FuzzUnframeFast: for any input the fast paths and go-syslog agree.
func FuzzUnframeFast(f *testing.F) {
	for _, s := range fastSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		compareParse(t, "syslog", line)
	})
}

// FuzzFields: fields splits as strings.Fields does.
func FuzzFields(f *testing.F) {
	for _, s := range []string{"", " a  b\tc\n", "日本 語\u3000x", "a\x85b\u00a0c", "\v\f\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := fields(s, nil), strings.Fields(s); !slices.Equal(got, want) {
			t.Fatalf("fields(%q) = %q, want %q", s, got, want)
		}
	})
}

// TestStampZone: an RFC 3164 stamp carries no zone and is read as wall
// clock time in the configured zone, on the fast path, through go-syslog,
// and on the loose path alike (a Japanese device logging 05:00 means 05:00
// JST, 20:00 UTC the day before).
func TestStampZone(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	want := time.Date(time.Now().Year(), 11, 22, 5, 0, 0, 0, jst)
	for _, slow := range []bool{false, true} {
		p := New(jst, nil)
		p.slow = slow
		for _, l := range []string{
			"<13>Nov 22 05:00:00 h app: x",                      // fast path (or go-syslog when slow)
			"<13>Nov 22 05:00:00 h app:nospace",                 // go-syslog best effort
			"Nov 22 05:00:00 h postfix/submission/smtpd[12]: x", // bare file line
		} {
			var ev event.Event
			p.Parse("syslog", []byte(l), &ev)
			if !ev.Time.Equal(want) {
				t.Errorf("slow=%v %q: time %v, want %v", slow, l, ev.Time, want)
			}
		}
	}
}

func TestHasControl(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"", false}, {"plain ascii text, longer than eight", false}, {"日本語のログ行です", false},
		{"tab\there", true}, {"0123456789abcdef\x7f", true}, {"01234567\x1f", true}, {"\x00", true},
		{"01234567 !~\x80\xff abc", false}, {"0123456\x7f89", true},
	} {
		if got := hasControl(c.s); got != c.want {
			t.Errorf("hasControl(%q) = %v", c.s, got)
		}
	}
	for b := 0; b < 256; b++ {
		s := "abcdefgh" + string([]byte{byte(b)}) + "ijklmnop"
		want := b < 0x20 || b == 0x7f
		for off := 0; off < 9; off++ {
			x := s[off:]
			if hasControl(x) != want {
				t.Fatalf("byte %#x at offset %d: %v", b, 8-off, !want)
			}
		}
	}
}

func accessTimeAgrees(t *testing.T, p *Parser, s string) {
	t.Helper()
	want, werr := time.Parse(accessTimeLayout, s)
	got, gerr := p.accessTime(s)
	if (werr == nil) != (gerr == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: accessTime %v %v, time.Parse %v %v", s, got, gerr, want, werr)
	}
}

func TestAccessTime(t *testing.T) {
	p := New(time.UTC, nil)
	for _, s := range []string{
		"22/Nov/2026:05:00:02 +0900", "22/Nov/2026:05:00:02 +0000", "22/Nov/2026:05:00:02 -0530", "29/Feb/2024:23:59:59 +0900",
		"29/Feb/2025:00:00:00 +0900", "31/Apr/2026:00:00:00 +0900", "00/Jan/2026:00:00:00 +0900", "22/nov/2026:05:00:02 +0900",
		"22/Nov/2026:24:00:02 +0900", "22/Nov/2026:05:60:02 +0900", "22/Nov/2026:05:00:60 +0900", "22/Nov/2026:05:00:02 +2500",
		"22/Nov/2026:05:00:02 +0961", "22/Nov/2026:05:00:02 +2400", "22/Xyz/2026:05:00:02 +0900", "2/Nov/2026:05:00:02 +0900",
		"22/Nov/0000:05:00:02 +0900", "22/Nov/2026:05:00:02 Z0900", "29/Feb/1900:00:00:00 +0000", "29/Feb/2000:00:00:00 +0000",
	} {
		accessTimeAgrees(t, p, s)
	}
}

func FuzzAccessTime(f *testing.F) {
	f.Add("22/Nov/2026:05:00:02 +0900")
	f.Add("29/Feb/2024:23:59:59 -1200")
	p := New(time.UTC, nil)
	f.Fuzz(func(t *testing.T, s string) { accessTimeAgrees(t, p, s) })
}

func TestPrintableASCII(t *testing.T) {
	for b := 0; b < 256; b++ {
		want := b >= 0x20 && b < 0x7f
		for off := 0; off < 9; off++ {
			s := ("abcdefgh" + string([]byte{byte(b)}) + "ijklmnop")[off:]
			if printableASCII(s) != want {
				t.Fatalf("byte %#x at offset %d: %v", b, 8-off, !want)
			}
		}
	}
	if !printableASCII("") || !printableASCII("<134>Nov 22 05:00:01 proxy squid[1]: ~ok~") || printableASCII("日本") {
		t.Fatal("whole strings")
	}
}
