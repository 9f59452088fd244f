package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/kyojin/kyojin/cloud"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
)

// demoTenant is the security-cloud tenant of the bundled example city in
// `kyojin serve --demo`.
const demoTenant = "kakuu-city"

// demoLogLine is one log line of the demo's security cloud: the parser
// format and a line whose addresses come from examples/kakuu-city.
type demoLogLine struct {
	format string
	line   func(now time.Time) string
}

func demoSyslog(now time.Time, host, msg string) string {
	return "<4>" + now.Format(time.Stamp) + " " + host + " " + msg
}

func demoFirewall(src, dst, proto, port, verdict string) func(time.Time) string {
	return func(now time.Time) string {
		return demoSyslog(now, "lgfw01", "kernel: [1.0] "+verdict+" IN=eth1 OUT=eth0 SRC="+src+" DST="+dst+
			" LEN=60 TTL=64 PROTO="+proto+" SPT=40000 DPT="+port+" SYN")
	}
}

func demoProxy(src, url string) func(time.Time) string {
	return func(now time.Time) string {
		return strconv.FormatInt(now.Unix(), 10) + ".000 5 " + src + " TCP_MISS/200 500 GET " + url + " - HIER_DIRECT/203.0.113.9 text/html"
	}
}

// demoLogs is what the demo's security cloud "received": ordinary traffic
// and one case of each model-generated rule (docs/cloud.md), so that the
// alert, event and incident pages show the whole path on the example.
var demoLogs = []demoLogLine{
	{"squid", demoProxy("10.30.5.9", "http://www.example.jp/")},                     // Internet-zone terminal: allowed
	{"squid", demoProxy("10.10.20.7", "http://update.example.com/")},                // My Number terminal at the proxy
	{"syslog", demoFirewall("10.20.32.70", "198.51.100.1", "TCP", "443", "ACCEPT")}, // LGWAN terminal straight out
	{"syslog", demoFirewall("10.10.1.5", "10.192.18.3", "TCP", "8443", "ACCEPT")},   // 住基ネット on a declared port
	{"syslog", demoFirewall("10.10.1.5", "10.192.18.3", "TCP", "22", "ACCEPT")},     // …and on an undeclared one
	{"syslog", demoFirewall("10.20.1.30", "10.205.20.3", "TCP", "445", "DROP")},     // backup centre over SMB, dropped
	{"syslog", func(now time.Time) string {
		return demoSyslog(now, "lg-lgwan-mail-ap01", "postfix/smtpd[2]: 4F1C12345: client=in-mailsan01[172.20.10.11]")
	}},
	{"syslog", func(now time.Time) string { // mail that skipped the sanitizing relay
		return demoSyslog(now, "lg-lgwan-mail-ap01", "postfix/smtpd[2]: 4F1C12346: client=in-mailgw01[172.20.10.10]")
	}},
}

// seedDemoCloud runs the demo log lines through the real parsers and the
// model detector of the example city into an event store at eventsDir and
// alerts in st, as `kyojin cloud serve` would. It returns the number of
// alerts opened.
func seedDemoCloud(ctx context.Context, log *slog.Logger, st store.AlertStore, m *model.Model, eventsDir string, now time.Time) (int64, error) {
	es, err := eventstore.Open(eventsDir)
	if err != nil {
		return 0, fmt.Errorf("demo event store: %w", err)
	}
	defer es.Close()
	sink := cloud.NewStoreSink(st, cloud.StoreSinkOptions{Log: log, Now: func() time.Time { return now }})
	md := cloud.NewModelDetector([]cloud.Tenant{{ID: demoTenant, Name: "架空市", Loaded: m}}, io.Discard)
	md.SendTo(sink)
	loc, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		loc = time.FixedZone("JST", 9*3600)
	}
	now = now.In(loc)
	p := logparse.New(loc, func() time.Time { return now })
	for i, l := range demoLogs {
		at := now.Add(time.Duration(i-len(demoLogs)) * time.Minute)
		ev := &event.Event{Tenant: demoTenant, Received: at}
		p.Parse(l.format, []byte(l.line(at)), ev)
		if !ev.Failed() {
			md.Detect(ev)
		}
		if err := es.Append(ev); err != nil {
			return 0, fmt.Errorf("demo event store: %w", err)
		}
	}
	if err := es.Flush(); err != nil {
		return 0, fmt.Errorf("demo event store: %w", err)
	}
	if err := sink.Close(); err != nil {
		return 0, fmt.Errorf("demo alerts: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return sink.Stats().Created, nil
}
