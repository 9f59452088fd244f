package intel

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
)

// Limits for indicator files, which come from outside (feeds, other bodies).
const (
	MaxFileSize   = 64 << 20
	MaxIndicators = 1_000_000
	maxLine       = 4096
)

// Format of an indicator file.
type Format string

// Formats Parse reads.
const (
	FormatList Format = "list" // one value per line, '#' comments
	FormatCSV  Format = "csv"  // header with value and optional kind, reason, expires, level, publisher
	FormatSTIX Format = "stix" // STIX 2.1 bundle of indicator objects
)

// DetectFormat picks the format from the file name, else the content.
func DetectFormat(name string, data []byte) Format {
	n := strings.ToLower(name)
	switch {
	case strings.HasSuffix(n, ".json"):
		return FormatSTIX
	case strings.HasSuffix(n, ".csv"):
		return FormatCSV
	}
	if t := bytes.TrimLeft(data, " \t\r\n\ufeff"); len(t) > 0 && t[0] == '{' {
		return FormatSTIX
	}
	return FormatList
}

// LineError is a problem at one line (list, CSV) or object (STIX).
type LineError struct {
	Line int
	Err  error
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *LineError) Unwrap() error { return e.Err }

// Parse reads indicators in format; defaults fill what the file does not
// say (tenant, publisher, reason, level, expiry). Every indicator is
// normalised. Bad entries are reported each with its line and skipped; a
// file that cannot be read as a whole returns err. Panics are recovered
// into err: an indicator file never brings the process down.
func Parse(data []byte, format Format, defaults Indicator) (out []Indicator, bad []*LineError, err error) {
	defer func() {
		if p := recover(); p != nil {
			out, bad, err = nil, nil, fmt.Errorf("intel: internal error while parsing: %v", p)
		}
	}()
	if len(data) > MaxFileSize {
		return nil, nil, fmt.Errorf("intel: file larger than %d bytes", MaxFileSize)
	}
	add := func(line int, in Indicator) {
		fill(&in, defaults)
		if e := in.Check(); e != nil {
			bad = append(bad, &LineError{line, e})
			return
		}
		if len(out) >= MaxIndicators {
			if len(bad) == 0 || bad[len(bad)-1].Line != -1 {
				bad = append(bad, &LineError{-1, fmt.Errorf("more than %d indicators: the rest is ignored", MaxIndicators)})
			}
			return
		}
		out = append(out, in)
	}
	switch format {
	case FormatList:
		err = parseList(data, add)
	case FormatCSV:
		err = parseCSV(data, add)
	case FormatSTIX:
		err = parseSTIX(data, add, &bad)
	default:
		err = fmt.Errorf("intel: unknown format %q (list, csv, stix)", format)
	}
	return out, bad, err
}

func fill(in *Indicator, d Indicator) {
	if in.Tenant == "" {
		in.Tenant = d.Tenant
	}
	if in.Publisher == "" {
		in.Publisher = d.Publisher
	}
	if in.Reason == "" {
		in.Reason = d.Reason
	}
	if in.Level == "" {
		in.Level = d.Level
	}
	if in.Expires.IsZero() {
		in.Expires = d.Expires
	}
	if in.Ref == "" {
		in.Ref = d.Ref
	}
}

func parseList(data []byte, add func(int, Indicator)) error {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxLine+1)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, " #"); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line == "" || line[0] == '#' {
			continue
		}
		var in Indicator
		// "kind:value" is accepted for the kinds that cannot be guessed.
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "domain" || k == "ip" || k == "cidr" || k == "url") && !strings.HasPrefix(v, "//") {
			in.Kind, line = Kind(k), v
		}
		in.Value = line
		add(n, in)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("intel: %w (lines are limited to %d bytes)", err, maxLine)
	}
	return nil
}

func parseCSV(data []byte, add func(int, Indicator)) error {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\ufeff"))))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	head, err := r.Read()
	if err != nil {
		return fmt.Errorf("intel: CSV header: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	vi, ok := col["value"]
	if !ok {
		if vi, ok = col["indicator"]; !ok {
			return errors.New("intel: CSV needs a value (or indicator) column")
		}
	}
	get := func(rec []string, name string) string {
		if i, ok := col[name]; ok && i < len(rec) {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			return fmt.Errorf("intel: CSV: %w", err)
		}
		if vi >= len(rec) {
			add(line, Indicator{})
			continue
		}
		in := Indicator{Kind: Kind(strings.ToLower(get(rec, "kind"))), Value: rec[vi], Reason: get(rec, "reason"),
			Level: get(rec, "level"), Publisher: get(rec, "publisher")}
		if e := get(rec, "expires"); e != "" {
			t, err := parseTime(e)
			if err != nil {
				add(line, Indicator{Value: "\x00"}) // reported as a bad value
				continue
			}
			in.Expires = t
		}
		add(line, in)
	}
}

func parseTime(s string) (time.Time, error) {
	for _, l := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q is not RFC 3339 or YYYY-MM-DD", s)
}

// stixObject is the part of a STIX 2.1 object we read.
type stixObject struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Name         string `json:"name"`
	Description  string `json:"description"`
	Pattern      string `json:"pattern"`
	PatternType  string `json:"pattern_type"`
	ValidUntil   string `json:"valid_until"`
	CreatedByRef string `json:"created_by_ref"`
	Revoked      bool   `json:"revoked"`
}

// stixComparison is one "[type:value = 'x']" comparison of a pattern.
var stixComparison = regexp.MustCompile(`^\s*\[\s*(domain-name|ipv4-addr|ipv6-addr|url):value\s*=\s*'((?:[^'\\]|\\.)*)'\s*\]\s*$`)

// parseSTIX reads the indicator objects of a STIX 2.1 bundle whose pattern
// is one equality comparison on domain-name, ipv4-addr, ipv6-addr or url
// values, or several such joined by OR; other patterns are reported and
// skipped. The publisher is the name of the identity in created_by_ref.
func parseSTIX(data []byte, add func(int, Indicator), bad *[]*LineError) error {
	var b struct {
		Type    string       `json:"type"`
		Objects []stixObject `json:"objects"`
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return fmt.Errorf("intel: STIX bundle: %w", err)
	}
	if b.Type != "bundle" {
		return fmt.Errorf("intel: STIX: type %q, want bundle", b.Type)
	}
	names := map[string]string{}
	for _, o := range b.Objects {
		if o.Type == "identity" {
			names[o.ID] = o.Name
		}
	}
	for i, o := range b.Objects {
		if o.Type != "indicator" || o.Revoked {
			continue
		}
		n := i + 1
		if o.PatternType != "" && o.PatternType != "stix" {
			*bad = append(*bad, &LineError{n, fmt.Errorf("%s: pattern_type %q is not supported", o.ID, o.PatternType)})
			continue
		}
		var exp time.Time
		if o.ValidUntil != "" {
			t, err := time.Parse(time.RFC3339Nano, o.ValidUntil)
			if err != nil {
				*bad = append(*bad, &LineError{n, fmt.Errorf("%s: valid_until: %w", o.ID, err)})
				continue
			}
			exp = t
		}
		reason := o.Name
		if o.Description != "" {
			reason = strings.TrimSpace(reason + " " + o.Description)
		}
		parts := strings.Split(o.Pattern, " OR ")
		for _, p := range parts {
			m := stixComparison.FindStringSubmatch(p)
			if m == nil {
				*bad = append(*bad, &LineError{n, fmt.Errorf("%s: pattern %q: only equality on domain-name, ipv4-addr, ipv6-addr or url values is supported", o.ID, truncate(p, 200))})
				continue
			}
			v := strings.NewReplacer(`\'`, `'`, `\\`, `\`).Replace(m[2])
			kind := map[string]Kind{"domain-name": Domain, "url": URL}[m[1]]
			if kind == "" {
				kind = Guess(v) // ip or cidr
				if kind != IP && kind != CIDR {
					kind = IP
				}
			}
			add(n, Indicator{Kind: kind, Value: v, Reason: truncate(reason, 1024), Expires: exp, Publisher: names[o.CreatedByRef], Ref: o.ID})
		}
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
