package sigma

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Correlation is a loaded Sigma correlation rule (correlation rules
// specification), or the aggregation of a legacy rule condition
// ("selection | count() by src_ip > 10").
type Correlation struct {
	ID, Name, Title, Level, Author, License, File string
	// Type is event_count, value_count, temporal, temporal_ordered, value_sum
	// or value_avg.
	Type     string
	Rules    []string // referenced rule ids or names, in order
	GroupBy  []string
	Aliases  map[string]map[string]string // alias -> rule name -> field
	Timespan time.Duration
	// Conds are ANDed ("gt: 100, lte: 200" is a range).
	Conds []Cond
	// Field is the condition's field for value_count/value_sum/value_avg.
	Field    string
	Generate bool
}

// Cond is one condition criterion.
type Cond struct {
	Op string // gt gte lt lte eq neq
	V  float64
}

func (c Cond) holds(x float64) bool {
	switch c.Op {
	case "gt":
		return x > c.V
	case "gte":
		return x >= c.V
	case "lt":
		return x < c.V
	case "lte":
		return x <= c.V
	case "eq":
		return x == c.V
	default:
		return x != c.V
	}
}

// Credit is the attribution for alerts built on the correlation.
func (c *Correlation) Credit() string {
	lic := c.License
	if lic == "" {
		lic = "Detection Rule License (DRL) 1.1"
	}
	return fmt.Sprintf("Sigma correlation %q (%s) by %s — %s", c.Title, c.ID, orUnknown(c.Author), lic)
}

type rawCorr struct {
	Type      string                       `yaml:"type"`
	Rules     []string                     `yaml:"rules"`
	GroupBy   []string                     `yaml:"group-by"`
	Timespan  string                       `yaml:"timespan"`
	Timeframe string                       `yaml:"timeframe"` // pre-2.0 spelling
	Condition map[string]any               `yaml:"condition"`
	Aliases   map[string]map[string]string `yaml:"aliases"`
	Generate  bool                         `yaml:"generate"`
}

func compileCorrelation(raw *rawRule, _ *Options) (*Correlation, error) {
	rc := raw.Correlation
	c := &Correlation{
		ID: raw.ID, Name: raw.Name, Title: raw.Title, Level: raw.Level, Author: raw.Author,
		License: raw.License, Type: rc.Type, Rules: rc.Rules, GroupBy: rc.GroupBy,
		Aliases: rc.Aliases, Generate: rc.Generate || raw.Generate,
	}
	if strings.TrimSpace(c.Title) == "" {
		return nil, errors.New("missing title")
	}
	switch c.Type {
	case "event_count", "value_count", "temporal", "temporal_ordered", "value_sum", "value_avg":
	case "":
		return nil, errors.New("correlation.type missing")
	case "value_percentile", "value_median":
		return nil, fmt.Errorf("correlation type %q: %w", c.Type, ErrUnsupported)
	default:
		return nil, fmt.Errorf("unknown correlation type %q", c.Type)
	}
	if len(c.Rules) == 0 {
		return nil, errors.New("correlation.rules missing")
	}
	ts := rc.Timespan
	if ts == "" {
		ts = rc.Timeframe
	}
	d, err := ParseTimespan(ts)
	if err != nil {
		return nil, fmt.Errorf("correlation.timespan: %w", err)
	}
	c.Timespan = d
	keys := make([]string, 0, len(rc.Condition))
	for k := range rc.Condition {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := rc.Condition[k]
		if k == "field" {
			s, ok := v.(string)
			if !ok || s == "" {
				return nil, errors.New("condition.field must be a field name")
			}
			c.Field = s
			continue
		}
		switch k {
		case "gt", "gte", "lt", "lte", "eq", "neq":
		default:
			return nil, fmt.Errorf("condition: unknown criterion %q", k)
		}
		s, _, err := scalar(v)
		if err != nil {
			return nil, fmt.Errorf("condition.%s: %w", k, err)
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(f) {
			return nil, fmt.Errorf("condition.%s: %q is not a number", k, s)
		}
		c.Conds = append(c.Conds, Cond{Op: k, V: f})
	}
	switch c.Type {
	case "temporal", "temporal_ordered":
		if len(c.Conds) == 0 {
			c.Conds = []Cond{{Op: "gte", V: float64(len(c.Rules))}}
		}
	default:
		if len(c.Conds) == 0 {
			return nil, errors.New("condition missing")
		}
	}
	if (c.Type == "value_count" || c.Type == "value_sum" || c.Type == "value_avg") && c.Field == "" {
		return nil, fmt.Errorf("%s needs condition.field", c.Type)
	}
	return c, nil
}

var timespanRE = regexp.MustCompile(`^([0-9]{1,9})([smhdwMy])$`)

// ParseTimespan parses a Sigma timespan: number plus s, m, h, d (also w,
// M, y as pySigma accepts).
func ParseTimespan(s string) (time.Duration, error) {
	m := timespanRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, fmt.Errorf("%q is not a timespan (number + s/m/h/d)", s)
	}
	n, _ := strconv.Atoi(m[1])
	unit := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "M": 30 * 24 * time.Hour, "y": 365 * 24 * time.Hour}[m[2]]
	d := time.Duration(n) * unit
	if d <= 0 || d > 366*24*time.Hour {
		return 0, fmt.Errorf("timespan %q out of range", s)
	}
	return d, nil
}

var aggRE = regexp.MustCompile(`^\s*(count|sum|avg|min|max)\(\s*([A-Za-z0-9_.-]*)\s*\)\s*(?:by\s+([A-Za-z0-9_.-]+(?:\s*,\s*[A-Za-z0-9_.-]+)*))?\s*(>=|<=|==|=|>|<)\s*([0-9]+(?:\.[0-9]+)?)\s*$`)

// parseAggregation turns the legacy pipe aggregation of a rule condition
// (Sigma 1.0, deprecated in favour of correlation rules) into the
// equivalent correlation: count() is event_count, count(f) value_count,
// sum(f) value_sum, avg(f) value_avg.
func parseAggregation(pipe, timeframe string, _ map[string]string) (*Correlation, error) {
	m := aggRE.FindStringSubmatch(pipe)
	if m == nil {
		return nil, fmt.Errorf("aggregation %q: %w", strings.TrimSpace(pipe), ErrUnsupported)
	}
	c := &Correlation{Field: m[2]}
	switch {
	case m[1] == "count" && m[2] == "":
		c.Type = "event_count"
	case m[1] == "count":
		c.Type = "value_count"
	case m[1] == "sum" && m[2] != "":
		c.Type = "value_sum"
	case m[1] == "avg" && m[2] != "":
		c.Type = "value_avg"
	default:
		return nil, fmt.Errorf("aggregation %s(%s): %w", m[1], m[2], ErrUnsupported)
	}
	if m[3] != "" {
		for _, g := range strings.Split(m[3], ",") {
			c.GroupBy = append(c.GroupBy, strings.TrimSpace(g))
		}
	}
	op := map[string]string{">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "==": "eq"}[m[4]]
	v, _ := strconv.ParseFloat(m[5], 64)
	c.Conds = []Cond{{Op: op, V: v}}
	if timeframe == "" {
		return nil, fmt.Errorf("aggregation without detection.timeframe: %w", ErrUnsupported)
	}
	d, err := ParseTimespan(timeframe)
	if err != nil {
		return nil, fmt.Errorf("detection.timeframe: %w", err)
	}
	c.Timespan = d
	return c, nil
}
