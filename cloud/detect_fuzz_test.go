package cloud

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/logparse"
)

// FuzzDetectors: hostile log lines of any format go through the model
// rules and threat intelligence without a panic, and every alert stays in
// the tenant the line was submitted for.
func FuzzDetectors(f *testing.F) {
	hub, err := intel.NewHub(context.Background(), &intel.FileStore{Path: filepath.Join(f.TempDir(), "i.jsonl")}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	if err := hub.Publish(context.Background(), "pref", "p", []intel.Indicator{
		{Value: "c2.example", Reason: "r"}, {Value: "203.0.113.0/24", Reason: "r"}, {Value: "http://x.example/a", Reason: "r"}}); err != nil {
		f.Fatal(err)
	}
	var out syncBuffer
	ds := Detectors{NewModelDetector([]Tenant{{ID: "kakuu", Loaded: kakuu(f)}}, &out), NewIntelDetector(hub, &out)}
	p := logparse.New(time.UTC, func() time.Time { return time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC) })
	formats := logparse.Formats()
	for _, s := range []string{
		`<4>Nov 22 05:00:00 lgfw01 kernel: [1.0] ACCEPT IN=eth1 OUT=eth0 SRC=10.10.1.5 DST=10.192.18.3 LEN=60 TTL=64 PROTO=TCP SPT=40000 DPT=22 SYN`,
		`<22>Nov 22 05:00:00 lg-lgwan-mail-ap01 postfix/smtpd[2]: 4F1C12346: client=in-mailgw01[172.20.10.10]`,
		`1700000000.000 5 10.10.20.7 TCP_MISS/200 500 GET http://www.c2.example/a - HIER_DIRECT/203.0.113.9 text/html`,
		`22-Nov-2026 05:00:00.000 queries: info: client @0x7f 10.30.5.9#5353 (例え.テスト.): query: 例え.テスト. IN A +E(0) (172.20.10.12)`,
	} {
		for i := range formats {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, line string, fm uint8) {
		ev := &event.Event{Tenant: "kakuu"}
		p.Parse(formats[int(fm)%len(formats)], []byte(line), ev)
		before := DetectorPanics()
		out.mu.Lock()
		out.b.Reset()
		out.mu.Unlock()
		ds.Detect(ev)
		if DetectorPanics() != before {
			t.Fatalf("a detector panicked on %q", line)
		}
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if l != "" && !strings.Contains(l, `"tenant":"kakuu"`) {
				t.Fatalf("alert outside the tenant: %s", l)
			}
		}
	})
}
