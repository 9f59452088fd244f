package cloud

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

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
