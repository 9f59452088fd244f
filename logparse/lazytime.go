package logparse

import (
	"strings"
	"time"
)

// lazyTime is the event time the content parser of format would set for
// msg, computed without the rest of the parse, so that ParseLazy's event
// carries its final Time before the deferred parse runs (storage files
// events by time). set is false when the parser would keep the frame's
// time; ok is false when ParseLazy must parse at once instead (formats
// whose time needs the whole parse). Each case mirrors the order of its
// parser's checks; TestParseLazyAgrees and FuzzParseLazy hold them equal.
func (p *Parser) lazyTime(format, msg string) (t time.Time, set, ok bool) {
	switch format {
	case "", "netfilter", "postfix", "pf":
		return time.Time{}, false, true
	case "squid":
		var buf [16]string
		f := fields(msg, buf[:0])
		if len(f) < 7 {
			return time.Time{}, false, true
		}
		t, ok := squidStamp(f[0])
		return t, ok, true
	case "unbound":
		t, ok := unboundStamp(msg)
		return t, ok, true
	case "bind":
		t, ok := p.bindStamp(msg)
		return t, ok, true
	case "web":
		return p.webStamp(msg)
	}
	return time.Time{}, false, false
}

// webStamp is parseWeb's time: nginx error log, or access log after the
// client address; Apache error lines are parsed at once (ok false).
func (p *Parser) webStamp(msg string) (t time.Time, set, ok bool) {
	if len(msg) > 19 && msg[4] == '/' && msg[7] == '/' && msg[10] == ' ' {
		t, err := time.ParseInLocation("2006/01/02 15:04:05", msg[:19], p.loc)
		return t, err == nil, true
	}
	if strings.HasPrefix(msg, "[") {
		return time.Time{}, false, false
	}
	host, rest, found := strings.Cut(msg, " ")
	if !found {
		return time.Time{}, false, true
	}
	if !looksIP(host) {
		host, rest, found = strings.Cut(rest, " ")
		if !found || !looksIP(host) {
			return time.Time{}, false, true
		}
	}
	open := strings.IndexByte(rest, '[')
	closeB := strings.IndexByte(rest, ']')
	if open < 0 || closeB < open {
		return time.Time{}, false, true
	}
	t, err := time.Parse(accessTimeLayout, rest[open+1:closeB])
	return t, err == nil, true
}
