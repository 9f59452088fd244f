package eventstore

import (
	"encoding/binary"
	"errors"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
)

// Records of a .rec.s2 segment. Each is a kind byte, the payload length
// as a uvarint, and the payload:
//
//   - recJSON: the event in the compact JSON form of Event.AppendStored;
//   - recRaw: an event that parsing its raw line again reproduces
//     (Event.Reparse): tenant, time, received time, the format and the
//     raw line — nothing else, so storing it needs neither the content
//     parse (intake defers it, event.Event.Defer) nor a JSON encoding of
//     the fields. Reading parses the line again (logparse) and restores
//     the times, giving the event that was appended.
//
// Strings are a uvarint length and the bytes; a time is its Unix
// seconds (zigzag varint) and nanoseconds (uvarint), a zone byte (recUTC, or recOffset followed
// by the offset in minutes as a zigzag varint) — what the JSON form keeps
// of a time (RFC 3339: instant and whole-minute offset).
const (
	recJSON = 'J'
	recRaw  = 'R'

	recUTC    = 0
	recOffset = 1
)

// maxRecord bounds one record's payload when reading: a line is at most
// logparse.MaxLine bytes, and its JSON form a few times that.
const maxRecord = 8 << 20

var errCorrupt = errors.New("corrupt record")

// appendRecord appends ev's record to dst.
func appendRecord(dst []byte, ev *event.Event) ([]byte, error) {
	if f := ev.Reparse(); f != "" {
		t, ok1 := partsOf(ev.Time)
		rt, ok2 := partsOf(ev.Received)
		if ok1 && ok2 {
			n := stringLen(ev.Tenant) + t.len() + rt.len() + stringLen(f) + stringLen(ev.Raw)
			dst = append(dst, recRaw)
			dst = binary.AppendUvarint(dst, uint64(n))
			dst = appendString(dst, ev.Tenant)
			dst = t.append(dst)
			dst = rt.append(dst)
			dst = appendString(dst, f)
			return appendString(dst, ev.Raw), nil
		}
	}
	dst = append(dst, recJSON)
	at := len(dst)
	dst = append(dst, noLength[:]...) // room for the length, filled below
	body := len(dst)
	dst, err := ev.AppendStored(dst)
	if err != nil {
		return dst[:at-1], err
	}
	// move the JSON down behind its actual length prefix
	var lb [binary.MaxVarintLen64]byte
	ln := binary.PutUvarint(lb[:], uint64(len(dst)-body))
	copy(dst[at:], lb[:ln])
	copy(dst[at+ln:], dst[body:])
	return dst[:len(dst)-(body-at-ln)], nil
}

// timeParts is a time as a record holds it.
type timeParts struct {
	sec, offMin int64
	ns          uint64
}

// Seconds of 0001-01-02 and 9999-12-30 UTC: a time between them has a
// year the JSON form accepts (0–9999) in every zone.
const minRecordSec, maxRecordSec = -62135510400, 253402041600

// partsOf splits t; ok is false for what keeps the JSON record: a year
// near or beyond the JSON form's range, or an offset of odd seconds.
func partsOf(t time.Time) (timeParts, bool) {
	_, off := t.Zone()
	sec := t.Unix()
	if off%60 != 0 || sec < minRecordSec || sec > maxRecordSec {
		return timeParts{}, false
	}
	return timeParts{sec: sec, offMin: int64(off / 60), ns: uint64(t.Nanosecond())}, true
}

// zigzag is binary.AppendVarint's mapping of v to an unsigned value.
func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func (p timeParts) len() int {
	n := uvarintLen(zigzag(p.sec)) + uvarintLen(p.ns) + 1
	if p.offMin != 0 {
		n += uvarintLen(zigzag(p.offMin))
	}
	return n
}

func (p timeParts) append(dst []byte) []byte {
	dst = binary.AppendVarint(dst, p.sec)
	dst = binary.AppendUvarint(dst, p.ns)
	if p.offMin == 0 {
		return append(dst, recUTC)
	}
	dst = append(dst, recOffset)
	return binary.AppendVarint(dst, p.offMin)
}

var noLength [binary.MaxVarintLen64]byte

// uvarintLen is the length of binary.AppendUvarint's encoding of v.
func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

func stringLen(s string) int { return uvarintLen(uint64(len(s))) + len(s) }

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// recordReader decodes the records of one segment.
type recordReader struct {
	p *logparse.Parser // re-parses raw records; owned by one reader
}

// decode fills ev from a record payload of the given kind.
func (rr *recordReader) decode(kind byte, b []byte, ev *event.Event) error {
	switch kind {
	case recJSON:
		return event.DecodeStored(b, ev)
	case recRaw:
	default:
		return errCorrupt
	}
	d := decoder{b: b}
	tenant := d.string()
	t := d.time()
	received := d.time()
	format := d.string()
	raw := d.string()
	if d.bad || !logparse.KnownFormat(format) {
		return errCorrupt
	}
	if len(d.b) != 0 {
		return errCorrupt
	}
	*ev = event.Event{Tenant: tenant, Received: received}
	rr.p.Parse(format, []byte(raw), ev)
	if ev.Reparse() != format || ev.Raw != raw {
		return errCorrupt // a line that does not parse back to itself
	}
	ev.Time = t
	return nil
}

type decoder struct {
	b   []byte
	bad bool
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.bad = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

// varint undoes binary.AppendVarint's zigzag mapping of a uvarint.
func (d *decoder) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.bad || n > uint64(len(d.b)) {
		d.bad = true
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

// time restores what the JSON form gives back for the same instant and
// offset: UTC for offset 0; otherwise the Local zone when it has that
// offset at that instant (as time.Parse does), else a fixed zone.
func (d *decoder) time() time.Time {
	sec := d.varint()
	ns := d.uvarint()
	if len(d.b) == 0 || ns >= 1e9 {
		d.bad = true
		return time.Time{}
	}
	z := d.b[0]
	d.b = d.b[1:]
	t := time.Unix(sec, int64(ns))
	switch z {
	case recUTC:
		return t.UTC()
	case recOffset:
		m := d.varint()
		if m == 0 || m < -24*60 || m > 24*60 {
			d.bad = true
			return time.Time{}
		}
		off := int(m) * 60
		if _, lo := t.In(time.Local).Zone(); lo == off {
			return t.In(time.Local)
		}
		return t.In(time.FixedZone("", off))
	}
	d.bad = true
	return time.Time{}
}
