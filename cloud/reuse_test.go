package cloud

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kyojin/kyojin/event"
)

// keeper is a detector that keeps every event (and does not implement
// EventKeeper), as a detector batching alerts might.
type keeper struct {
	mu   sync.Mutex
	evs  []*event.Event
	raws []string // ev.Raw when seen
}

func (k *keeper) Detect(ev *event.Event) {
	k.mu.Lock()
	k.evs, k.raws = append(k.evs, ev), append(k.raws, ev.Raw)
	k.mu.Unlock()
}

// TestEventReuse: events are recycled only when every detector says it
// does not keep them, and a recycled event carries nothing of the event
// it was before.
func TestEventReuse(t *testing.T) {
	if keepsEvents(Detectors{NewSigmaDetector(nil, nil), NewModelDetector(nil, nil)}) {
		t.Error("Sigma and model detectors reported as keeping events")
	}
	if !keepsEvents(Detectors{NewSigmaDetector(nil, nil), &keeper{}}) {
		t.Error("a detector without KeepsEvents must be assumed to keep them")
	}
	line := func(i int) string {
		if i%2 == 0 { // many fields
			return fmt.Sprintf("<134>Nov 22 05:00:00 proxy squid[1]: 1700000000.000 5 10.0.0.%d TCP_MISS/200 10 GET http://h%d.example/x.exe - HIER_DIRECT/198.51.100.1 text/html", i%250, i)
		}
		return fmt.Sprintf("<13>Nov 22 05:00:00 h app: plain %d", i) // few fields
	}
	const n = 1000 // several batches of 256
	for _, tc := range []struct {
		name string
		det  Detector
	}{{"reused", NewSigmaDetector(nil, nil)}, {"kept", &keeper{}}} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := start(t, 2*n)
			r.in.SetDetector(tc.det)
			r.in.Start(1)
			for i := range n {
				if err := r.in.Submit(context.Background(), "pref", "syslog", []byte(line(i))); err != nil {
					t.Fatal(err)
				}
			}
			r.stop(t)
			evs := search(t, r.store, "pref")
			if len(evs) != n {
				t.Fatalf("%d events stored, want %d", len(evs), n)
			}
			for _, ev := range evs {
				squid := strings.Contains(ev.Raw, "squid")
				if _, has := ev.Fields["cs-host"]; has != squid || !strings.HasSuffix(ev.Raw, ev.Fields["message"]) {
					t.Fatalf("fields of another event: raw %q fields %v", ev.Raw, ev.Fields)
				}
			}
			if k, ok := tc.det.(*keeper); ok {
				if len(k.evs) != n {
					t.Fatalf("keeper saw %d events", len(k.evs))
				}
				for i, ev := range k.evs { // untouched after being stored
					if ev.Raw != k.raws[i] || !strings.HasSuffix(ev.Raw, ev.Fields["message"]) || ev.Fields["message"] == "" {
						t.Fatalf("kept event was reused: raw %q fields %v", ev.Raw, ev.Fields)
					}
				}
			}
		})
	}
}
