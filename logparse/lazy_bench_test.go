package logparse

import (
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc3164"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
)

// BenchmarkParseLazy compares, on the intake benchmark stream, go-syslog
// parse-only (the issue 8 §6 baseline), Parse, and ParseLazy without
// resolving (what intake pays for an event nothing looks into).
func BenchmarkParseLazy(b *testing.B) {
	lines := intakestream.Lines(20_000)
	b.Run("go-syslog", func(b *testing.B) {
		m := rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithRFC3339(), rfc3164.WithYear(rfc3164.CurrentYear{}))
		for i := 0; b.Loop(); i++ {
			m.Parse(lines[i%len(lines)])
		}
	})
	p := New(time.UTC, nil)
	now := time.Now()
	ev := &event.Event{}
	b.Run("parse", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			f := ev.Fields
			*ev = event.Event{Received: now, Fields: f}
			p.Parse("syslog", lines[i%len(lines)], ev)
		}
	})
	b.Run("lazy", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			f := ev.Fields
			*ev = event.Event{Received: now, Fields: f}
			p.ParseLazy("syslog", lines[i%len(lines)], ev)
		}
	})
}
