// Package eventstore is the security cloud's embedded event storage: raw and
// normalized events in compressed, append-only segments, one directory per
// tenant and per day (issue 8 §4: "raw events in compressed append-only
// segments per tenant and day (retention = deleting segments)").
//
// Layout: ROOT/<tenant>/<YYYY-MM-DD>/<seq>.rec.s2 holds records (record.go:
// the raw line and its times for events that parsing the line again
// reproduces — nearly all — and the compact JSON of Event.AppendStored for
// the rest) in the S2 framed stream format (klauspost/compress/s2, a
// Snappy-compatible framing with CRC-32C per block); <seq>.idx beside it
// records the time range and count so searches skip segments outside the
// asked range. Storing the line rather than its fields is what lets intake
// leave most lines unparsed (issue 8 §6; docs/performance-intake.md);
// reading parses them again. JSON-line segments of earlier versions
// (<seq>.jsonl.s2, <seq>.jsonl.gz) are still read. A segment is sealed
// when it reaches SegmentEvents events; every Flush ends an S2 block, so
// flushed data is readable (and survives a
// crash) while the segment is still open. Tenants never share a file, and
// every search names exactly one tenant: isolation is structural.
package eventstore

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
)

// SegmentEvents is the number of events after which a segment is sealed.
const SegmentEvents = 100_000

const dayLayout = "2006-01-02"

var tenantRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidTenant reports whether id may name a tenant directory.
func ValidTenant(id string) bool { return tenantRE.MatchString(id) }

// Segment file name endings: new segments hold records (record.go) in S2;
// JSON-line segments in S2 and in gzip from earlier versions are read.
const (
	extRec  = ".rec.s2"
	extS2   = ".jsonl.s2"
	extGzip = ".jsonl.gz"
)

// blockSize is the S2 block: the unit of compression and of what a crash
// can lose after the last Flush. 64 KiB keeps an open segment's buffers
// near 130 KiB.
const blockSize = 64 << 10

// Store appends and searches events under one root directory. It is safe
// for concurrent use.
type Store struct {
	root string
	mu   sync.Mutex
	open map[segKey]*segment
	buf  []byte // encode buffer, guarded by mu
	last *segment
}

// segKey names an open segment: tenant and UTC day (days since 1970).
type segKey struct {
	tenant string
	day    int64
}

func dayOf(t time.Time) int64 {
	sec := t.Unix()
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	return d
}

type segIndex struct {
	Min   time.Time `json:"min"`
	Max   time.Time `json:"max"`
	Count int       `json:"count"`
}

type segment struct {
	key    segKey
	path   string
	f      *os.File
	zw     *s2.Writer
	idx    segIndex
	dirty  bool
	idxf   *os.File // the index file, kept open: rewritten in place on every flush
	idxLen int      // bytes last written to idxf
}

// Open opens (creating) a store at root.
func Open(root string) (*Store, error) {
	if err := os.MkdirAll(root, 0o750); err != nil {
		return nil, fmt.Errorf("eventstore: %w", err)
	}
	return &Store{root: root, open: map[segKey]*segment{}}, nil
}

// Append stores events. Each must carry a valid Tenant.
func (s *Store) Append(evs ...*event.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range evs {
		seg, err := s.segmentFor(ev)
		if err != nil {
			return err
		}
		b, err := appendRecord(s.buf[:0], ev)
		if err != nil {
			return fmt.Errorf("eventstore: encode: %w", err)
		}
		s.buf = b
		// the S2 writer copies into its block and compresses a whole
		// block at a time: appends are batched per segment
		if _, err := seg.zw.Write(b); err != nil {
			return fmt.Errorf("eventstore: write %s: %w", seg.path, err)
		}
		if seg.idx.Count == 0 || ev.Time.Before(seg.idx.Min) {
			seg.idx.Min = ev.Time
		}
		if ev.Time.After(seg.idx.Max) {
			seg.idx.Max = ev.Time
		}
		seg.idx.Count++
		seg.dirty = true
		if seg.idx.Count >= SegmentEvents {
			delete(s.open, seg.key)
			s.last = nil
			if err := seg.close(); err != nil {
				return err
			}
		}
	}
	return nil
}

// segmentFor returns the open segment of ev's tenant and day, opening the
// next one when there is none. Consecutive events mostly share it.
func (s *Store) segmentFor(ev *event.Event) (*segment, error) {
	key := segKey{ev.Tenant, dayOf(ev.Time)}
	if s.last != nil && s.last.key == key {
		return s.last, nil
	}
	if seg := s.open[key]; seg != nil {
		s.last = seg
		return seg, nil
	}
	if !ValidTenant(ev.Tenant) {
		return nil, fmt.Errorf("eventstore: invalid tenant %q", ev.Tenant)
	}
	day := ev.Time.UTC().Format(dayLayout)
	dir := filepath.Join(s.root, ev.Tenant, day)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("eventstore: %w", err)
	}
	// never reopen a sealed or crashed segment: start the next number
	existing, err := segmentFiles(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, fmt.Sprintf("%06d%s", len(existing)+1, extRec))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return nil, fmt.Errorf("eventstore: %w", err)
	}
	seg := &segment{key: key, path: path, f: f,
		zw: s2.NewWriter(f, s2.WriterConcurrency(1), s2.WriterBlockSize(blockSize))}
	s.open[key] = seg
	s.last = seg
	return seg, nil
}

// segmentFiles lists the segments of one day directory, in order.
func segmentFiles(dir string) ([]string, error) {
	var out []string
	for _, ext := range []string{extRec, extS2, extGzip} {
		m, err := filepath.Glob(filepath.Join(dir, "*"+ext))
		if err != nil {
			return nil, fmt.Errorf("eventstore: %w", err)
		}
		out = append(out, m...)
	}
	slices.Sort(out)
	return out, nil
}

// idxPath is the index file beside a segment.
func idxPath(seg string) string {
	for _, ext := range []string{extRec, extS2, extGzip} {
		if strings.HasSuffix(seg, ext) {
			return strings.TrimSuffix(seg, ext) + ".idx"
		}
	}
	return seg + ".idx"
}

// flush ends the current S2 block and writes the index.
func (seg *segment) flush() error {
	if !seg.dirty {
		return nil
	}
	if err := seg.zw.Flush(); err != nil {
		return fmt.Errorf("eventstore: flush %s: %w", seg.path, err)
	}
	seg.dirty = false
	// The index is rewritten in place (one write, no new file and rename
	// each second per segment): it is only a hint, and a torn or missing
	// index makes Search scan the segment (overlaps). Trailing spaces pad
	// a shorter document over a longer one; JSON allows them.
	if seg.idxf == nil {
		f, err := os.OpenFile(idxPath(seg.path), os.O_CREATE|os.O_WRONLY, 0o640)
		if err != nil {
			return fmt.Errorf("eventstore: index: %w", err)
		}
		seg.idxf = f
	}
	b, _ := json.Marshal(seg.idx)
	n := len(b)
	for len(b) < seg.idxLen {
		b = append(b, ' ')
	}
	if _, err := seg.idxf.WriteAt(b, 0); err != nil {
		return fmt.Errorf("eventstore: index: %w", err)
	}
	seg.idxLen = max(seg.idxLen, n)
	return nil
}

func (seg *segment) close() error {
	err := errors.Join(seg.flush(), seg.zw.Close(), seg.f.Close())
	if seg.idxf != nil {
		err = errors.Join(err, seg.idxf.Close())
	}
	return err
}

// Flush makes every appended event visible to Search and durable.
func (s *Store) Flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, seg := range s.open {
		errs = append(errs, seg.flush())
	}
	return errors.Join(errs...)
}

// Close flushes and closes every open segment.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for k, seg := range s.open {
		errs = append(errs, seg.close())
		delete(s.open, k)
	}
	s.last = nil
	return errors.Join(errs...)
}

// Op is a field comparison.
type Op int

const (
	Equal    Op = iota // exact value
	Contains           // substring, case-insensitive
)

// Filter matches one field of an event (names as event.Event.Get).
type Filter struct {
	Field string
	Op    Op
	Value string
}

// Query selects events of one tenant in [From, To) matching all Filters.
type Query struct {
	Tenant  string
	From    time.Time
	To      time.Time // zero: no upper bound
	Filters []Filter
	Limit   int // 0: no limit
}

// ParseFilter reads "FIELD=VALUE" (equality) or "FIELD~VALUE" (contains).
func ParseFilter(s string) (Filter, error) {
	i := strings.IndexAny(s, "=~")
	if i <= 0 {
		return Filter{}, fmt.Errorf("filter %q: want FIELD=VALUE or FIELD~VALUE", s)
	}
	op := Equal
	if s[i] == '~' {
		op = Contains
	}
	return Filter{Field: s[:i], Op: op, Value: s[i+1:]}, nil
}

// Match reports whether ev falls in q's time range and passes every
// filter. Other backends (eventstore/pgevents) use it as the final word so
// that a search means the same everywhere.
func (q *Query) Match(ev *event.Event) bool {
	if ev.Time.Before(q.From) || !q.To.IsZero() && !ev.Time.Before(q.To) {
		return false
	}
	for _, f := range q.Filters {
		v, ok := ev.Get(f.Field)
		if !ok {
			return false
		}
		switch f.Op {
		case Equal:
			if v != f.Value {
				return false
			}
		case Contains:
			if !strings.Contains(strings.ToLower(v), strings.ToLower(f.Value)) {
				return false
			}
		}
	}
	return true
}

// Search calls fn for each matching event of q.Tenant, oldest day first;
// fn returning false stops. Open segments are flushed first.
func (s *Store) Search(q Query, fn func(*event.Event) bool) error {
	if !ValidTenant(q.Tenant) {
		return fmt.Errorf("eventstore: invalid tenant %q", q.Tenant)
	}
	if err := s.Flush(); err != nil {
		return err
	}
	days, err := os.ReadDir(filepath.Join(s.root, q.Tenant))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return fmt.Errorf("eventstore: %w", err)
	}
	n := 0
	for _, d := range days {
		day, err := time.Parse(dayLayout, d.Name())
		if err != nil || !q.To.IsZero() && !day.Before(q.To) || !day.AddDate(0, 0, 1).After(q.From) {
			continue
		}
		segs, err := segmentFiles(filepath.Join(s.root, q.Tenant, d.Name()))
		if err != nil {
			return err
		}
		for _, path := range segs {
			if !overlaps(path, q) {
				continue
			}
			stop, err := scanSegment(path, q.Tenant, func(ev *event.Event) bool {
				if !q.Match(ev) {
					return true
				}
				n++
				return fn(ev) && (q.Limit == 0 || n < q.Limit)
			})
			if err != nil {
				return err
			}
			if stop {
				return nil
			}
		}
	}
	return nil
}

// overlaps reads the segment index; a missing or unreadable index (a
// crash before the first flush) means the segment is scanned.
func overlaps(path string, q Query) bool {
	b, err := os.ReadFile(idxPath(path))
	if err != nil {
		return true
	}
	var idx segIndex
	if json.Unmarshal(b, &idx) != nil {
		return true
	}
	return !idx.Max.Before(q.From) && (q.To.IsZero() || idx.Min.Before(q.To))
}

// scanSegment decodes a segment; a truncated tail (crash mid-member) ends
// the scan without error, since every flushed member before it is whole.
func scanSegment(path, tenant string, fn func(*event.Event) bool) (stopped bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("eventstore: %w", err)
	}
	defer f.Close()
	if strings.HasSuffix(path, extRec) {
		return scanRecords(path, s2.NewReader(bufio.NewReaderSize(f, 64<<10)), tenant, fn)
	}
	var zr io.Reader
	if strings.HasSuffix(path, extGzip) {
		gz, err := gzip.NewReader(bufio.NewReader(f))
		if err == io.EOF {
			return false, nil
		} else if err != nil {
			return false, fmt.Errorf("eventstore: %s: %w", path, err)
		}
		zr = gz
	} else {
		zr = s2.NewReader(bufio.NewReader(f))
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var ev event.Event
		if err := event.DecodeStored(sc.Bytes(), &ev); err != nil {
			return false, fmt.Errorf("eventstore: %s: corrupt line: %w", path, err)
		}
		if ev.Tenant != tenant {
			// defence in depth: a file under another tenant's directory
			return false, fmt.Errorf("eventstore: %s holds tenant %q", path, ev.Tenant)
		}
		if !fn(&ev) {
			return true, nil
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return false, fmt.Errorf("eventstore: %s: %w", path, err)
	}
	return false, nil
}

// Retain deletes whole day directories of tenant older than keepFrom's day
// (retention by deleting segments) and returns how many days were removed.
func (s *Store) Retain(tenant string, keepFrom time.Time) (int, error) {
	if !ValidTenant(tenant) {
		return 0, fmt.Errorf("eventstore: invalid tenant %q", tenant)
	}
	cut := keepFrom.UTC().Format(dayLayout)
	s.mu.Lock()
	defer s.mu.Unlock()
	days, err := os.ReadDir(filepath.Join(s.root, tenant))
	if err != nil {
		return 0, nil
	}
	n := 0
	for _, d := range days {
		if _, err := time.Parse(dayLayout, d.Name()); err != nil || d.Name() >= cut {
			continue
		}
		if t, err := time.Parse(dayLayout, d.Name()); err == nil {
			key := segKey{tenant, dayOf(t)}
			if seg := s.open[key]; seg != nil {
				_ = seg.close()
				delete(s.open, key)
				s.last = nil
			}
		}
		if err := os.RemoveAll(filepath.Join(s.root, tenant, d.Name())); err != nil {
			return n, fmt.Errorf("eventstore: retention: %w", err)
		}
		n++
	}
	return n, nil
}

// scanRecords decodes a record segment (record.go). A truncated tail (a
// crash before the block was written whole) ends the scan without error;
// a record that does not decode is an error, as a corrupt JSON line is.
func scanRecords(path string, zr *s2.Reader, tenant string, fn func(*event.Event) bool) (stopped bool, err error) {
	rr := recordReader{p: logparse.New(time.UTC, nil)}
	br := bufio.NewReaderSize(zr, 64<<10)
	var buf []byte
	for {
		kind, err := br.ReadByte()
		if err != nil {
			return false, endOfSegment(path, err)
		}
		n, err := binary.ReadUvarint(br)
		if err != nil {
			return false, endOfSegment(path, err)
		}
		if n > maxRecord {
			return false, fmt.Errorf("eventstore: %s: %w: %d bytes", path, errCorrupt, n)
		}
		if uint64(cap(buf)) < n {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return false, endOfSegment(path, err)
		}
		var ev event.Event
		if err := rr.decode(kind, buf, &ev); err != nil {
			return false, fmt.Errorf("eventstore: %s: %w", path, err)
		}
		if ev.Tenant != tenant {
			// defence in depth: a file under another tenant's directory
			return false, fmt.Errorf("eventstore: %s holds tenant %q", path, ev.Tenant)
		}
		if !fn(&ev) {
			return true, nil
		}
	}
}

// endOfSegment: the end of the stream, or of what a crash left whole, is
// not an error; anything else is.
func endOfSegment(path string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return nil
	}
	return fmt.Errorf("eventstore: %s: %w", path, err)
}
