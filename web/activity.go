package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"slices"
	"sort"
	"sync"
	"time"
)

// Sanitization and mail activity on the dashboard (guideline 3(2): what
// entered LGWAN and how it was made harmless must be traceable). The
// console reads the JSON-lines audit files that `kyojin sanitize --audit`
// and `kyojin mailgate` append to. Those files are written by other
// processes and may be damaged or hostile: a line that does not decode is
// counted, never fatal, and only names, verdicts and reasons are shown
// (html/template escapes them), never file contents.

// ActivitySources name the audit files; either may be empty.
type ActivitySources struct {
	SanitizeAudit string
	MailgateAudit string
}

const (
	// activityTail bounds how much of the end of each file is read: the
	// dashboard covers seven days, and a huge file must not stall it.
	activityTail = 16 << 20
	// maxActivityLine bounds one record; longer lines count as malformed.
	maxActivityLine = 1 << 20
	latestBlocked   = 10
)

// sanitizeLine is the part of a sanitize.Record the dashboard uses.
type sanitizeLine struct {
	Start      time.Time `json:"start"`
	ParentID   string    `json:"parent_id"`
	Name       string    `json:"name"`
	Detected   string    `json:"detected_type"`
	Verdict    string    `json:"verdict"`
	ReasonCode string    `json:"reason_code"`
	Reason     string    `json:"reason"`
}

// mailLine is the part of a mailgate.AuditRecord the dashboard uses.
type mailLine struct {
	Time   time.Time `json:"time"`
	Event  string    `json:"event"`
	From   string    `json:"from"`
	Reason string    `json:"reason"`
	Parts  []struct {
		Name    string `json:"name"`
		Action  string `json:"action"`
		Verdict string `json:"verdict"`
		Reason  string `json:"reason"`
	} `json:"parts"`
}

// activityItem is one event after decoding: when, a category (verdict or
// mail event), whether it was kept out, and what to show.
type activityItem struct {
	At       time.Time
	Category string
	Blocked  bool
	Name     string // file name, or the envelope sender for mail
	Detail   string // type or reason
}

// VerdictCount is a row of the counts table.
type VerdictCount struct {
	Category  string
	Day, Week int
}

// ActivitySummary is what the dashboard shows for one source.
type ActivitySummary struct {
	Configured bool
	Err        string // the file cannot be read (generic; details are logged)
	Counts     []VerdictCount
	Blocked    []activityItem // newest first
	Malformed  int
	Truncated  bool // only the tail of the file was read
}

// parseSanitize decodes sanitize audit lines. Member records of archives
// (parent_id set) are counted like files: each is a verdict on content.
func parseSanitize(line []byte) (activityItem, bool) {
	var r sanitizeLine
	if json.Unmarshal(line, &r) != nil || r.Verdict == "" || r.Start.IsZero() {
		return activityItem{}, false
	}
	blocked := r.Verdict == "BLOCKED" || r.Verdict == "FAILED" || r.Verdict == "HELD"
	detail := r.ReasonCode
	if r.Reason != "" {
		detail += " " + r.Reason
	}
	return activityItem{At: r.Start, Category: r.Verdict, Blocked: blocked, Name: r.Name, Detail: detail}, true
}

// parseMail decodes mailgate audit lines. A message is "blocked" when it
// was refused (rejected, bounced, dropped) or when one of its parts was
// removed, rejected or quarantined.
func parseMail(line []byte) (activityItem, bool) {
	var r mailLine
	if json.Unmarshal(line, &r) != nil || r.Event == "" || r.Time.IsZero() {
		return activityItem{}, false
	}
	it := activityItem{At: r.Time, Category: r.Event, Name: r.From, Detail: r.Reason}
	switch r.Event {
	case "rejected", "bounced", "dropped":
		it.Blocked = true
	}
	for _, p := range r.Parts {
		if p.Action == "removed" || p.Action == "rejected" || p.Action == "quarantined" || p.Verdict == "BLOCKED" || p.Verdict == "FAILED" {
			it.Blocked = true
			d := p.Action + " " + p.Name
			if p.Reason != "" {
				d += "（" + p.Reason + "）"
			}
			if it.Detail != "" {
				it.Detail += "、"
			}
			it.Detail += d
		}
	}
	if it.Name == "" {
		it.Name = "<>" // the null sender of bounces
	}
	return it, true
}

// readActivity reads the tail of r (size bytes) line by line. It returns
// the decoded items, the number of lines that did not decode, and whether
// the beginning of the file was skipped.
func readActivity(r io.ReaderAt, size int64, parse func([]byte) (activityItem, bool)) (items []activityItem, malformed int, truncated bool, err error) {
	items, malformed, truncated, _, err = readActivityFrom(r, 0, size, parse)
	return items, malformed, truncated, err
}

// readActivityFrom reads from start (the end of what was read before, or
// 0) to size, but never more than activityTail bytes. A final line without
// its newline is a write in progress: it is left for the next read, and end
// is the offset just after the last complete line.
func readActivityFrom(r io.ReaderAt, start, size int64, parse func([]byte) (activityItem, bool)) (items []activityItem, malformed int, truncated bool, end int64, err error) {
	off := start
	if size-start > activityTail {
		off, truncated = size-activityTail, true
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 64<<10)
	first := truncated // the first line of a tail is probably partial
	var line []byte
	long := false
	pos := off
	end = off
	for {
		chunk, rerr := br.ReadSlice('\n')
		pos += int64(len(chunk))
		switch {
		case long:
		case len(line)+len(chunk) > maxActivityLine:
			long, line = true, line[:0]
		default:
			line = append(line, chunk...)
		}
		if errors.Is(rerr, bufio.ErrBufferFull) {
			continue
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return items, malformed, truncated, end, rerr
		}
		if rerr != nil { // EOF: an unterminated rest is not a record yet
			return items, malformed, truncated, end, nil
		}
		end = pos
		if t := bytes.TrimSpace(line); first {
			first = false
		} else if long {
			malformed++
		} else if len(t) > 0 {
			if it, ok := parse(t); ok {
				items = append(items, it)
			} else {
				malformed++
			}
		}
		line, long = line[:0], false
	}
}

// summarize counts items by category over the last day and week before now
// and keeps the latest blocked ones.
func summarize(items []activityItem, now time.Time) ([]VerdictCount, []activityItem) {
	byCat := map[string]*VerdictCount{}
	var blocked []activityItem
	dayAgo, weekAgo := now.Add(-24*time.Hour), now.Add(-7*24*time.Hour)
	for _, it := range items {
		if it.At.Before(weekAgo) || it.At.After(now.Add(time.Hour)) {
			continue // outside the window (or from a clock far ahead)
		}
		c := byCat[it.Category]
		if c == nil {
			c = &VerdictCount{Category: it.Category}
			byCat[it.Category] = c
		}
		c.Week++
		if !it.At.Before(dayAgo) {
			c.Day++
		}
		if it.Blocked {
			blocked = keepLatest(blocked, it, latestBlocked)
		}
	}
	counts := make([]VerdictCount, 0, len(byCat))
	for _, c := range byCat {
		counts = append(counts, *c)
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].Category < counts[j].Category })
	return counts, blocked
}

// keepLatest inserts it into top (newest first, at most n long): a
// week of a busy gateway has thousands of blocked items, and only n are
// shown.
func keepLatest(top []activityItem, it activityItem, n int) []activityItem {
	i := len(top)
	for i > 0 && top[i-1].At.Before(it.At) {
		i--
	}
	if i >= n {
		return top
	}
	top = slices.Insert(top, i, it)
	return top[:min(len(top), n)]
}

// activityFile caches the decoded items of one file. An audit file only
// grows: when it is the same file and larger, only the appended bytes are
// read; when it was rotated or truncated, it is read again. The summary is
// reused for a minute while the file is unchanged.
type activityFile struct {
	mu        sync.Mutex
	path      string
	parse     func([]byte) (activityItem, bool)
	info      os.FileInfo // of the file as last read
	size      int64
	items     []activityItem
	malformed int
	truncated bool
	sum       ActivitySummary
	sumAt     time.Time
}

func (f *activityFile) summary(now time.Time) (ActivitySummary, error) {
	if f == nil || f.path == "" {
		return ActivitySummary{}, nil
	}
	s := ActivitySummary{Configured: true}
	f.mu.Lock()
	defer f.mu.Unlock()
	fh, err := os.Open(f.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return s, nil // nothing recorded yet
		}
		return s, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return s, err
	}
	if !st.Mode().IsRegular() {
		return s, errors.New("not a regular file")
	}
	// f.size is where the last complete line ended, which may be short of
	// the size seen then (a line being written).
	grown := f.info != nil && os.SameFile(f.info, st) && st.Size() >= f.info.Size()
	changed := f.info == nil || !os.SameFile(f.info, st) || st.Size() != f.info.Size() || !st.ModTime().Equal(f.info.ModTime())
	if changed {
		start := int64(0)
		if grown {
			start = f.size
		} else {
			f.items, f.malformed, f.truncated = nil, 0, false
		}
		items, bad, trunc, end, err := readActivityFrom(fh, start, st.Size(), f.parse)
		if err != nil {
			return s, err
		}
		// Keep memory bounded: nothing older than the window is shown.
		cut := now.Add(-8 * 24 * time.Hour)
		f.items = slices.DeleteFunc(append(f.items, items...), func(it activityItem) bool { return it.At.Before(cut) })
		f.malformed += bad
		f.truncated = f.truncated || trunc
		f.info, f.size = st, end
	}
	if changed || now.Before(f.sumAt) || now.Sub(f.sumAt) >= time.Minute {
		s.Counts, s.Blocked = summarize(f.items, now)
		s.Malformed, s.Truncated = f.malformed, f.truncated
		f.sum, f.sumAt = s, now
	}
	return f.sum, nil
}
