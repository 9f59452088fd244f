package cloud

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/sigma"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const proxyRule = `title: Executable download over the proxy
id: 5c5b2f4e-1d57-4b43-9a0b-1f0e2b0a7a11
status: test
author: kyojin tests
logsource:
  category: proxy
detection:
  selection:
    c-uri|endswith: '.exe'
  condition: selection
level: high
`

// TestIntakeDetects: parsed events go through the Sigma rules; a match
// becomes an alert for the right tenant with the rule's credit, a
// non-matching event does not.
func TestIntakeDetects(t *testing.T) {
	set, errs := sigma.Parse([]byte(proxyRule), "proxy.yml", nil)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	r, _ := start(t, 100)
	defer r.stop(t)
	var alerts syncBuffer
	d := NewSigmaDetector(set.Rules, &alerts)
	r.in.SetDetector(d)
	r.in.Start(1)
	ctx := context.Background()
	lines := []string{
		`1700000000.000 5 10.1.2.3 TCP_MISS/200 5000 GET http://dl.example/setup.exe - HIER_DIRECT/203.0.113.9 application/octet-stream`,
		`1700000001.000 5 10.1.2.3 TCP_MISS/200 5000 GET http://dl.example/readme.txt - HIER_DIRECT/203.0.113.9 text/plain`,
	}
	for _, l := range lines {
		if err := r.in.Submit(ctx, "pref", "squid", []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	r.stop(t)
	out := alerts.String()
	if n := strings.Count(out, "\n"); n != 1 || d.Alerts.Load() != 1 {
		t.Fatalf("want exactly one alert, got %d:\n%s", n, out)
	}
	for _, want := range []string{`"tenant":"pref"`, `"rule":"5c5b2f4e-1d57-4b43-9a0b-1f0e2b0a7a11"`, `by kyojin tests`, `setup.exe`, `"level":"high"`} {
		if !strings.Contains(out, want) {
			t.Errorf("alert lacks %s:\n%s", want, out)
		}
	}
}

// TestModelDetector: addresses of the tenant's My Number and LGWAN zones in
// Internet-connection logs raise the model rules; other tenants' models and
// unrelated addresses do not.
func TestModelDetector(t *testing.T) {
	m, diags := model.Load("../check/testdata/base")
	if m == nil {
		t.Fatal(diags.Err())
	}
	var alerts syncBuffer
	d := NewModelDetector([]Tenant{{ID: "town", Loaded: m}, {ID: "other"}}, &alerts)
	p := logparse.New(time.UTC, time.Now)
	feed := func(tenant, format, line string) {
		ev := &event.Event{Tenant: tenant}
		p.Parse(format, []byte(line), ev)
		if ev.Failed() {
			t.Fatalf("parse %q: %s", line, ev.ParseError)
		}
		d.Detect(ev)
	}
	feed("town", "squid", `1700000000.000 5 10.1.10.7 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`)  // My Number terminal
	feed("town", "squid", `1700000000.000 5 10.2.10.7 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`)  // LGWAN terminal
	feed("town", "squid", `1700000000.000 5 10.3.2.9 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`)   // Internet zone: fine
	feed("other", "squid", `1700000000.000 5 10.1.10.7 TCP_MISS/200 500 GET http://x.example/ - HIER_DIRECT/203.0.113.9 text/html`) // no model
	out := alerts.String()
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, `"rule":"MODEL-MN-SEEN"`) || !strings.Contains(out, `"rule":"MODEL-LG-DIRECT"`) || !strings.Contains(out, `"level":"critical"`) {
		t.Fatalf("alerts:\n%s", out)
	}
	if strings.Contains(out, `"tenant":"other"`) || strings.Contains(out, "10.3.2.9") {
		t.Errorf("unexpected alert:\n%s", out)
	}
}
