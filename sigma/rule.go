// Package sigma is a Sigma detection engine: it loads Sigma rules (rule and
// correlation documents, Sigma specification v2), compiles their detections
// once into matchers and evaluates them against events, and evaluates
// correlation rules as a stream with sliding windows per tenant.
//
// Rules are third-party input: loading is strict about structure and every
// rule that cannot load is reported with its file and reason; nothing in a
// rule can panic the process.
//
// The shared SigmaHQ rules are under the Detection Rule License 1.1, which
// requires alerts built on a rule to credit the rule and its author; Rule.Credit
// gives that text.
package sigma

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// Event is what detection needs from a normalized event.
type Event interface {
	// Get returns the value of a field (Sigma taxonomy names after mapping).
	Get(field string) (string, bool)
}

// FieldRanger is implemented by events that can list their fields; keyword
// selections (values without a field) search every value of such events.
type FieldRanger interface {
	Range(fn func(field, value string) bool)
}

// StreamEvent is what correlation needs: a time and the tenant the event
// belongs to (issue 8 §1: every event carries its tenant).
type StreamEvent interface {
	Event
	Time() time.Time
	Tenant() string
}

// LogSource is the rule's logsource section.
type LogSource struct {
	Category   string `yaml:"category"`
	Product    string `yaml:"product"`
	Service    string `yaml:"service"`
	Definition string `yaml:"definition"`
}

// Rule is one loaded and compiled Sigma detection rule.
type Rule struct {
	ID          string
	Name        string
	Title       string
	Description string
	Author      string
	License     string
	Status      string
	Level       string
	Date        string
	Modified    string
	Tags        []string
	References  []string
	LogSource   LogSource
	// File is where the rule was loaded from, if from a file.
	File string
	// Aggregation is set for legacy rules whose condition carries a pipe
	// aggregation ("selection | count() by src_ip > 10"); the rule's matches
	// then feed that aggregation rather than alerting directly.
	Aggregation *Correlation

	det *detection
}

// Credit is the attribution the Detection Rule License requires on alerts
// built on the rule.
func (r *Rule) Credit() string {
	lic := r.License
	if lic == "" {
		lic = "Detection Rule License (DRL) 1.1"
	}
	return fmt.Sprintf("Sigma rule %q (%s) by %s — %s", r.Title, r.ID, orUnknown(r.Author), lic)
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown author"
	}
	return s
}

// Match reports whether ev satisfies the rule's detection. It never panics.
func (r *Rule) Match(ev Event) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return r.det.cond.eval(ev)
}

// rawRule is the YAML shape of a rule or correlation document. Types are
// checked by the decoder: a title that is a list is an error, not a guess.
type rawRule struct {
	Title          string         `yaml:"title"`
	ID             string         `yaml:"id"`
	Name           string         `yaml:"name"`
	Status         string         `yaml:"status"`
	Description    string         `yaml:"description"`
	License        string         `yaml:"license"`
	Author         string         `yaml:"author"`
	References     []string       `yaml:"references"`
	Date           any            `yaml:"date"`
	Modified       any            `yaml:"modified"`
	Tags           []string       `yaml:"tags"`
	Level          string         `yaml:"level"`
	LogSource      *LogSource     `yaml:"logsource"`
	Detection      map[string]any `yaml:"detection"`
	Correlation    *rawCorr       `yaml:"correlation"`
	Taxonomy       string         `yaml:"taxonomy"`
	Generate       bool           `yaml:"generate"`
	Falsepositives any            `yaml:"falsepositives"`
}

// Options configure compilation.
type Options struct {
	// Mapping maps rule field names onto the event schema per logsource; nil
	// means DefaultMapping().
	Mapping *Mapping
	// Placeholders gives the values of %name% placeholders for the expand
	// modifier (configuration, e.g. the tenant's admin accounts).
	Placeholders map[string][]string
}

func (o *Options) mapping() *Mapping {
	if o == nil || o.Mapping == nil {
		return DefaultMapping()
	}
	return o.Mapping
}

// Set is the result of loading: detection rules and correlation rules.
type Set struct {
	Rules        []*Rule
	Correlations []*Correlation
}

// FileError is one file (or document in it) that could not load.
type FileError struct {
	File string
	Doc  int // 1-based document number in a multi-document file
	Err  error
}

func (e *FileError) Error() string {
	if e.Doc > 1 {
		return fmt.Sprintf("%s (document %d): %v", e.File, e.Doc, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}
func (e *FileError) Unwrap() error { return e.Err }

// ErrUnsupported marks rules using a Sigma feature this engine does not
// implement; they are reported, never silently dropped.
var ErrUnsupported = errors.New("unsupported")

// maxRuleSize bounds a rule file; real rules are a few KiB.
const maxRuleSize = 1 << 20

// Parse loads every document of one rule file. name is used in errors.
func Parse(data []byte, name string, opt *Options) (set *Set, errs []*FileError) {
	set = &Set{}
	defer func() {
		if p := recover(); p != nil {
			errs = append(errs, &FileError{File: name, Err: fmt.Errorf("internal error while loading: %v", p)})
		}
	}()
	if len(data) > maxRuleSize {
		return set, []*FileError{{File: name, Err: fmt.Errorf("file larger than %d bytes", maxRuleSize)}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for doc := 1; ; doc++ {
		var raw rawRule
		err := dec.Decode(&raw)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, &FileError{File: name, Doc: doc, Err: fmt.Errorf("YAML: %s", firstLine(err.Error()))})
			break // the decoder cannot resynchronise after a syntax error
		}
		switch {
		case raw.Correlation != nil && raw.Detection != nil:
			err = errors.New("document has both detection and correlation")
		case raw.Correlation != nil:
			var c *Correlation
			c, err = compileCorrelation(&raw, opt)
			if err == nil {
				c.File = name
				set.Correlations = append(set.Correlations, c)
			}
		default:
			var r *Rule
			r, err = compileRule(&raw, opt)
			if err == nil {
				r.File = name
				set.Rules = append(set.Rules, r)
			}
		}
		if err != nil {
			errs = append(errs, &FileError{File: name, Doc: doc, Err: err})
		}
	}
	return set, errs
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// LoadDir loads every .yml/.yaml file under dir. It returns what loaded and
// one error per file (or document) that did not; the error of the walk
// itself is returned separately.
func LoadDir(dir string, opt *Options) (*Set, []*FileError, error) {
	set := &Set{}
	var errs []*FileError
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yml") || strings.HasSuffix(p, ".yaml")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return set, errs, fmt.Errorf("sigma: walking %s: %w", dir, err)
	}
	sort.Strings(files)
	seen := map[string]string{} // id -> file that defined it
	dup := func(id, file string) bool {
		if id == "" {
			return false
		}
		if prev, ok := seen[id]; ok {
			errs = append(errs, &FileError{File: file, Err: fmt.Errorf("duplicate id %s (already loaded from %s)", id, prev)})
			return true
		}
		seen[id] = file
		return false
	}
	for _, f := range files {
		s, fe := LoadFile(f, opt)
		for _, r := range s.Rules {
			if !dup(r.ID, f) {
				set.Rules = append(set.Rules, r)
			}
		}
		for _, c := range s.Correlations {
			if !dup(c.ID, f) {
				set.Correlations = append(set.Correlations, c)
			}
		}
		errs = append(errs, fe...)
	}
	return set, errs, nil
}

// LoadFile loads one rule file.
func LoadFile(path string, opt *Options) (*Set, []*FileError) {
	data, err := os.ReadFile(path)
	if err != nil {
		return &Set{}, []*FileError{{File: path, Err: err}}
	}
	return Parse(data, path, opt)
}

func compileRule(raw *rawRule, opt *Options) (*Rule, error) {
	if strings.TrimSpace(raw.Title) == "" {
		return nil, errors.New("missing title")
	}
	if raw.LogSource == nil {
		return nil, errors.New("missing logsource")
	}
	if raw.Detection == nil {
		return nil, errors.New("missing detection")
	}
	r := &Rule{
		ID: raw.ID, Name: raw.Name, Title: raw.Title, Description: raw.Description,
		Author: raw.Author, License: raw.License, Status: raw.Status, Level: raw.Level,
		Date: scalarString(raw.Date), Modified: scalarString(raw.Modified),
		Tags: raw.Tags, References: raw.References, LogSource: *raw.LogSource,
	}
	det, agg, err := compileDetection(raw.Detection, r.LogSource, opt)
	if err != nil {
		return nil, err
	}
	r.det = det
	if agg != nil {
		agg.ID = r.ID
		agg.Title = r.Title
		agg.Rules = []string{r.ID}
		agg.Level = r.Level
		r.Aggregation = agg
	}
	return r, nil
}

func scalarString(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
