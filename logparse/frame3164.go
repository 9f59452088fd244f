package logparse

import (
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/event"
)

// smallInts are the decimal strings of facility and severity numbers, so
// that the frame's numbers become fields without formatting.
var smallInts = func() (s [192]string) {
	for i := range s {
		s[i] = strconv.Itoa(i)
	}
	return s
}()

// daysIn is the longest month length time.Parse accepts for a stamp that
// carries no year (year 0 is a leap year, so February has 29 days).
var daysIn = [12]int{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// unframe3164 is the hot path of unframe: the RFC 3164 shape nearly every
// device sends, "<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG" (or the same
// without PRI from a file). It produces exactly what go-syslog's RFC 3164
// machine (as configured in New) and unframe make of such a line, and
// declines (ok false) anything it does not fully recognise, which then goes
// through go-syslog: every byte is checked against the grammar subset
// below, so a declined line costs a few comparisons.
// TestUnframeFastAgrees and FuzzUnframeFast compare both paths.
func (p *Parser) unframe3164(s string, ev *event.Event) (msg string, ok bool) {
	var fr frame3164
	if !p.frame3164(s, false, &fr) {
		return "", false
	}
	ev.Time = fr.time
	ev.Host = fr.host
	ev.Set(event.Program, fr.tag)
	ev.Set("pid", fr.pid)
	if fr.pri >= 0 {
		ev.Set(event.Severity, smallInts[fr.pri%8])
		ev.Set(event.Facility, smallInts[fr.pri/8])
	}
	ev.Set(event.Message, fr.msg)
	return fr.msg, true
}

// frame3164 is what the fast path reads from a frame.
type frame3164 struct {
	time                time.Time
	host, tag, pid, msg string
	pri                 int // -1: none
}

// frame3164 parses the frame of s into fr (see unframe3164); printable
// tells that s is known to hold only printable ASCII (printableASCII).
func (p *Parser) frame3164(s string, printable bool, fr *frame3164) bool {
	i := 0
	pri := -1
	if s != "" && s[0] == '<' {
		// prival: "0" or 1..191 without leading zeros (RFC 3164 §4.1.1)
		j := 1
		v := 0
		for j < len(s) && j < 5 && s[j] >= '0' && s[j] <= '9' {
			v = v*10 + int(s[j]-'0')
			j++
		}
		if j == 1 || j > 4 || j >= len(s) || s[j] != '>' || v > 191 || (s[1] == '0' && j > 2) {
			return false
		}
		pri, i = v, j+1
	}
	// "Mmm dd hh:mm:ss " — day is " d" or "dd" (10..31), as go-syslog's datemday
	if len(s) < i+16 {
		return false
	}
	st := s[i : i+16]
	mon := monthIndex(st[:3])
	if mon < 0 || st[3] != ' ' || st[6] != ' ' || st[9] != ':' || st[12] != ':' || st[15] != ' ' {
		return false
	}
	var day int
	switch d0, d1 := st[4], st[5]; {
	case d0 == ' ' && d1 >= '1' && d1 <= '9':
		day = int(d1 - '0')
	case d0 >= '1' && d0 <= '3' && d1 >= '0' && d1 <= '9':
		day = int(d0-'0')*10 + int(d1-'0')
	default:
		return false
	}
	hh, ok1 := twoDigits(st[7:9])
	mm, ok2 := twoDigits(st[10:12])
	ss, ok3 := twoDigits(st[13:15])
	if !ok1 || !ok2 || !ok3 || day > daysIn[mon] || hh > 23 || mm > 59 || ss > 59 {
		return false
	}
	rest := s[i+16:]
	// HOST: go-syslog takes graph{1,255} minus ':'; the fast path takes the
	// usual host name characters only.
	h := 0
	for h < len(rest) && isHostByte(rest[h]) {
		h++
	}
	if h == 0 || h > 255 || h >= len(rest) || rest[h] != ' ' {
		return false
	}
	host := rest[:h]
	rest = rest[h+1:]
	// TAG: print minus " :[" up to 48 bytes; PID in brackets; then ": "
	t := 0
	for t < len(rest) && isTagByte(rest[t]) {
		t++
	}
	if t == 0 || t > 48 || t >= len(rest) {
		return false
	}
	tag := rest[:t]
	rest = rest[t:]
	pid := ""
	if rest[0] == '[' {
		k := 1
		for k < len(rest) && isTagByte(rest[k]) {
			k++
		}
		if k == 1 || k >= len(rest) || rest[k] != ']' {
			return false
		}
		pid = rest[1:k]
		rest = rest[k+1:]
	}
	if len(rest) < 3 || rest[0] != ':' || rest[1] != ' ' {
		return false
	}
	msg := rest[2:]
	// MSG: visible characters (print and 0x80..0xFF); a control byte makes
	// go-syslog stop, so such lines take the slow path.
	if !printable && hasControl(msg) {
		return false
	}
	if host == "-" || tag == "-" || pid == "-" {
		return false // go-syslog's "nil value"
	}
	// as go-syslog configured in New: the stamp is wall clock time in the
	// parser's zone, in year 0, moved to the configured year
	fr.time = p.stamp(mon, day, hh, mm, ss)
	fr.host, fr.tag, fr.pid, fr.msg, fr.pri = host, tag, pid, msg, pri
	return true
}

// stamp is time.Date(0, mon+1, day, hh, mm, 0, 0, loc).AddDate(year, 0,
// 0).In(loc) plus ss seconds, the minute cached: a stream's stamps mostly
// share their minute, and the date arithmetic was a sixth of the frame's
// cost. Zone transitions fall on whole minutes, so adding seconds within
// one is the same wall-clock arithmetic.
func (p *Parser) stamp(mon, day, hh, mm, ss int) time.Time {
	key := int32(mon<<24 | day<<16 | hh<<8 | mm)
	if key != p.minuteKey || p.minute.IsZero() {
		p.minute = time.Date(0, time.Month(mon+1), day, hh, mm, 0, 0, p.loc).AddDate(p.year, 0, 0).In(p.loc)
		p.minuteKey = key
	}
	return p.minute.Add(time.Duration(ss) * time.Second)
}

// hasControl reports whether s holds a byte below 0x20 or 0x7f (DEL),
// eight bytes at a time.
func hasControl(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// a byte < 0x20, or a byte equal to 0x7f (zero after xor)
		if (x-lo*0x20)&^x&hi != 0 {
			return true
		}
		if y := x ^ (lo * 0x7f); (y-lo)&^y&hi != 0 {
			return true
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// printableASCII reports whether every byte of s is in 0x20–0x7e: such a
// line is valid UTF-8 and holds no control byte, which spares the two
// separate checks (eight bytes at a time).
func printableASCII(s string) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(s); i += 8 {
		x := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
			uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
		// a byte < 0x20, or a byte >= 0x7f (adding 1 sets its high bit)
		if ((x-lo*0x20)&^x|(x+lo)|x)&hi != 0 {
			return false
		}
	}
	for ; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

func monthIndex(m string) int {
	if len(m) != 3 {
		return -1
	}
	switch uint32(m[0])<<16 | uint32(m[1])<<8 | uint32(m[2]) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return 0
	case 'F'<<16 | 'e'<<8 | 'b':
		return 1
	case 'M'<<16 | 'a'<<8 | 'r':
		return 2
	case 'A'<<16 | 'p'<<8 | 'r':
		return 3
	case 'M'<<16 | 'a'<<8 | 'y':
		return 4
	case 'J'<<16 | 'u'<<8 | 'n':
		return 5
	case 'J'<<16 | 'u'<<8 | 'l':
		return 6
	case 'A'<<16 | 'u'<<8 | 'g':
		return 7
	case 'S'<<16 | 'e'<<8 | 'p':
		return 8
	case 'O'<<16 | 'c'<<8 | 't':
		return 9
	case 'N'<<16 | 'o'<<8 | 'v':
		return 10
	case 'D'<<16 | 'e'<<8 | 'c':
		return 11
	}
	return -1
}

func twoDigits(s string) (int, bool) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

func isHostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// isTagByte: printable, not space, ':', '[' or ']'.
func isTagByte(c byte) bool {
	return c > ' ' && c < 0x7f && c != ':' && c != '[' && c != ']'
}

// fields is strings.Fields appending to dst, so that a parser can split a
// line into an array on its stack. Non-ASCII text (where strings.Fields
// also splits at Unicode spaces) goes through strings.Fields itself.
func fields(s string, dst []string) []string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return append(dst, strings.Fields(s)...)
		}
	}
	for i, j := nextField(s, 0); i < j; i, j = nextField(s, j) {
		dst = append(dst, s[i:j])
	}
	return dst
}

// nextField returns the bounds of the next field of ASCII s at or after
// from (i == j when there is none).
func nextField(s string, from int) (i, j int) {
	i = from
	for i < len(s) && asciiSpace(s[i]) {
		i++
	}
	j = i
	for j < len(s) && !asciiSpace(s[j]) {
		j++
	}
	return i, j
}

func asciiSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
