package cloud

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/logparse"
)

// TestIntelAtIntake: indicators published from one tenant's incident raise
// alerts for every tenant whose events match, crediting the publisher;
// table of fields and sources, positives and negatives.
func TestIntelAtIntake(t *testing.T) {
	ctx := context.Background()
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: filepath.Join(t.TempDir(), "i.jsonl")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	d := NewIntelDetector(hub, &out)
	p := logparse.New(time.UTC, nil)
	feed := func(tenant, format, line string) string {
		before := len(out.String())
		ev := &event.Event{Tenant: tenant}
		p.Parse(format, []byte(line), ev)
		if ev.Failed() {
			t.Fatalf("parse %q: %s", line, ev.ParseError)
		}
		d.Detect(ev)
		return strings.TrimSpace(out.String()[before:])
	}
	squid := `1700000000.000 5 10.30.5.9 TCP_MISS/200 500 GET http://www.c2.example/beacon - HIER_DIRECT/198.51.100.20 text/html`
	if got := feed("city-b", "squid", squid); got != "" {
		t.Fatalf("alert before anything was published: %s", got)
	}
	err = hub.Publish(ctx, "city-a", "市CSIRT 山田", []intel.Indicator{
		{Value: "c2.example", Reason: "INC-2026-014 C2"},
		{Value: "例え.テスト", Reason: "phishing kit", Level: "critical"},
		{Value: "203.0.113.0/24", Reason: "scanner range"},
		{Value: "http://files.example/payload.exe", Reason: "dropper"},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, tenant, format, line, want string // want: "field kind value" or ""
	}{
		{"proxy, subdomain of a listed domain", "city-b", "squid", squid, "cs-host domain c2.example"},
		{"proxy, CONNECT to the listed domain", "city-c", "squid", `1700000000.000 5 10.30.5.9 TCP_TUNNEL/200 500 CONNECT C2.EXAMPLE:443 - HIER_DIRECT/198.51.100.20 -`, "cs-host domain c2.example"},
		{"proxy, listed URL with a query", "city-b", "squid", `1700000000.000 5 10.30.5.9 TCP_MISS/200 500 GET http://files.example/payload.exe?x=1 - HIER_DIRECT/198.51.100.21 application/octet-stream`, "c-uri url files.example/payload.exe"},
		{"proxy, other file on that host", "city-b", "squid", `1700000000.000 5 10.30.5.9 TCP_MISS/200 500 GET http://files.example/readme.txt - HIER_DIRECT/198.51.100.21 text/plain`, ""},
		{"dns, IDN query in punycode with trailing dot", "city-a", "bind", `22-Nov-2026 05:00:00.000 queries: info: client @0x7f 10.30.5.9#5353 (www.xn--r8jz45g.xn--zckzah.): query: www.xn--r8jz45g.xn--zckzah. IN A +E(0) (172.20.10.12)`, "query domain xn--r8jz45g.xn--zckzah"},
		{"dns, look-alike domain", "city-a", "bind", `22-Nov-2026 05:00:00.000 queries: info: client @0x7f 10.30.5.9#5353 (notc2.example): query: notc2.example IN A +E(0) (172.20.10.12)`, ""},
		{"firewall, destination in a listed range", "city-b", "netfilter", `kernel: [1.0] ACCEPT IN=eth1 OUT=eth0 SRC=10.30.5.9 DST=203.0.113.77 LEN=60 TTL=64 PROTO=TCP SPT=40000 DPT=443 SYN`, "dst_ip cidr 203.0.113.0/24"},
		{"web server, client in a listed range", "city-c", "web", `203.0.113.9 - - [22/Nov/2026:05:00:00 +0900] "GET / HTTP/1.1" 200 5 "-" "curl/8"`, "src_ip cidr 203.0.113.0/24"},
		{"web server, other client", "city-c", "web", `198.51.100.9 - - [22/Nov/2026:05:00:00 +0900] "GET / HTTP/1.1" 200 5 "-" "curl/8"`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := feed(c.tenant, c.format, c.line)
			if c.want == "" {
				if got != "" {
					t.Fatalf("unexpected alert: %s", got)
				}
				return
			}
			var al Alert
			if err := json.Unmarshal([]byte(got), &al); err != nil {
				t.Fatalf("%v: %q", err, got)
			}
			if al.Tenant != c.tenant || !strings.Contains(al.Title, c.want) || !strings.Contains(al.Credit, "市CSIRT 山田 (tenant city-a)") {
				t.Fatalf("alert %+v, want tenant %s and %q", al, c.tenant, c.want)
			}
		})
	}
}

// TestIntelFeedHTTP: tenants' devices pull the shared indicators with
// their token; no token, a wrong token or a bad kind is refused.
func TestIntelFeedHTTP(t *testing.T) {
	ctx := context.Background()
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: filepath.Join(t.TempDir(), "i.jsonl")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.Publish(ctx, "pref", "県SOC", []intel.Indicator{{Value: "b.example", Reason: "r"}, {Value: "a.example", Reason: "r"}, {Value: "198.51.100.7", Reason: "r"}}); err != nil {
		t.Fatal(err)
	}
	dir := pki(t, "city-a-relay", "stranger")
	cfg, diags := LoadConfig(writeConfig(t, dir, fmt.Sprintf(testConfig, 16)))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	st, _ := eventstore.Open(cfg.Store)
	in := NewIntake(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := NewServer(cfg, in)
	srv.SetIntel(hub)
	sctx, cancel := context.WithCancel(ctx)
	if err := srv.Start(sctx); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); srv.Wait(); in.Close() }()
	get := func(tok, query string) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+srv.Addr("http").String()+"/v1/intel"+query, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("city-a-token", "?kind=domain"); code != 200 || body != "a.example\nb.example\n" {
		t.Errorf("domain feed: %d %q", code, body)
	}
	if code, body := get("pref-token", "?format=json"); code != 200 || strings.Count(body, "\n") != 3 || !strings.Contains(body, `"publisher":"県SOC"`) {
		t.Errorf("json feed: %d %q", code, body)
	}
	for _, c := range []struct {
		tok, q string
		want   int
	}{{"", "", 401}, {"wrong", "", 401}, {"city-a-token", "?kind=hash", 400}, {"city-a-token", "?format=xml", 400}} {
		if code, _ := get(c.tok, c.q); code != c.want {
			t.Errorf("%q %s: %d, want %d", c.tok, c.q, code, c.want)
		}
	}
}

// TestIntelGateLazy: on deferred events (most ruled out from the raw
// line) the intelligence detector raises exactly the alerts it raises on
// parsed ones, for indicators taken from the stream itself and odd forms
// of them; and it leaves most of the stream unparsed.
func TestIntelGateLazy(t *testing.T) {
	ctx := context.Background()
	lines := intakestream.Lines(20_000)
	extra := []string{
		"<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_MISS/200 500 GET http://WWW.C2.EXAMPLE./beacon - HIER_DIRECT/198.51.100.20 text/html",
		"<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_MISS/200 500 GET http://%63%32.example/beacon - HIER_DIRECT/198.51.100.21 text/html",
		"<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_MISS/200 500 GET http://[2001:DB8::7]:8080/x - HIER_DIRECT/2001:db8::7 text/html",
		"<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_TUNNEL/200 500 CONNECT files.example:443 - HIER_DIRECT/::ffff:203.0.113.44 -",
		"<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_MISS/200 500 GET http://files.example/payload.exe?x=1 - HIER_DIRECT/198.51.100.22 text/html",
		// an escaped CONNECT target, which the URL match decodes
		"<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_TUNNEL/200 500 CONNECT %2566iles.example:443 - HIER_DIRECT/198.51.100.23 -",
		"<30>Nov 22 05:00:01 ns1 named[1]: client @0x1 10.3.0.2#1 (a.b.c2.example): query: a.b.c2.example IN A +E(0) (10.3.0.53)",
		"<30>Nov 22 05:00:01 ns1 named[1]: client @0x1 10.3.0.2#1 (例え.テスト): query: 例え.テスト IN A +E(0) (10.3.0.53)",
	}
	for _, l := range extra {
		lines = append(lines, []byte(l))
	}
	// indicators: odd forms above, plus values the stream holds
	inds := []intel.Indicator{{Value: "c2.example"}, {Value: "例え.テスト"}, {Value: "203.0.113.0/24"},
		{Value: "http://files.example/payload.exe"}, {Value: "http://[2001:db8::7]:8080/x"}, {Value: "http://files.example:443/"}}
	p := logparse.New(time.UTC, nil)
	// values of the stream that occur in a few lines only (a listed value
	// in every line would make every line a match)
	seen := map[string]int{}
	var vals []string
	for _, l := range lines[:20_000] {
		ev := &event.Event{}
		p.Parse("syslog", l, ev)
		for _, f := range []string{event.CSHost, event.Query, event.DstIP} {
			if v, ok := ev.Get(f); ok {
				v = strings.TrimSuffix(v, ".")
				if seen[v] == 0 {
					vals = append(vals, v)
				}
				seen[v]++
			}
		}
	}
	picked := 0
	for _, v := range vals {
		if seen[v] <= 3 && picked < 40 {
			inds = append(inds, intel.Indicator{Value: v})
			picked++
		}
	}
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: filepath.Join(t.TempDir(), "i.jsonl")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range inds {
		inds[i].Reason = "test"
	}
	if err := hub.Publish(ctx, "city-a", "SOC", inds); err != nil {
		t.Fatal(err)
	}
	run := func(lazy bool) (string, int) {
		var out syncBuffer
		d := NewIntelDetector(hub, &out)
		parsed := 0
		for _, l := range lines {
			ev := &event.Event{Tenant: "t", Received: time.Unix(1e9, 0)}
			parseAs(p, lazy, l, ev)
			d.Detect(ev)
			if !ev.Deferred() {
				parsed++
			}
		}
		return out.String(), parsed
	}
	eager, _ := run(false)
	lazy, parsed := run(true)
	if eager != lazy {
		t.Fatalf("alerts differ: eager %d, lazy %d lines", strings.Count(eager, "\n"), strings.Count(lazy, "\n"))
	}
	if n := strings.Count(eager, "\n"); n < 30 {
		t.Fatalf("only %d alerts: the comparison proves little", n)
	}
	t.Logf("%d alerts; %d of %d events parsed", strings.Count(eager, "\n"), parsed, len(lines))
	if parsed > len(lines)/2 {
		t.Errorf("the gate parsed %d of %d events", parsed, len(lines))
	}
}

func FuzzIntelGateLazy(f *testing.F) {
	for _, l := range intakestream.Lines(50) {
		f.Add(l)
	}
	f.Add([]byte("<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_MISS/200 500 GET http://Files.Example:80/payload.exe - HIER_DIRECT/203.0.113.9 text/html"))
	f.Add([]byte("<134>Nov 22 05:00:01 proxy squid[1]: 1700000000.000 5 10.3.0.9 TCP_TUNNEL/200 500 CONNECT %2566iles.example:443 - HIER_DIRECT/198.51.100.23 -"))
	ctx := context.Background()
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: filepath.Join(f.TempDir(), "i.jsonl")}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	inds := []intel.Indicator{{Value: "c2.example"}, {Value: "203.0.113.0/24"}, {Value: "2001:db8::/32"},
		{Value: "http://files.example/payload.exe"}, {Value: "http://10.9.9.9/x"}, {Value: "www.city.example.lg.jp"}, {Value: "http://files.example:443/"}}
	for i := range inds {
		inds[i].Reason = "fuzz"
	}
	if err := hub.Publish(ctx, "city-a", "SOC", inds); err != nil {
		f.Fatal(err)
	}
	p := logparse.New(time.UTC, nil)
	f.Fuzz(func(t *testing.T, line []byte) {
		var a, b syncBuffer
		de, dl := NewIntelDetector(hub, &a), NewIntelDetector(hub, &b)
		ev := &event.Event{Tenant: "t", Received: time.Unix(1e9, 0)}
		p.Parse("syslog", line, ev)
		de.Detect(ev)
		ev = &event.Event{Tenant: "t", Received: time.Unix(1e9, 0)}
		p.ParseLazy("syslog", line, ev)
		dl.Detect(ev)
		if a.String() != b.String() {
			t.Fatalf("%q:\neager %s\nlazy  %s", line, a.String(), b.String())
		}
	})
}
