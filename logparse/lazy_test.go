package logparse

import (
	"reflect"
	"testing"
	"time"

	"github.com/kyojin/kyojin/bench/intakestream"
	"github.com/kyojin/kyojin/event"
)

// lazyAgrees fails unless ParseLazy, once resolved, gives what Parse gives;
// before resolving, Time, Host and Raw must already be final.
func lazyAgrees(t testing.TB, p *Parser, format string, line []byte) (deferred bool) {
	t.Helper()
	now := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	want := &event.Event{Tenant: "t", Received: now}
	p.Parse(format, line, want)
	got := &event.Event{Tenant: "t", Received: now}
	p.ParseLazy(format, line, got)
	deferred = got.Deferred()
	if deferred {
		if !got.Time.Equal(want.Time) || got.Host != want.Host || got.Raw != want.Raw || got.ParseError != want.ParseError {
			t.Fatalf("%q: before resolving: time %v host %q, want %v %q", line, got.Time, got.Host, want.Time, want.Host)
		}
		if len(got.Fields) != 0 {
			t.Fatalf("%q: fields before resolving: %v", line, got.Fields)
		}
		if got.Source != want.Source && want.Source != event.SourceSyslog {
			t.Fatalf("%q: tentative source %q, parsed %q", line, got.Source, want.Source)
		}
	}
	got.Resolve()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\nlazy  %+v\nParse %+v", line, got, want)
	}
	text := &event.Event{Tenant: "t", Received: now}
	p.ParseLazyText(format, string(line), text)
	if text.Deferred() != deferred {
		t.Fatalf("%q: ParseLazyText deferred %v, ParseLazy %v", line, text.Deferred(), deferred)
	}
	text.Resolve()
	if !reflect.DeepEqual(text, want) {
		t.Fatalf("%q:\ntext  %+v\nParse %+v", line, text, want)
	}
	return deferred
}

func TestParseLazyAgrees(t *testing.T) {
	p := New(time.UTC, nil)
	n := 0
	lines := append(intakestream.Lines(20_000), seedLines(t)...)
	lines = append(lines, []byte("<13>Nov 22 10:00:04 web1 nginx: not an access log"), []byte("<13>Nov 22 10:00:04 h app: \xff\xfe"),
		make([]byte, MaxLine+1), []byte("<13>1 2026-11-22T10:00:00Z h app - - - msg"))
	for _, l := range lines {
		if lazyAgrees(t, p, "syslog", l) {
			n++
		}
	}
	for _, c := range parseCases {
		lazyAgrees(t, p, c.format, []byte(c.line))
	}
	if n < 20_000 {
		t.Errorf("only %d of the stream's lines were deferred", n)
	}
}

func FuzzParseLazy(f *testing.F) {
	for _, l := range intakestream.Lines(100) {
		f.Add(l)
	}
	p := New(time.UTC, nil)
	f.Fuzz(func(t *testing.T, line []byte) { lazyAgrees(t, p, "syslog", line) })
}
