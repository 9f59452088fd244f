package cloud

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc3164"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/logparse"
)

// benchStream is a mixed RFC 3164 stream of the sources Appendix 3 names.
func benchStream(n int) [][]byte {
	tpl := []string{
		`<4>Nov 22 05:00:%02d fw1 kernel: [1.0] LGWAN-DROP IN=eth1 OUT=eth0 SRC=10.20.3.%d DST=198.51.100.80 LEN=60 TTL=64 PROTO=TCP SPT=40000 DPT=443 SYN`,
		`<30>Nov 22 05:00:%02d dns1 named[1]: client @0x7f1 10.1.1.%d#5353 (evil.example): query: evil.example IN A +E(0) (10.0.0.53)`,
		`<190>Nov 22 05:00:%02d web1 nginx: 203.0.113.%d - - [22/Nov/2026:05:00:00 +0900] "GET /a/b.php?id=1 HTTP/1.1" 200 512 "-" "Mozilla/5.0 (Windows NT 10.0)"`,
		`<22>Nov 22 05:00:%02d mx postfix/smtpd[2]: NOQUEUE: reject: RCPT from unknown[192.0.2.%d]: 554 5.7.1 denied; from=<a@x.test> to=<b@lg.jp> proto=ESMTP helo=<h>`,
		`<134>Nov 22 05:00:%02d proxy squid[9]: 1700000000.123 5 10.20.0.%d TCP_MISS/200 1024 GET http://example.com/x.js - HIER_DIRECT/198.51.100.1 text/javascript`,
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, tpl[i%len(tpl)], i%60, i%250)
	}
	return out
}

// BenchmarkGoSyslogParseOnly is the baseline: go-syslog RFC 3164 parsing
// of the same stream, nothing else.
func BenchmarkGoSyslogParseOnly(b *testing.B) {
	lines := benchStream(10000)
	m := rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithRFC3339(), rfc3164.WithYear(rfc3164.CurrentYear{}))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := m.Parse(lines[i%len(lines)]); err != nil && i == 0 {
			b.Log(err)
		}
	}
}

// BenchmarkParse: framing plus content parsing into event.Event.
func BenchmarkParse(b *testing.B) {
	lines := benchStream(10000)
	p := logparse.New(time.UTC, nil)
	var ev event.Event
	for i := 0; b.Loop(); i++ {
		ev = event.Event{Tenant: "t1"}
		p.Parse("syslog", lines[i%len(lines)], &ev)
	}
}

// BenchmarkParseStore: parse and append to the compressed segment store.
func BenchmarkParseStore(b *testing.B) {
	lines := benchStream(10000)
	st, _ := eventstore.Open(b.TempDir())
	defer st.Close()
	p := logparse.New(time.UTC, nil)
	batch := make([]*event.Event, 0, 256)
	for i := 0; b.Loop(); i++ {
		ev := &event.Event{Tenant: "t1"}
		p.Parse("syslog", lines[i%len(lines)], ev)
		batch = append(batch, ev)
		if len(batch) == cap(batch) {
			st.Append(batch...)
			batch = batch[:0]
		}
	}
	st.Append(batch...)
	st.Flush()
}

// BenchmarkTCPIntake: TCP (newline framing) → queue → 1 parse worker →
// store, measured until the last event is stored.
func BenchmarkTCPIntake(b *testing.B) {
	lines := benchStream(10000)
	var stream bytes.Buffer
	for _, l := range lines {
		stream.Write(l)
		stream.WriteByte('\n')
	}
	cfg := &Config{Queue: 65536, Listeners: []Listener{{Name: "tcp", Type: "tcp", Address: "127.0.0.1:0", Format: "syslog"}},
		Tenants: []Tenant{{ID: "t1", Sources: []Source{{Listener: "tcp"}}}}}
	st, _ := eventstore.Open(b.TempDir())
	in := NewIntake(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	in.Start(1)
	srv := NewServer(cfg, in)
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		b.Fatal(err)
	}
	c, err := net.Dial("tcp", srv.Addr("tcp").String())
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(c, 1<<20)
	b.ResetTimer()
	sent := 0
	for sent < b.N {
		k := min(len(lines), b.N-sent)
		if k == len(lines) {
			w.Write(stream.Bytes())
		} else {
			for _, l := range lines[:k] {
				w.Write(l)
				w.WriteByte('\n')
			}
		}
		sent += k
	}
	w.Flush()
	c.Close()
	for in.Counter("t1").Received.Load() < int64(b.N) {
		time.Sleep(time.Millisecond)
	}
	cancel()
	srv.Wait()
	in.Close()
	b.StopTimer()
	st.Close()
}
