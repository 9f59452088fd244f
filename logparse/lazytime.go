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
	t, err := p.accessTime(rest[open+1 : closeB])
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
	i, j := nextField(s, 0)
	first, count := s[i:j], 0
	for ; i < j && count < n; i, j = nextField(s, j) {
		count++
	}
	return first, count >= n
}

// accessTime is time.Parse(accessTimeLayout, s), read by hand for the
// form web servers write ("22/Nov/2026:05:00:02 +0900"): time.Parse was a
// quarter of the cost of framing a web line. Anything else goes to
// time.Parse. As time.Parse does, the time is in the Local zone when Local
// has the offset at that instant, else in a fixed zone (cached per
// parser). TestAccessTime and FuzzAccessTime compare the two.
func (p *Parser) accessTime(s string) (time.Time, error) {
	if len(s) != 26 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' || s[20] != ' ' ||
		s[21] != '+' && s[21] != '-' {
		return time.Parse(accessTimeLayout, s)
	}
	mon := monthIndex(s[3:6])
	day, ok1 := twoDigits(s[0:2])
	y1, ok2 := twoDigits(s[7:9])
	y2, ok3 := twoDigits(s[9:11])
	hh, ok4 := twoDigits(s[12:14])
	mm, ok5 := twoDigits(s[15:17])
	ss, ok6 := twoDigits(s[18:20])
	oh, ok7 := twoDigits(s[22:24])
	om, ok8 := twoDigits(s[24:26])
	if mon < 0 || !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 && ok8) {
		return time.Parse(accessTimeLayout, s)
	}
	year := y1*100 + y2
	if day < 1 || day > daysInMonth(mon, year) || hh > 23 || mm > 59 || ss > 59 || oh > 24 || om > 60 {
		return time.Parse(accessTimeLayout, s) // its error
	}
	off := (oh*60 + om) * 60
	if s[21] == '-' {
		off = -off
	}
	t := time.Date(year, time.Month(mon+1), day, hh, mm, ss, 0, time.UTC).Add(-time.Duration(off) * time.Second)
	if _, lo := t.In(time.Local).Zone(); lo == off {
		return t.In(time.Local), nil
	}
	loc := p.zones[off]
	if loc == nil {
		if p.zones == nil {
			p.zones = map[int]*time.Location{}
		}
		loc = time.FixedZone("", off)
		p.zones[off] = loc
	}
	return t.In(loc), nil
}

// daysInMonth is the length of month mon (0-based) of year.
func daysInMonth(mon, year int) int {
	if mon == 1 && (year%4 != 0 || year%100 == 0 && year%400 != 0) {
		return 28
	}
	return daysIn[mon]
}
