package event

import (
	"errors"
	"time"
	"unicode/utf8"
)

// AppendJSON appends the event as one JSON object, the same document
// json.Marshal produces (decodable with encoding/json), without reflection:
// storage encodes every event, and this is its hottest path.
func (e *Event) AppendJSON(dst []byte) ([]byte, error) {
	for _, t := range []time.Time{e.Time, e.Received} {
		if y := t.Year(); y < 0 || y > 9999 {
			return dst, errors.New("event: time out of range")
		}
	}
	dst = append(dst, `{"tenant":`...)
	dst = appendString(dst, e.Tenant)
	dst = append(dst, `,"time":"`...)
	dst = e.Time.AppendFormat(dst, time.RFC3339Nano)
	dst = append(dst, `","received":"`...)
	dst = e.Received.AppendFormat(dst, time.RFC3339Nano)
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
	return append(dst, '}'), nil
}

const hexDigits = "0123456789abcdef"

// appendString writes s as a JSON string (RFC 8259 §7); invalid UTF-8 becomes
// U+FFFD as encoding/json does.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
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
