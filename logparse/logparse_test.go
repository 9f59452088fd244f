package logparse

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/event"
)

var fixedNow = func() time.Time { return time.Date(2026, 11, 22, 6, 0, 0, 0, time.UTC) }

type parseCase struct {
	name, format, line string
	want               map[string]string // subset of fields; "@host", "@time", "@source" check fixed fields
	err                string            // substring of ParseError; "" = must parse
}

var parseCases = []parseCase{
	{"squid miss", "squid", `1286536308.779    180 192.168.0.224 TCP_MISS/200 411 GET http://www.example.com/a/b.php?x=1 alice DIRECT/93.184.216.34 text/html`,
		map[string]string{"src_ip": "192.168.0.224", "action": "TCP_MISS", "sc-status": "200", "cs-method": "GET", "c-uri": "http://www.example.com/a/b.php?x=1",
			"cs-host": "www.example.com", "c-uri-query": "x=1", "c-uri-extension": "php", "user": "alice", "dst_ip": "93.184.216.34", "@time": "2010-10-08T11:11:48.779Z"}, ""},
	{"squid connect", "squid", `1700000000.000 5 10.1.2.3 TCP_TUNNEL/200 5000 CONNECT evil.example:8443 - HIER_DIRECT/203.0.113.9 -`,
		map[string]string{"cs-host": "evil.example", "dst_port": "8443", "cs-method": "CONNECT"}, ""},
	{"squid syslog", "squid", `<134>Nov 22 05:00:00 proxy1 squid[99]: 1700000000.000 5 10.1.2.3 TCP_DENIED/403 0 GET http://x.test/ - HIER_NONE/- text/html`,
		map[string]string{"action": "TCP_DENIED", "@host": "proxy1", "program": "squid"}, ""},
	{"squid junk", "squid", `hello world`, nil, "squid"},
	{"bind query", "bind", `22-Nov-2026 05:00:01.123 queries: info: client @0x7f1 10.0.0.5#53211 (evil.example): query: evil.example IN TXT +E(0)K (10.0.0.1)`,
		map[string]string{"src_ip": "10.0.0.5", "src_port": "53211", "query": "evil.example", "record_type": "TXT", "dst_ip": "10.0.0.1", "action": "query", "@time": "2026-11-22T05:00:01.123Z"}, ""},
	{"bind denied", "bind", `client 192.168.1.1#3076 (example.com): query (cache) 'example.com/ANY/IN' denied`,
		map[string]string{"query": "example.com", "record_type": "ANY", "action": "denied"}, ""},
	{"bind junk", "bind", `random text`, nil, "bind"},
	{"unbound query", "unbound", `[1700000000] unbound[123:0] info: 10.0.0.7 evil.example. A IN`,
		map[string]string{"src_ip": "10.0.0.7", "query": "evil.example", "record_type": "A", "@time": "2023-11-14T22:13:20Z"}, ""},
	{"unbound reply syslog", "syslog", `<30>Nov 22 05:00:00 dns1 unbound[123:0]: info: 10.0.0.7 evil.example. AAAA IN NXDOMAIN 0.000000 0 40`,
		map[string]string{"query": "evil.example", "response_code": "NXDOMAIN", "@source": "unbound", "@host": "dns1"}, ""},
	{"unbound local action", "unbound", `info: refused 192.0.2.1@53530 evil.example. A IN`,
		map[string]string{"action": "refused", "src_ip": "192.0.2.1", "src_port": "53530"}, ""},
	{"unbound junk", "unbound", `info: x`, nil, "unbound"},
	{"postfix reject", "postfix", `May 11 04:02:37 host1 postfix/smtpd[26897]: NOQUEUE: reject: RCPT from unknown[192.168.1.1]: 554 5.7.1 <x@y>: Relay access denied; from=<spam@bad.test> to=<x@y> proto=ESMTP helo=<WIN-1>`,
		map[string]string{"action": "reject", "src_ip": "192.168.1.1", "mail_from": "spam@bad.test", "mail_to": "x@y", "mail_helo": "WIN-1", "program": "postfix/smtpd"}, ""},
	{"postfix smtp sent", "postfix", `Nov 22 05:00:00 mx postfix/smtp[1]: 4F1C123456: to=<a@lg.jp>, relay=mx.lg.jp[10.9.8.7]:25, delay=0.5, dsn=2.0.0, status=sent (250 ok)`,
		map[string]string{"mail_queue_id": "4F1C123456", "mail_to": "a@lg.jp", "mail_status": "sent", "dst_ip": "10.9.8.7", "action": "sent"}, ""},
	{"postfix qmgr", "postfix", `Nov 22 05:00:00 mx postfix/qmgr[2]: 4F1C123456: from=<b@ex.jp>, size=1234, nrcpt=1 (queue active)`,
		map[string]string{"mail_from": "b@ex.jp", "size": "1234"}, ""},
	{"postfix cleanup", "postfix", `Nov 22 05:00:00 mx postfix/cleanup[3]: 4F1C123456: message-id=<abc@ex.jp>`,
		map[string]string{"mail_message_id": "abc@ex.jp"}, ""},
	{"postfix sasl", "postfix", `May 11 04:02:36 host1 postfix/smtpd[26897]: warning: unknown[192.168.1.1]: SASL LOGIN authentication failed: authentication failure`,
		map[string]string{"action": "auth-failed", "src_ip": "192.168.1.1"}, ""},
	{"postfix wrong program", "postfix", `Nov 22 05:00:00 mx sshd[3]: Accepted password`, nil, "postfix"},
	{"combined", "web", `203.0.113.5 - bob [30/Sep/2021:11:11:54 +0200] "GET /foo/bar.jsp?a=%20union%20select HTTP/1.1" 404 162 "http://ref/" "sqlmap/1.5"`,
		map[string]string{"src_ip": "203.0.113.5", "c-ip": "203.0.113.5", "user": "bob", "cs-method": "GET", "c-uri": "/foo/bar.jsp?a=%20union%20select", "cs-uri-stem": "/foo/bar.jsp",
			"cs-uri-query": "a=%20union%20select", "c-uri-extension": "jsp", "sc-status": "404", "c-useragent": "sqlmap/1.5", "cs-referrer": "http://ref/", "@time": "2021-09-30T09:11:54Z"}, ""},
	{"common", "web", `172.17.0.1 - - [30/Sep/2021:08:00:55 +0000] "GET /.htpasswd HTTP/1.1" 403 199`,
		map[string]string{"sc-status": "403", "c-uri": "/.htpasswd"}, ""},
	{"vhost combined", "web", `www.lg.jp:443 198.51.100.1 - - [30/Sep/2021:08:00:55 +0000] "POST /login HTTP/2.0" 200 5 "-" "curl/8"`,
		map[string]string{"cs-host": "www.lg.jp", "src_ip": "198.51.100.1", "cs-method": "POST"}, ""},
	{"nginx error", "web", `2021/09/30 09:23:53 [error] 1#1: *17 user "foo" was not found in "/tmp/a.htpasswd", client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", host: "localhost"`,
		map[string]string{"src_ip": "127.0.0.1", "cs-method": "GET", "cs-host": "localhost", "severity": "error"}, ""},
	{"web junk", "web", `not a log`, nil, "web"},
	{"iptables", "netfilter", `Sep 27 20:56:38 fw kernel: [  203.842973] IPTABLES-DROP: IN=lo OUT= MAC=00:00 SRC=127.0.0.1 DST=127.0.0.53 LEN=76 TOS=0x00 TTL=64 ID=25029 DF PROTO=UDP SPT=49007 DPT=53 LEN=56`,
		map[string]string{"src_ip": "127.0.0.1", "dst_ip": "127.0.0.53", "dst_port": "53", "src_port": "49007", "proto": "udp", "action": "drop", "in_interface": "lo", "length": "76", "@host": "fw"}, ""},
	{"nftables", "netfilter", `nft-lgwan-block IN=eth1 OUT=eth0 SRC=10.20.0.5 DST=8.8.8.8 LEN=60 PROTO=TCP SPT=40000 DPT=443 SYN`,
		map[string]string{"log_prefix": "nft-lgwan-block", "action": "block", "dst_port": "443", "tcp_flags": "SYN"}, ""},
	{"netfilter junk", "netfilter", `kernel: hello`, nil, "netfilter"},
	{"pf", "pf", `53,,,1000000301,em0,match,block,in,4,0x0,,64,420,0,none,6,tcp,460,10.0.2.2,10.0.2.15,53742,22,420,PA,29633380:29633800,3617062173,65535,,`,
		map[string]string{"action": "block", "src_ip": "10.0.2.2", "dst_ip": "10.0.2.15", "dst_port": "22", "proto": "tcp"}, ""},
	{"fortigate traffic", "fortigate", `date=2026-11-22 time=05:00:00 devname="FGT" logid="0000000013" type="traffic" subtype="forward" srcip=10.20.1.5 srcport=51000 srcintf="lgwan" dstip=203.0.113.80 dstport=443 dstintf="wan1" proto=6 action="deny" policyid=7 tz="+0900"`,
		map[string]string{"src_ip": "10.20.1.5", "dst_ip": "203.0.113.80", "dst_port": "443", "proto": "tcp", "action": "deny", "type": "traffic", "in_interface": "lgwan", "@time": "2026-11-21T20:00:00Z"}, ""},
	{"fortigate junk", "fortigate", `a=b`, nil, "fortigate"},
	{"kyojin mailgate", "kyojin", `{"time":"2026-11-22T05:00:00Z","event":"rejected","client_ip":"198.51.100.7","from":"a@x.test","to":["b@lg.jp","c@lg.jp"],"auth":{"spf":"fail"},"size_in":1200}`,
		map[string]string{"action": "rejected", "src_ip": "198.51.100.7", "mail_from": "a@x.test", "mail_to": "b@lg.jp,c@lg.jp", "auth.spf": "fail", "size_in": "1200", "@time": "2026-11-22T05:00:00Z"}, ""},
	{"kyojin junk", "kyojin", `{"a":`, nil, "kyojin"},
	{"syslog 5424", "syslog", `<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] An application event`,
		map[string]string{"program": "evntslog", "sd.exampleSDID@32473.iut": "3", "message": "An application event", "severity": "5", "@host": "mymachine.example.com"}, ""},
	{"syslog 3164", "syslog", `<34>Oct 11 22:14:15 mymachine su: 'su root' failed`,
		map[string]string{"program": "su", "message": "'su root' failed", "@host": "mymachine"}, ""},
	{"syslog rfc3339 slash tag", "syslog", `2024-10-31T12:38:21.817327+00:00 machine postfix/submission/smtpd[26]: warning: non-SMTP command from unknown[192.168.1.1]: GET / HTTP/1.1`,
		map[string]string{"program": "postfix/submission/smtpd", "src_ip": "192.168.1.1", "@source": "postfix"}, ""},
	{"syslog junk", "syslog", `hello`, nil, "not a syslog"},
	{"unknown format", "nope", `x`, nil, "unknown format"},
}

func TestParse(t *testing.T) {
	p := New(time.UTC, fixedNow)
	for _, c := range parseCases {
		t.Run(c.name, func(t *testing.T) {
			var ev event.Event
			p.Parse(c.format, []byte(c.line), &ev)
			if c.err != "" {
				if !strings.Contains(ev.ParseError, c.err) {
					t.Fatalf("ParseError = %q, want it to contain %q", ev.ParseError, c.err)
				}
				if ev.Raw != c.line {
					t.Errorf("raw not kept: %q", ev.Raw)
				}
				return
			}
			if ev.Failed() {
				t.Fatalf("ParseError %q", ev.ParseError)
			}
			for k, want := range c.want {
				var got string
				switch k {
				case "@host":
					got = ev.Host
				case "@source":
					got = ev.Source
				case "@time":
					got = ev.Time.UTC().Format(time.RFC3339Nano)
				default:
					got, _ = ev.Get(k)
				}
				if got != want {
					t.Errorf("%s = %q, want %q (fields %v)", k, got, want, ev.Fields)
				}
			}
		})
	}
}

// TestHostileInput: long lines, invalid UTF-8 and Shift_JIS never crash
// and are kept raw.
func TestHostileInput(t *testing.T) {
	p := New(time.UTC, fixedNow)
	long := []byte("<13>Nov 22 05:00:00 h app: " + strings.Repeat("A", MaxLine+10))
	var ev event.Event
	p.Parse("syslog", long, &ev)
	if ev.ParseError != ErrTooLong.Error() || len(ev.Raw) != MaxLine {
		t.Errorf("long line: err %q raw %d", ev.ParseError, len(ev.Raw))
	}
	bad := []byte("10.0.0.1 - - [30/Sep/2021:08:00:55 +0000] \"GET /\xff\xfe HTTP/1.1\" 200 1 \"-\" \"x\"")
	p.Parse("web", bad, &ev)
	if ev.Failed() || !strings.Contains(ev.Raw, `\xFF\xFE`) || ev.Fields["charset"] != "invalid-utf8" {
		t.Errorf("invalid utf-8: %+v", ev)
	}
	sjis, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte(`date=2026-11-22 time=05:00:00 type="event" msg="管理者ログイン失敗" user="山田" srcip=10.0.0.1`))
	p.Parse("fortigate", sjis, &ev)
	if ev.Failed() || ev.Fields["user"] != "山田" || ev.Fields["charset"] != "shift_jis" {
		t.Errorf("shift_jis: %+v", ev)
	}
	for _, f := range Formats() {
		for _, in := range [][]byte{nil, []byte("<"), []byte("<999>"), []byte("<1>1 "), bytes.Repeat([]byte("["), 100), []byte("\x00\x00")} {
			p.Parse(f, in, &ev)
			if !ev.Failed() && f != "syslog" && len(in) < 3 {
				t.Errorf("%s: %q parsed without error", f, in)
			}
		}
	}
}

func fuzzFormat(f *testing.F, format string) {
	for _, c := range parseCases {
		if c.format == format {
			f.Add([]byte(c.line))
		}
	}
	p := New(time.UTC, fixedNow)
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev event.Event
		p.Parse(format, b, &ev)
		if ev.Raw == "" && len(bytes.TrimRight(b, "\r\n")) > 0 {
			t.Fatal("raw lost")
		}
		if strings.HasPrefix(ev.ParseError, "parser panic") {
			t.Fatal(ev.ParseError)
		}
		if _, err := ev.MarshalLine(); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzSyslog(f *testing.F)    { fuzzFormat(f, "syslog") }
func FuzzSquid(f *testing.F)     { fuzzFormat(f, "squid") }
func FuzzBIND(f *testing.F)      { fuzzFormat(f, "bind") }
func FuzzUnbound(f *testing.F)   { fuzzFormat(f, "unbound") }
func FuzzPostfix(f *testing.F)   { fuzzFormat(f, "postfix") }
func FuzzWeb(f *testing.F)       { fuzzFormat(f, "web") }
func FuzzNetfilter(f *testing.F) { fuzzFormat(f, "netfilter") }
func FuzzPF(f *testing.F)        { fuzzFormat(f, "pf") }
func FuzzFortiGate(f *testing.F) { fuzzFormat(f, "fortigate") }
func FuzzAudit(f *testing.F)     { fuzzFormat(f, "kyojin") }

// TestReparseReproduces: an event marked reparsable is what parsing its
// Raw again gives (storage keeps Raw only and relies on it).
func TestReparseReproduces(t *testing.T) {
	lines := []string{
		"<134>Nov 22 10:00:01 proxy1 squid[811]: 1763805601.123    45 10.3.1.5 TCP_MISS/200 1234 GET http://example.jp/a?b=c - HIER_DIRECT/203.0.113.9 text/html",
		"<30>Nov 22 10:00:02 ns1 named[99]: client @0x7f 10.3.2.2#53111 (example.com): query: example.com IN A +E(0) (10.3.0.53)",
		"<4>Nov 22 10:00:03 fw1 kernel: [123.4] LGWAN-DROP IN=eth0 OUT=eth1 SRC=10.2.1.1 DST=203.0.113.5 PROTO=TCP SPT=5555 DPT=443",
		"<13>Nov 22 10:00:04 web1 nginx: this is not an access log line",
		"not framed at all",
		"2026-11-22T10:00:05+09:00 mail1 postfix/submission/smtpd[12]: connect from unknown[10.3.3.3]",
	}
	p := New(time.UTC, nil)
	for _, l := range lines {
		ev := &event.Event{Tenant: "t"}
		p.Parse("syslog", []byte(l), ev)
		if ev.Reparse() != "syslog" {
			t.Fatalf("%q: reparse %q", l, ev.Reparse())
		}
		again := &event.Event{Tenant: "t", Received: ev.Received}
		p.Parse(ev.Reparse(), []byte(ev.Raw), again)
		again.Time = ev.Time
		if !reflect.DeepEqual(ev, again) {
			t.Errorf("%q:\n got %+v\nwant %+v", l, again, ev)
		}
	}
	bad := &event.Event{}
	p.Parse("syslog", []byte("<13>Nov 22 10:00:04 h app: \xff\xfe"), bad)
	if bad.Reparse() != "" {
		t.Errorf("invalid UTF-8 marked reparsable")
	}
	long := &event.Event{}
	p.Parse("syslog", make([]byte, MaxLine+1), long)
	if long.Reparse() != "" {
		t.Errorf("over-long line marked reparsable")
	}
}
