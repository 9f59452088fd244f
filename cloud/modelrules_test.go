package cloud

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/model"
)

var (
	kakuuOnce  sync.Once
	kakuuModel *model.Model
)

// kakuu loads examples/kakuu-city once (the bundled example body).
func kakuu(t testing.TB) *model.Model {
	t.Helper()
	kakuuOnce.Do(func() {
		m, d := model.Load("../examples/kakuu-city")
		if m == nil {
			t.Fatal(d.Err())
		}
		kakuuModel = m
	})
	return kakuuModel
}

// TestModelRulesKakuuCity: table test of every model rule on the example
// body, one positive and negatives per rule, lines parsed by the real
// parsers. Want is "" (no alert) or "RULE level".
func TestModelRulesKakuuCity(t *testing.T) {
	var out syncBuffer
	d := NewModelDetector([]Tenant{{ID: "kakuu", Loaded: kakuu(t)}, {ID: "other"}}, &out)
	p := logparse.New(time.UTC, func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) })
	fw := func(src, dst, proto, port, verdict string) string {
		return `<4>Nov 22 05:00:00 lgfw01 kernel: [1.0] ` + verdict + ` IN=eth1 OUT=eth0 SRC=` + src + ` DST=` + dst + ` LEN=60 TTL=64 PROTO=` + proto + ` SPT=40000 DPT=` + port + ` SYN`
	}
	mail := func(host, rest string) string {
		return `<22>Nov 22 05:00:00 ` + host + ` postfix/smtpd[2]: ` + rest
	}
	cases := []struct {
		name, tenant, format, line, want string
	}{
		// MODEL-MN-SEEN / MODEL-LG-DIRECT (kept from the first model rules)
		{"mn terminal at the proxy", "kakuu", "squid", `1700000000.000 5 10.10.20.7 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`, "MODEL-MN-SEEN critical"},
		{"lgwan terminal at the proxy", "kakuu", "squid", `1700000000.000 5 10.20.32.70 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`, "MODEL-LG-DIRECT high"},
		{"internet zone terminal at the proxy", "kakuu", "squid", `1700000000.000 5 10.30.5.9 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`, ""},
		{"another tenant without a model", "other", "squid", `1700000000.000 5 10.10.20.7 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`, ""},
		{"mn to its declared comm is not the Internet", "kakuu", "syslog", fw("10.10.1.5", "10.192.18.3", "TCP", "443", "ACCEPT"), ""},
		{"lgwan to lgwan is not the Internet", "kakuu", "syslog", fw("10.20.32.70", "10.20.1.14", "TCP", "443", "ACCEPT"), ""},
		{"lgwan straight to the Internet", "kakuu", "syslog", fw("10.20.32.70", "198.51.100.1", "TCP", "443", "ACCEPT"), "MODEL-LG-DIRECT high"},
		// MODEL-MN-COMM-PORT: juki-net 10.192.18.0/28 tcp/443, tcp/8443
		{"juki-net on a declared port", "kakuu", "syslog", fw("10.10.1.5", "10.192.18.3", "TCP", "8443", "ACCEPT"), ""},
		{"juki-net on ssh, passed", "kakuu", "syslog", fw("10.10.1.5", "10.192.18.3", "TCP", "22", "ACCEPT"), "MODEL-MN-COMM-PORT high"},
		{"juki-net on ssh, dropped", "kakuu", "syslog", fw("10.10.1.5", "10.192.18.3", "TCP", "22", "DROP"), "MODEL-MN-COMM-PORT low"},
		{"juki-net on udp/443", "kakuu", "syslog", fw("10.10.1.5", "10.192.18.3", "UDP", "443", "ACCEPT"), "MODEL-MN-COMM-PORT high"},
		{"mn next to juki-net, outside its /28", "kakuu", "syslog", fw("10.10.1.5", "10.192.18.16", "TCP", "22", "ACCEPT"), "MODEL-MN-SEEN critical"},
		{"chukan on 8443 in FortiGate", "kakuu", "fortigate", `date=2026-11-22 time=05:00:00 devname="lgfw" type="traffic" subtype="forward" srcip=10.10.1.5 srcport=40000 dstip=10.199.32.20 dstport=8443 proto=6 action="accept" policyid=3`, "MODEL-MN-COMM-PORT high"},
		{"chukan on 443 in FortiGate", "kakuu", "fortigate", `date=2026-11-22 time=05:00:00 devname="lgfw" type="traffic" subtype="forward" srcip=10.10.1.5 srcport=40000 dstip=10.199.32.20 dstport=443 proto=6 action="accept" policyid=3`, ""},
		// MODEL-LG-COMM-PORT: lg-backup 10.205.20.0/28 tcp/443
		{"backup centre over smb", "kakuu", "syslog", fw("10.20.1.30", "10.205.20.3", "TCP", "445", "ACCEPT"), "MODEL-LG-COMM-PORT high"},
		{"backup centre over https", "kakuu", "syslog", fw("10.20.1.30", "10.205.20.3", "TCP", "443", "ACCEPT"), ""},
		// MODEL-MAIL-UNSANITIZED: lg-lgwan-mail-ap01 10.20.1.14, relay in-mailsan01 172.20.10.11
		{"mail from the sanitizing relay", "kakuu", "syslog", mail("lg-lgwan-mail-ap01", `4F1C12345: client=in-mailsan01[172.20.10.11]`), ""},
		{"mail from the Internet MTA directly", "kakuu", "syslog", mail("lg-lgwan-mail-ap01", `4F1C12346: client=in-mailgw01[172.20.10.10]`), "MODEL-MAIL-UNSANITIZED critical"},
		{"same, server named by FQDN", "kakuu", "syslog", mail("lg-lgwan-mail-ap01.kakuu.lg.jp", `4F1C12347: client=in-mailgw01[172.20.10.10]`), "MODEL-MAIL-UNSANITIZED critical"},
		{"same, server named by address", "kakuu", "syslog", mail("10.20.1.14", `4F1C12348: client=in-mailgw01[172.20.10.10]`), "MODEL-MAIL-UNSANITIZED critical"},
		{"Internet MTA rejected", "kakuu", "syslog", mail("lg-lgwan-mail-ap01", `NOQUEUE: reject: RCPT from in-mailgw01[172.20.10.10]: 554 5.7.1 <b@kakuu.lg.jp>: Relay access denied; from=<a@x.test> to=<b@kakuu.lg.jp> proto=ESMTP helo=<gw>`), "MODEL-MAIL-UNSANITIZED low"},
		{"connect line only", "kakuu", "syslog", mail("lg-lgwan-mail-ap01", `connect from in-mailgw01[172.20.10.10]`), ""},
		{"LGWAN terminal submits", "kakuu", "syslog", mail("lg-lgwan-mail-ap01", `4F1C12349: client=pc[10.20.32.70]`), ""},
		{"LGWAN peer (model declares lgwan mail)", "kakuu", "syslog", mail("lg-lgwan-mail-ap01", `4F1C1234A: client=lgwan-mx[61.205.1.2]`), ""},
		{"Internet-side mail server is not watched", "kakuu", "syslog", mail("in-mail01", `4F1C1234B: client=in-mailgw01[172.20.10.10]`), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(out.String())
			ev := &event.Event{Tenant: c.tenant}
			p.Parse(c.format, []byte(c.line), ev)
			if ev.Failed() {
				t.Fatalf("parse: %s", ev.ParseError)
			}
			d.Detect(ev)
			got := strings.TrimSpace(out.String()[before:])
			if c.want == "" {
				if got != "" {
					t.Fatalf("unexpected alert: %s", got)
				}
				return
			}
			if strings.Count(got, "\n") != 0 {
				t.Fatalf("want one alert, got:\n%s", got)
			}
			var al Alert
			if err := json.Unmarshal([]byte(got), &al); err != nil {
				t.Fatal(err)
			}
			if al.Rule+" "+al.Level != c.want || al.Tenant != c.tenant || !strings.Contains(al.Credit, "kyojin model rule") {
				t.Fatalf("got %s %s for %s: %s", al.Rule, al.Level, al.Tenant, got)
			}
		})
	}
}

// TestModelRuleClausesInCatalog: every clause a model rule cites exists in
// the catalog, and every rule cites at least one (they feed the assessment).
func TestModelRuleClausesInCatalog(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range ModelRules {
		if seen[r.ID] || len(r.Clauses) == 0 || r.Title == "" || r.TitleEN == "" {
			t.Errorf("%s: duplicate, or no clauses/titles", r.ID)
		}
		seen[r.ID] = true
		for _, c := range r.Clauses {
			if _, ok := cat.Lookup(catalog.NormalizeID(c)); !ok {
				t.Errorf("%s cites %q, not in the catalog", r.ID, c)
			}
		}
	}
}

type panicky struct{}

func (panicky) Detect(*event.Event) { panic("hostile event") }

// TestDetectorsRecover: a detector that panics is counted and the next
// detectors still see the event.
func TestDetectorsRecover(t *testing.T) {
	var out syncBuffer
	before := DetectorPanics()
	md := NewModelDetector([]Tenant{{ID: "kakuu", Loaded: kakuu(t)}}, &out)
	ev := &event.Event{Tenant: "kakuu", Source: event.SourceSquid, Time: time.Now()}
	ev.Set(event.SrcIP, "10.10.20.7")
	Detectors{panicky{}, md}.Detect(ev)
	if DetectorPanics() != before+1 || !strings.Contains(out.String(), "MODEL-MN-SEEN") {
		t.Fatalf("panics %d (was %d), alerts %q", DetectorPanics(), before, out.String())
	}
}

// TestModelRuleExcluded: an excluded model rule neither alerts nor counts
// examined events (so it gives no false evidence of compliance).
func TestModelRuleExcluded(t *testing.T) {
	var out syncBuffer
	d := NewModelDetector([]Tenant{{ID: "kakuu", Loaded: kakuu(t), ExcludeRules: []string{"MODEL-MN-SEEN"}}}, &out)
	ev := &event.Event{Tenant: "kakuu", Source: event.SourceSquid, Time: time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)}
	ev.Set(event.SrcIP, "10.10.20.7")
	ev.Set(event.DstIP, "198.51.100.1")
	d.Detect(ev)
	if out.String() != "" {
		t.Fatalf("excluded rule alerted: %s", out.String())
	}
	dir := t.TempDir()
	if err := d.FlushOperations(dir); err != nil {
		t.Fatal(err)
	}
	o, err := ReadOperations(dir, "kakuu", "", ev.Time.AddDate(0, 0, -1), ev.Time.AddDate(0, 0, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range o.Rules {
		if r.Rule == "MODEL-MN-SEEN" && (r.Evaluated != 0 || r.Hits != 0) {
			t.Errorf("excluded rule counted: %+v", r)
		}
		if r.Rule == "MODEL-LG-DIRECT" && r.Evaluated != 1 {
			t.Errorf("other rules still examine: %+v", r)
		}
	}
}
