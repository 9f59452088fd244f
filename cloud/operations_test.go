package cloud

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
)

// TestOperationsFlushAndRead: counts survive several flushes (a restart
// between them loses nothing flushed), land in the day of the configured
// zone, and a period sums only its days.
func TestOperationsFlushAndRead(t *testing.T) {
	dir := t.TempDir()
	jst := time.FixedZone("JST", 9*3600)
	newDetector := func() *ModelDetector {
		var out syncBuffer
		d := NewModelDetector([]Tenant{{ID: "kakuu", Loaded: kakuu(t)}}, &out)
		d.SetLocation(jst)
		return d
	}
	feed := func(d *ModelDetector, at time.Time, src string) {
		ev := &event.Event{Tenant: "kakuu", Source: event.SourceSquid, Time: at, Raw: "line " + src}
		ev.Set(event.SrcIP, src)
		ev.Set(event.DstIP, "198.51.100.1")
		d.Detect(ev)
	}
	// 2026-10-01 23:30 JST is 14:30 UTC; 2026-10-02 00:30 JST is 15:30 UTC.
	d := newDetector()
	feed(d, time.Date(2026, 10, 1, 14, 30, 0, 0, time.UTC), "10.30.5.9")
	feed(d, time.Date(2026, 10, 1, 14, 40, 0, 0, time.UTC), "10.10.20.7") // My Number: hit on Oct 1
	if err := d.FlushOperations(dir); err != nil {
		t.Fatal(err)
	}
	d = newDetector()                                                    // restart
	feed(d, time.Date(2026, 10, 1, 15, 30, 0, 0, time.UTC), "10.30.5.9") // Oct 2 in JST
	feed(d, time.Date(2026, 10, 1, 14, 50, 0, 0, time.UTC), "10.30.5.10")
	if err := d.FlushOperations(dir); err != nil {
		t.Fatal(err)
	}
	for _, day := range []string{"2026-10-01", "2026-10-02"} {
		if _, err := os.Stat(filepath.Join(dir, "kakuu", day+".json")); err != nil {
			t.Errorf("day file %s: %v", day, err)
		}
	}
	read := func(from, to string) (ev, hits int64) {
		f, _ := time.Parse(time.DateOnly, from)
		tt, _ := time.Parse(time.DateOnly, to)
		o, err := ReadOperations(dir, "kakuu", "", f, tt)
		if err != nil {
			t.Fatal(err)
		}
		if o.Rules[0].Rule != RuleMNSeen.ID {
			t.Fatalf("first rule %s", o.Rules[0].Rule)
		}
		return o.Rules[0].Evaluated, o.Rules[0].Hits
	}
	if e, h := read("2026-10-01", "2026-10-03"); e != 4 || h != 1 {
		t.Errorf("both days: evaluated %d hits %d, want 4 and 1", e, h)
	}
	if e, h := read("2026-10-02", "2026-10-03"); e != 1 || h != 0 {
		t.Errorf("Oct 2 only: evaluated %d hits %d, want 1 and 0", e, h)
	}
	if _, err := ReadOperations(dir, "../etc", "", time.Now(), time.Now()); err == nil {
		t.Error("tenant with a path accepted")
	}
}

// TestOperationsHostileTime: an event stamped in year 1 or 9999 is counted
// today, not in a day file of its own.
func TestOperationsHostileTime(t *testing.T) {
	dir := t.TempDir()
	var out syncBuffer
	d := NewModelDetector([]Tenant{{ID: "kakuu", Loaded: kakuu(t)}}, &out)
	for _, at := range []time.Time{{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)} {
		ev := &event.Event{Tenant: "kakuu", Source: event.SourceSquid, Time: at}
		ev.Set(event.SrcIP, "10.30.5.9")
		d.Detect(ev)
	}
	if err := d.FlushOperations(dir); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "kakuu", "*.json"))
	if len(files) != 1 || filepath.Base(files[0]) != time.Now().UTC().Format(time.DateOnly)+".json" {
		t.Errorf("day files %v", files)
	}
}
