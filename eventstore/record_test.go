package eventstore

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
)

// roundTripLines are the benchmark stream and lines that keep the JSON
// record (invalid UTF-8 decoded as Shift_JIS, over 64 KiB) or test the
// raw one (RFC 5424 structured data, a line nothing parses).
func roundTripLines() [][]byte {
	lines := intakestream.Lines(2000)
	sjis := []byte("<13>Nov 22 10:00:04 h app: \x83\x65\x83\x58\x83\x67") // テスト in Shift_JIS
	return append(lines, sjis, bytes.Repeat([]byte("A"), logparse.MaxLine+5),
		[]byte(`<165>1 2026-11-22T10:00:00.5+09:00 host app 1 ID47 [ex@32473 iut="3" eventSource="App"] body`),
		[]byte("not a syslog line"), []byte(`<13>Nov 22 10:00:04 web1 nginx: 10.0.0.1 - - [22/Nov/2026:10:00:04 +0900] "GET /a HTTP/1.1" 200 5 "-" "x"`))
}

// TestRecordRoundTrip: what Search returns is the event that was
// appended — raw records parsed again, JSON records decoded — for eager
// and deferred events, in UTC, Asia/Tokyo and the Local zone.
func TestRecordRoundTrip(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Skip("no zone database:", err)
	}
	for _, loc := range []*time.Location{time.UTC, tokyo, time.Local} {
		for _, lazy := range []bool{false, true} {
			dir := t.TempDir()
			s, _ := Open(dir)
			p := logparse.New(loc, nil)
			var want []*event.Event
			raw := 0
			for i, l := range roundTripLines() {
				ev := &event.Event{Tenant: "t1", Received: time.Date(2026, 11, 22, 1, 2, 3, i, loc)}
				if lazy {
					p.ParseLazy("syslog", l, ev)
				} else {
					p.Parse("syslog", l, ev)
				}
				if ev.Reparse() != "" {
					raw++
				}
				if err := s.Append(ev); err != nil {
					t.Fatal(err)
				}
				want = append(want, ev)
			}
			if raw < 2000 {
				t.Fatalf("only %d raw records", raw)
			}
			// what reading any stored form gives: the event through JSON
			for i, ev := range want {
				b, err := ev.AppendStored(nil)
				if err != nil {
					t.Fatal(err)
				}
				var back event.Event
				if err := event.DecodeStored(b, &back); err != nil {
					t.Fatal(err)
				}
				back.SetReparse(ev.Reparse())
				want[i] = &back
			}
			got := collect(t, s, Query{Tenant: "t1"})
			s.Close()
			if len(got) != len(want) {
				t.Fatalf("%d events back, want %d", len(got), len(want))
			}
			byRaw := map[string][]*event.Event{}
			for _, ev := range got {
				byRaw[ev.Raw] = append(byRaw[ev.Raw], ev)
			}
			for _, w := range want {
				found := false
				for _, g := range byRaw[w.Raw] {
					if reflect.DeepEqual(g, w) {
						found = true
					}
				}
				if !found {
					t.Fatalf("zone %s lazy %v: %q came back as\n%+v\nwant\n%+v", loc, lazy, w.Raw, byRaw[w.Raw], w)
				}
			}
		}
	}
}

// TestDeferredStoredUnparsed: storing a deferred event does not parse it.
func TestDeferredStoredUnparsed(t *testing.T) {
	s, _ := Open(t.TempDir())
	defer s.Close()
	p := logparse.New(time.UTC, nil)
	ev := &event.Event{Tenant: "t1"}
	p.ParseLazy("syslog", intakestream.Lines(1)[0], ev)
	if !ev.Deferred() {
		t.Fatal("not deferred")
	}
	if err := s.Append(ev); err != nil {
		t.Fatal(err)
	}
	if !ev.Deferred() {
		t.Fatal("Append parsed the deferred event")
	}
	got := collect(t, s, Query{Tenant: "t1"})
	if len(got) != 1 || len(got[0].Fields) == 0 || got[0].Deferred() {
		t.Fatalf("read back %+v", got)
	}
}

// TestLegacyS2Segments: JSON-line S2 segments of the previous version are
// still read beside record segments.
func TestLegacyS2Segments(t *testing.T) {
	dir := t.TempDir()
	day := filepath.Join(dir, "t1", "2026-11-20")
	if err := os.MkdirAll(day, 0o750); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	zw := s2.NewWriter(&buf)
	for i := range 3 {
		b, _ := mk("t1", i, "10.0.0.3").AppendStored(nil)
		zw.Write(append(b, '\n'))
	}
	zw.Close()
	if err := os.WriteFile(filepath.Join(day, "000001.jsonl.s2"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := Open(dir)
	defer s.Close()
	if err := s.Append(mk("t1", 4, "10.0.0.4")); err != nil {
		t.Fatal(err)
	}
	if got := collect(t, s, Query{Tenant: "t1", Filters: []Filter{{Field: "src_ip", Value: "10.0.0.3"}}}); len(got) != 3 {
		t.Errorf("legacy S2 segment: %d events, want 3", len(got))
	}
	if got := collect(t, s, Query{Tenant: "t1"}); len(got) != 4 {
		t.Errorf("all: %d events, want 4", len(got))
	}
}

// TestCorruptRecords: a record that does not decode is reported, never a
// panic; a cut-off tail is the end of what was written.
func TestCorruptRecords(t *testing.T) {
	rr := recordReader{p: logparse.New(time.UTC, nil)}
	good, _ := appendRecord(nil, func() *event.Event {
		ev := &event.Event{Tenant: "t1", Received: time.Unix(1e9, 0)}
		logparse.New(time.UTC, nil).Parse("syslog", intakestream.Lines(1)[0], ev)
		return ev
	}())
	_, n := binary.Uvarint(good[1:])
	payload := good[1+n:]
	for name, c := range map[string]struct {
		kind byte
		b    []byte
	}{
		"kind":      {'X', payload},
		"short":     {recRaw, payload[:len(payload)/2]},
		"trailing":  {recRaw, append(append([]byte{}, payload...), 1)},
		"format":    {recRaw, bytes.Replace(payload, []byte("syslog"), []byte("sysloh"), 1)},
		"json":      {recJSON, []byte("{not json")},
		"empty raw": {recRaw, nil},
	} {
		var ev event.Event
		if err := rr.decode(c.kind, c.b, &ev); err == nil {
			t.Errorf("%s: decoded %+v", name, ev)
		}
	}
	if err := rr.decode(recRaw, payload, new(event.Event)); err != nil {
		t.Fatalf("good record: %v", err)
	}
}

func FuzzRecord(f *testing.F) {
	for _, l := range roundTripLines()[:20] {
		ev := &event.Event{Tenant: "t1", Received: time.Unix(1e9, 5)}
		logparse.New(time.UTC, nil).Parse("syslog", l, ev)
		rec, _ := appendRecord(nil, ev)
		f.Add(rec)
	}
	rr := recordReader{p: logparse.New(time.UTC, nil)}
	f.Fuzz(func(t *testing.T, rec []byte) {
		if len(rec) < 2 {
			return
		}
		n, k := binary.Uvarint(rec[1:])
		if k <= 0 || n > uint64(len(rec)-1-k) {
			return
		}
		var ev event.Event
		if err := rr.decode(rec[0], rec[1+k:1+k+int(n)], &ev); err != nil {
			return
		}
		// what decodes encodes to a record that decodes to the same event
		again, err := appendRecord(nil, &ev)
		if err != nil {
			return
		}
		_, k2 := binary.Uvarint(again[1:])
		var ev2 event.Event
		if err := rr.decode(again[0], again[1+k2:], &ev2); err != nil || !reflect.DeepEqual(ev, ev2) {
			t.Fatalf("re-encoded record: %v\n%+v\n%+v", err, ev, ev2)
		}
		if strings.ContainsRune(ev.Tenant, '/') {
			t.Fatalf("tenant %q", ev.Tenant)
		}
	})
}
