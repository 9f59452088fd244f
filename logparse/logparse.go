// Package logparse turns one log line from the sources the prefecture
// security cloud collects (guideline Appendix 3: web proxy, DNS, mail relay,
// web servers, firewalls, and kyojin's own audit) into an event.Event with
// Sigma-taxonomy field names. Syslog framing (RFC 5424 and RFC 3164) is
// removed first with github.com/leodido/go-syslog; each source's content
// parser lives in its own file.
//
// Hostile input is expected: a line that is malformed, longer than MaxLine,
// or not valid UTF-8 never panics; it yields an event with ParseError set and
// the raw text kept for inspection.
package logparse

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	syslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"
	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/event"
)

// MaxLine is the longest line parsed; longer lines are kept raw (truncated
// to MaxLine) and counted as failures. 64 KiB matches RFC 5425's advice
// that receivers accept at least 2 KiB and rsyslog's default maximum.
const MaxLine = 64 << 10

// Formats accepted by Parse. "syslog" removes the frame and then picks the
// content parser from the syslog program name (named, unbound, postfix/*,
// kernel, squid, nginx, filterlog); the others name the content parser and
// still accept an optional syslog frame in front.
var contentParsers = map[string]func(p *Parser, msg string, ev *event.Event) error{
	"squid":     parseSquid,
	"bind":      parseBIND,
	"unbound":   parseUnbound,
	"postfix":   parsePostfix,
	"web":       parseWeb,
	"netfilter": parseNetfilter,
	"pf":        parsePF,
	"fortigate": parseFortiGate,
	"kyojin":    parseAudit,
}

var sourceOf = map[string]string{
	"squid": event.SourceSquid, "bind": event.SourceBIND, "unbound": event.SourceUnbound,
	"postfix": event.SourcePostfix, "web": event.SourceWeb, "netfilter": event.SourceNetfilter,
	"pf": "pf", "fortigate": event.SourceFortiGate, "kyojin": event.SourceAudit, "syslog": event.SourceSyslog,
}

// Formats lists the accepted format names, sorted.
func Formats() []string {
	f := []string{"syslog"}
	for k := range contentParsers {
		f = append(f, k)
	}
	slices.Sort(f)
	return f
}

// KnownFormat reports whether name is a format Parse accepts.
func KnownFormat(name string) bool { _, ok := sourceOf[name]; return ok }

// ErrTooLong marks lines over MaxLine.
var ErrTooLong = errors.New("line exceeds 64 KiB")

// Parser holds the syslog state machines; it is not safe for concurrent use
// (go-syslog machines keep state), so each intake worker owns one.
type Parser struct {
	m3164 syslog.Machine
	m5424 syslog.Machine
	loc   *time.Location
	now   func() time.Time
	year  int  // RFC 3164 stamps carry no year: go-syslog's CurrentYear, fixed at New
	slow  bool // tests: always use go-syslog (reference for the fast path)

	resolve func(*event.Event) // ParseLazy's deferred parse, bound to p once

	minute    time.Time // stamp's cache: the start of the last minute seen
	minuteKey int32
	zones     map[int]*time.Location // accessTime's fixed zones by offset
}

// New returns a Parser. loc is the zone of timestamps that carry none
// (RFC 3164, Squid epoch excepted); nil means UTC.
func New(loc *time.Location, now func() time.Time) *Parser {
	if loc == nil {
		loc = time.UTC
	}
	if now == nil {
		now = time.Now
	}
	return &Parser{
		// WithLocaleTimezone reads the zone-less RFC 3164 stamp as wall
		// clock time in loc (WithTimezone alone would read it as UTC and
		// only convert: a Japanese device's 05:00 became 14:00 JST).
		m3164: rfc3164.NewParser(rfc3164.WithBestEffort(), rfc3164.WithRFC3339(),
			rfc3164.WithYear(rfc3164.CurrentYear{}), rfc3164.WithLocaleTimezone(loc), rfc3164.WithTimezone(loc)),
		m5424: rfc5424.NewParser(rfc5424.WithBestEffort()),
		loc:   loc,
		now:   now,
		year:  rfc3164.CurrentYear{}.Apply(),
	}
}

// Parse fills ev from line in the given format. ev.Tenant and ev.Received
// are the caller's; everything else is overwritten. A Fields map already
// in ev is cleared and reused (intake recycles stored events). It never
// panics: a panic in a content parser becomes a ParseError.
func (p *Parser) Parse(format string, line []byte, ev *event.Event) {
	clear(ev.Fields)
	ev.SetReparse("")
	ev.Source, ev.Host, ev.ParseError, ev.Time = sourceOf[format], "", "", time.Time{}
	if ev.Source == "" {
		ev.Source = format
	}
	if ev.Received.IsZero() {
		ev.Received = p.now()
	}
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if len(line) > MaxLine {
		ev.Raw = validText(line[:MaxLine])
		ev.ParseError = ErrTooLong.Error()
		ev.Time = ev.Received
		return
	}
	valid := utf8.Valid(line)
	if valid {
		raw := string(line)
		p.parseText(format, raw, raw, true, ev)
		return
	}
	// Japanese devices still log in Shift_JIS; decode when the bytes are
	// valid Shift_JIS, otherwise parse the escaped text.
	text, charset := "", "invalid-utf8"
	if dec, err := japanese.ShiftJIS.NewDecoder().Bytes(line); err == nil && utf8.Valid(dec) && !bytes.ContainsRune(dec, utf8.RuneError) {
		text, charset = string(dec), "shift_jis"
	}
	raw := validText(line)
	if text == "" {
		text = raw
	}
	p.parseText(format, raw, text, false, ev)
	ev.Set("charset", charset)
}

// parseText parses text (the line, or its Shift_JIS decoding) into ev with
// Raw set to raw; valid tells that raw is the line itself (reparsable).
// Fields are cleared first, Tenant and Received kept.
func (p *Parser) parseText(format, raw, text string, valid bool, ev *event.Event) {
	clear(ev.Fields)
	ev.SetReparse("")
	ev.Source, ev.Host, ev.ParseError, ev.Time = sourceOf[format], "", "", time.Time{}
	if ev.Source == "" {
		ev.Source = format
	}
	ev.Raw = raw
	defer func() {
		if r := recover(); r != nil {
			ev.ParseError = fmt.Sprintf("parser panic: %v", r)
		} else if valid {
			// Raw is the line itself: parsing it again gives this event
			// (storage keeps Raw only, see event.Event.SetReparse)
			ev.SetReparse(format)
		}
		if ev.Time.IsZero() {
			ev.Time = ev.Received
		}
	}()
	msg, framed := p.unframe(text, ev)
	cp := contentParsers[format]
	if format == "syslog" {
		if f := formatForProgram(ev.Fields[event.Program], msg); f != "" {
			cp = contentParsers[f]
			ev.Source = sourceOf[f]
		}
	}
	if cp == nil {
		if format != "syslog" {
			ev.ParseError = "unknown format " + format
		} else if !framed {
			ev.ParseError = "not a syslog message"
		}
		return
	}
	if err := cp(p, msg, ev); err != nil {
		if format == "syslog" {
			// the frame was understood; the program's content was not
			// what its parser expects (nginx error vs access log, ...)
			ev.Source = event.SourceSyslog
			ev.Set("content_error", err.Error())
			return
		}
		ev.ParseError = err.Error()
	}
}

// ParseLazy is Parse with the content parse deferred (event.Event.Defer)
// for the common case: a "syslog" line of valid UTF-8 whose RFC 3164 frame
// the fast path understands. Time, Host and the source the program names
// are set at once, the normalized fields (frame fields included) on first
// use; Source may then still become "syslog" when the content turns out
// not to be what the program's parser expects. Anything else is parsed at
// once. The deferred parse uses p, so the event must be resolved on the
// goroutine that owns p, before p parses another line's deferred event
// concurrently (the intake worker resolves within Detect and Append).
func (p *Parser) ParseLazy(format string, line []byte, ev *event.Event) {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	if format != "syslog" || len(line) > MaxLine || p.slow || !utf8.Valid(line) {
		p.Parse(format, line, ev)
		return
	}
	raw := string(line)
	p.parseLazy(format, raw, printableASCII(raw), ev)
}

// ParseLazyText is ParseLazy for a line held in a string, which becomes
// the event's Raw without a copy (intake makes one string of a batch of
// lines and parses its parts).
func (p *Parser) ParseLazyText(format, line string, ev *event.Event) {
	for len(line) > 0 && (line[len(line)-1] == '\n' || line[len(line)-1] == '\r') {
		line = line[:len(line)-1]
	}
	printable := printableASCII(line)
	if format != "syslog" || len(line) > MaxLine || p.slow || !printable && !utf8.ValidString(line) {
		p.Parse(format, []byte(line), ev)
		return
	}
	p.parseLazy(format, line, printable, ev)
}

func (p *Parser) parseLazy(format, raw string, printable bool, ev *event.Event) {
	clear(ev.Fields)
	if ev.Received.IsZero() {
		ev.Received = p.now()
	}
	var fr frame3164
	if !hasSyslogHeader(raw) || !p.frame3164(raw, printable, &fr) {
		p.parseText(format, raw, raw, true, ev)
		return
	}
	f := formatForProgram(fr.tag, fr.msg)
	t, set, ok := p.lazyTime(f, fr.msg)
	if !ok {
		p.parseText(format, raw, raw, true, ev)
		return
	}
	if !set {
		t = fr.time
	}
	ev.Raw, ev.Host, ev.ParseError, ev.Time = raw, fr.host, "", t
	ev.Source = event.SourceSyslog
	if f != "" {
		ev.Source = sourceOf[f]
	}
	ev.SetReparse(format)
	if p.resolve == nil {
		p.resolve = func(ev *event.Event) {
			t := ev.Time
			p.parseText("syslog", ev.Raw, ev.Raw, true, ev)
			ev.Time = t
		}
	}
	ev.Defer(p.resolve)
}

// validText returns b as a string with invalid UTF-8 bytes written as \xNN,
// so that raw lines survive JSON storage byte for byte in meaning.
func validText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			fmt.Fprintf(&sb, `\x%02X`, b[0])
			b = b[1:]
			continue
		}
		sb.Write(b[:n])
		b = b[n:]
	}
	return sb.String()
}

var months = []string{"Jan ", "Feb ", "Mar ", "Apr ", "May ", "Jun ", "Jul ", "Aug ", "Sep ", "Oct ", "Nov ", "Dec "}

// hasSyslogHeader tells a framed line from a bare one: a PRI, an RFC 3164
// "Mmm dd" stamp, or an RFC 3339 stamp followed by host and tag.
func hasSyslogHeader(s string) bool {
	if len(s) > 2 && s[0] == '<' && s[1] >= '0' && s[1] <= '9' {
		return true
	}
	if len(s) > 16 && slices.Contains(months, s[:4]) && s[6] == ' ' && s[9] == ':' {
		return true
	}
	if len(s) > 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && isDigits(s[:4]) {
		return true
	}
	return false
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// unframe strips a syslog frame when there is one and returns the message
// and whether a frame was found.
func (p *Parser) unframe(s string, ev *event.Event) (string, bool) {
	if !hasSyslogHeader(s) {
		return s, false
	}
	if !p.slow {
		if msg, ok := p.unframe3164(s, ev); ok {
			return msg, true
		}
	}
	in := s
	if s[0] != '<' {
		in = "<13>" + s // bare file lines: user.notice, as syslogd writes them without PRI
	}
	var base *syslog.Base
	if len(in) > 4 && strings.HasPrefix(in[strings.IndexByte(in, '>')+1:], "1 ") {
		m, _ := p.m5424.Parse([]byte(in))
		if sm, ok := m.(*rfc5424.SyslogMessage); ok && sm != nil {
			base = &sm.Base
			if sm.StructuredData != nil {
				for id, params := range *sm.StructuredData {
					for k, v := range params {
						ev.Set("sd."+id+"."+k, v)
					}
				}
			}
		}
	} else {
		m, _ := p.m3164.Parse([]byte(in))
		if sm, ok := m.(*rfc3164.SyslogMessage); ok && sm != nil {
			base = &sm.Base
		}
	}
	if base == nil || base.Message == nil && base.Appname == nil {
		return p.unframeLoose(s, ev)
	}
	if base.Timestamp != nil {
		ev.Time = *base.Timestamp
	}
	if base.Hostname != nil {
		ev.Host = *base.Hostname
	}
	if base.Appname != nil {
		ev.Set(event.Program, *base.Appname)
	}
	if base.ProcID != nil {
		ev.Set("pid", *base.ProcID)
	}
	if base.Severity != nil && s[0] == '<' {
		ev.Set(event.Severity, smallInts[*base.Severity])
		ev.Set(event.Facility, smallInts[*base.Facility])
	}
	msg := ""
	if base.Message != nil {
		msg = *base.Message
	}
	ev.Set(event.Message, msg)
	return msg, true
}

// unframeLoose handles RFC 3164-like lines go-syslog refuses (tags with
// '/', as in "postfix/submission/smtpd[12]:", written with an RFC 3339
// stamp by rsyslog): STAMP HOST TAG[PID]: MSG.
func (p *Parser) unframeLoose(s string, ev *event.Event) (string, bool) {
	rest := s
	if rest[0] == '<' {
		if j := strings.IndexByte(rest, '>'); j > 0 && j < 5 {
			rest = rest[j+1:]
		}
	}
	var stamp string
	if len(rest) > 16 && slices.Contains(months, rest[:4]) {
		stamp, rest = rest[:15], rest[16:]
		if t, err := time.ParseInLocation(time.Stamp, stamp, p.loc); err == nil {
			ev.Time = t.AddDate(p.now().In(p.loc).Year(), 0, 0)
		}
	} else {
		var ok bool
		stamp, rest, ok = strings.Cut(rest, " ")
		if !ok {
			return s, false
		}
		if t, err := time.Parse(time.RFC3339Nano, stamp); err == nil {
			ev.Time = t
		} else {
			return s, false
		}
	}
	host, rest, ok := strings.Cut(rest, " ")
	if !ok {
		return s, false
	}
	tag, msg, ok := strings.Cut(rest, ": ")
	if !ok || strings.ContainsAny(tag, " ") {
		return s, false
	}
	if i := strings.IndexByte(tag, '['); i > 0 && strings.HasSuffix(tag, "]") {
		ev.Set("pid", tag[i+1:len(tag)-1])
		tag = tag[:i]
	}
	ev.Host = host
	ev.Set(event.Program, tag)
	ev.Set(event.Message, msg)
	return msg, true
}

// formatForProgram picks a content parser from the syslog tag.
func formatForProgram(prog, msg string) string {
	switch {
	case prog == "named":
		return "bind"
	case prog == "unbound":
		return "unbound"
	case isPostfixProgram(prog):
		return "postfix"
	case prog == "kernel" && strings.Contains(msg, "SRC="):
		return "netfilter"
	case prog == "squid":
		return "squid"
	case prog == "nginx" || prog == "apache2" || prog == "httpd":
		return "web"
	case prog == "filterlog":
		return "pf"
	case prog == "kyojin":
		return "kyojin"
	}
	return ""
}

// kv splits "k=v k2=\"quoted v\"" into pairs; sep also ends a bare value
// (',' for Postfix). Unterminated quotes run to the end of the line.
func kv(s string, sep byte, fn func(k, v string)) {
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == sep) {
			i++
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' {
			i++
		}
		if i >= len(s) || s[i] != '=' {
			continue
		}
		k := s[ks:i]
		i++
		var v string
		if i < len(s) && s[i] == '"' {
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				v, i = s[i+1:], len(s)
			} else {
				v, i = s[i+1:i+1+j], i+2+j
			}
		} else {
			vs := i
			for i < len(s) && s[i] != ' ' && s[i] != sep {
				i++
			}
			v = s[vs:i]
		}
		fn(k, v)
	}
}
