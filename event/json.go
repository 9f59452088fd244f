package event

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the event as one JSON object, the same document
// json.Marshal produces (decodable with encoding/json), without reflection.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) { return e.appendJSON(dst, false) }

// aliasPairs are the Sigma taxonomy aliases the parsers set to the same
// value as another field (docs/event-schema.md): (field, alias).
var aliasPairs = [...][2]string{
	{SrcIP, CIP}, {CURIStem, CSURIStem}, {CURIQuery, CSURIQuery}, {CSReferrer, CSReferer}, {CUserAgent, CSUserAgent},
}

// AppendStored is AppendJSON for storage (eventstore), without what the
// event repeats: the "message" field when it is the end of Raw (the syslog
// MSG nearly always is) becomes its offset "x_message_at", and a taxonomy
// alias equal to its field is flagged in the bits of "x_aliases". That is
// about a quarter of the bytes to encode and compress. DecodeStored
// restores the identical event; encoding/json reads the document too (the
// elided fields are then missing).
func (e *Event) AppendStored(dst []byte) ([]byte, error) { return e.appendJSON(dst, true) }

// storedEvent is the stored document: the event and what AppendStored elided.
type storedEvent struct {
	Event
	MessageAt *int  `json:"x_message_at,omitempty"`
	Aliases   uint8 `json:"x_aliases,omitempty"`
}

// DecodeStored decodes a document written by AppendStored (or AppendJSON,
// or json.Marshal) into ev, restoring elided fields.
func DecodeStored(b []byte, ev *Event) error {
	var st storedEvent
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	*ev = st.Event
	if at := st.MessageAt; at != nil {
		if *at < 0 || *at > len(ev.Raw) {
			return errors.New("event: message offset outside raw")
		}
		ev.Set(Message, ev.Raw[*at:])
	}
	for i, p := range aliasPairs {
		if st.Aliases&(1<<i) != 0 {
			if v, ok := ev.Fields[p[0]]; ok {
				ev.Fields[p[1]] = v
			}
		}
	}
	return nil
}

func (e *Event) appendJSON(dst []byte, stored bool) ([]byte, error) {
	e.Resolve()
	for _, t := range []time.Time{e.Time, e.Received} {
		if y := t.Year(); y < 0 || y > 9999 {
			return dst, errors.New("event: time out of range")
		}
	}
	messageAt := -1
	var aliases uint8
	if stored {
		// valid UTF-8 only: the encoder replaces invalid bytes, which
		// would shift the offset
		if m, ok := e.Fields[Message]; ok && m != "" && m != "-" && strings.HasSuffix(e.Raw, m) && utf8.ValidString(e.Raw) {
			messageAt = len(e.Raw) - len(m)
		}
	}
	dst = append(dst, `{"tenant":`...)
	dst = appendString(dst, e.Tenant)
	dst = append(dst, `,"time":"`...)
	dst = appendTime(dst, e.Time)
	dst = append(dst, `","received":"`...)
	dst = appendTime(dst, e.Received)
	dst = append(dst, `","source":`...)
	dst = appendString(dst, e.Source)
	if e.Host != "" {
		dst = append(dst, `,"host":`...)
		dst = appendString(dst, e.Host)
	}
	dst = append(dst, `,"raw":`...)
	dst = appendString(dst, e.Raw)
	if e.ParseError != "" {
		dst = append(dst, `,"parse_error":`...)
		dst = appendString(dst, e.ParseError)
	}
	if len(e.Fields) > 0 {
		dst = append(dst, `,"fields":{`...)
		first := true
		for k, v := range e.Fields {
			if stored {
				if k == Message && messageAt >= 0 {
					continue
				}
				if i := aliasIndex(k); i >= 0 {
					if f, ok := e.Fields[aliasPairs[i][0]]; ok && f == v {
						aliases |= 1 << i
						continue
					}
				}
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = appendString(dst, k)
			dst = append(dst, ':')
			dst = appendString(dst, v)
		}
		dst = append(dst, '}')
	}
	if messageAt >= 0 {
		dst = append(dst, `,"x_message_at":`...)
		dst = strconvAppendInt(dst, messageAt)
	}
	if aliases != 0 {
		dst = append(dst, `,"x_aliases":`...)
		dst = strconvAppendInt(dst, int(aliases))
	}
	return append(dst, '}'), nil
}

// aliasIndex is the position of k as an alias in aliasPairs, or -1.
func aliasIndex(k string) int {
	switch k {
	case CIP:
		return 0
	case CSURIStem:
		return 1
	case CSURIQuery:
		return 2
	case CSReferer:
		return 3
	case CSUserAgent:
		return 4
	}
	return -1
}

func strconvAppendInt(dst []byte, n int) []byte {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, b[i:]...)
}

const hexDigits = "0123456789abcdef"

// appendTime is t.AppendFormat(dst, time.RFC3339Nano) for years 0–9999
// (AppendJSON checks the range) and whole-minute zone offsets, without the
// general layout machinery; other offsets use AppendFormat.
// TestAppendTime and FuzzAppendTime compare the two.
func appendTime(dst []byte, t time.Time) []byte {
	_, off := t.Zone()
	if off%60 != 0 {
		return t.AppendFormat(dst, time.RFC3339Nano)
	}
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		dst = append(dst, frac[:n]...)
	}
	if off == 0 {
		return append(dst, 'Z')
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	oh, om := off/3600, off/60%60
	return append(dst, sign, byte('0'+oh/10), byte('0'+oh%10), ':', byte('0'+om/10), byte('0'+om%10))
}

// plain8 reports whether none of the 8 bytes of x (little endian) needs
// escaping in a JSON string: no control byte, '"', '\\' or non-ASCII byte.
// (SWAR: a byte b < n sets the high bit of (b - n) & ^b.)
func plain8(x uint64) bool {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := x ^ (lo * '"')
	bs := x ^ (lo * '\\')
	return ((x-lo*0x20)&^x|(q-lo)&^q|(bs-lo)&^bs|x)&hi == 0
}

func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// skip 8 plain bytes at a time (most of a log line)
		for i+8 <= len(s) {
			w := s[i : i+8]
			if !plain8(uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
				uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56) {
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(append(dst, s[start:]...), '"')
}
