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
		first, ok := firstOfFields(msg, 7)
		if !ok {
			return time.Time{}, false, true
		}
		t, ok := squidStamp(first)
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

// firstOfFields is fields(s)[0] when fields(s) has at least n fields,
// without building the slice.
func firstOfFields(s string, n int) (string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			var buf [16]string
			f := fields(s, buf[:0])
			if len(f) < n {
				return "", false
			}
			return f[0], true
		}
	}
	first, count := "", 0
	for i := 0; i < len(s) && count < n; {
		for i < len(s) && asciiSpace(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !asciiSpace(s[j]) {
			j++
		}
		if j > i {
			if count == 0 {
				first = s[i:j]
			}
			count++
		}
		i = j
	}
	return first, count >= n
}
