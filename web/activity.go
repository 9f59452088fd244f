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
	off := int64(0)
	if size > activityTail {
		off, truncated = size-activityTail, true
	}
	br := bufio.NewReaderSize(io.NewSectionReader(r, off, size-off), 64<<10)
	first := truncated // the first line of a tail is probably partial
	var line []byte
	long := false
	for {
		chunk, rerr := br.ReadSlice('\n')
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
			return items, malformed, truncated, rerr
		}
		// A whole line (or the last, unterminated one).
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
		if rerr != nil {
			return items, malformed, truncated, nil
		}
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
			blocked = append(blocked, it)
		}
	}
	counts := make([]VerdictCount, 0, len(byCat))
	for _, c := range byCat {
		counts = append(counts, *c)
	}
	sort.Slice(counts, func(i, j int) bool { return counts[i].Category < counts[j].Category })
	slices.SortStableFunc(blocked, func(a, b activityItem) int { return b.At.Compare(a.At) })
	return counts, capped(blocked, latestBlocked)
}

// activityFile caches the decoded items of one file until it changes.
type activityFile struct {
	mu        sync.Mutex
	path      string
	parse     func([]byte) (activityItem, bool)
	size      int64
	mod       time.Time
	items     []activityItem
	malformed int
	truncated bool
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
	if st.Size() != f.size || !st.ModTime().Equal(f.mod) {
		items, bad, trunc, err := readActivity(fh, st.Size(), f.parse)
		if err != nil {
			return s, err
		}
		f.items, f.malformed, f.truncated, f.size, f.mod = items, bad, trunc, st.Size(), st.ModTime()
	}
	s.Counts, s.Blocked = summarize(f.items, now)
	s.Malformed, s.Truncated = f.malformed, f.truncated
	return s, nil
}
