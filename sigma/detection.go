package sigma

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// detection is a compiled detection section.
type detection struct {
	selections map[string]*selection
	cond       node
}

// selection is one named search identifier: an OR of AND-groups of field
// matchers, or a list of keywords.
type selection struct {
	name   string
	groups [][]*fieldMatcher // OR of (AND of fields)
}

func (s *selection) match(ev Event) bool {
	for _, g := range s.groups {
		ok := true
		for _, f := range g {
			if !f.match(ev) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Limits on what a rule can ask for, so hostile rules cannot exhaust memory.
const (
	maxValuesPerField = 10000
	maxVariants       = 1024
	// maxMatchersPerField bounds values × variants in one field entry.
	maxMatchersPerField = 100_000
	maxPatternLen       = 64 << 10
)

func compileDetection(det map[string]any, ls LogSource, opt *Options) (*detection, *Correlation, error) {
	d := &detection{selections: map[string]*selection{}}
	var condRaw any
	var timeframe string
	fmap := opt.mapping().For(ls)
	for name, v := range det {
		switch name {
		case "condition":
			condRaw = v
			continue
		case "timeframe":
			s, ok := v.(string)
			if !ok {
				return nil, nil, fmt.Errorf("detection.timeframe: want a string, got %T", v)
			}
			timeframe = s
			continue
		}
		sel, err := compileSelection(name, v, fmap, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("selection %q: %w", name, err)
		}
		d.selections[name] = sel
	}
	var conds []string
	switch c := condRaw.(type) {
	case nil:
		return nil, nil, errors.New("detection has no condition")
	case string:
		conds = []string{c}
	case []any:
		for _, x := range c {
			s, ok := x.(string)
			if !ok {
				return nil, nil, fmt.Errorf("condition list item: want a string, got %T", x)
			}
			conds = append(conds, s)
		}
	default:
		return nil, nil, fmt.Errorf("condition: want a string or list, got %T", condRaw)
	}
	if len(conds) == 0 {
		return nil, nil, errors.New("empty condition list")
	}
	var agg *Correlation
	var nodes []node
	for _, c := range conds {
		expr, pipe, hasPipe := strings.Cut(c, "|")
		if aggCallRE.MatchString(expr) {
			return nil, nil, fmt.Errorf("condition %q: aggregation function outside a pipe: %w", c, ErrUnsupported)
		}
		n, err := parseCondition(expr, d.selections)
		if err != nil {
			return nil, nil, fmt.Errorf("condition %q: %w", c, err)
		}
		if hasPipe {
			if len(conds) > 1 {
				return nil, nil, fmt.Errorf("condition %q: aggregation in a condition list: %w", c, ErrUnsupported)
			}
			agg, err = parseAggregation(pipe, timeframe, fmap)
			if err != nil {
				return nil, nil, fmt.Errorf("condition %q: %w", c, err)
			}
		}
		nodes = append(nodes, n)
	}
	if len(nodes) == 1 {
		d.cond = nodes[0]
	} else {
		d.cond = &orNode{kids: nodes}
	}
	if agg == nil && timeframe != "" {
		// A timeframe without aggregation has no meaning for a single event.
		return d, nil, nil
	}
	return d, agg, nil
}

func compileSelection(name string, v any, fmap map[string]string, opt *Options) (*selection, error) {
	sel := &selection{name: name}
	switch x := v.(type) {
	case map[string]any:
		g, err := compileFieldMap(x, fmap, opt)
		if err != nil {
			return nil, err
		}
		sel.groups = append(sel.groups, g)
	case []any:
		if len(x) == 0 {
			return nil, errors.New("empty list")
		}
		var keywords []any
		for i, item := range x {
			switch it := item.(type) {
			case map[string]any:
				g, err := compileFieldMap(it, fmap, opt)
				if err != nil {
					return nil, fmt.Errorf("item %d: %w", i+1, err)
				}
				sel.groups = append(sel.groups, g)
			case string, int, int64, uint64, float64, bool:
				keywords = append(keywords, it)
			default:
				return nil, fmt.Errorf("item %d: want a map or a value, got %T", i+1, item)
			}
		}
		if len(keywords) > 0 {
			if len(sel.groups) > 0 {
				return nil, errors.New("list mixes field maps and keywords")
			}
			fm, err := compileField("", keywords, fmap, opt)
			if err != nil {
				return nil, err
			}
			sel.groups = append(sel.groups, []*fieldMatcher{fm})
		}
	case string, int, int64, uint64, float64:
		fm, err := compileField("", []any{x}, fmap, opt)
		if err != nil {
			return nil, err
		}
		sel.groups = append(sel.groups, []*fieldMatcher{fm})
	default:
		return nil, fmt.Errorf("want a map or a list, got %T", v)
	}
	return sel, nil
}

func compileFieldMap(m map[string]any, fmap map[string]string, opt *Options) ([]*fieldMatcher, error) {
	if len(m) == 0 {
		return nil, errors.New("empty field map")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys) // deterministic errors
	var out []*fieldMatcher
	for _, k := range keys {
		var vals []any
		switch v := m[k].(type) {
		case []any:
			vals = v
		case map[string]any:
			return nil, fmt.Errorf("field %q: a map is not a value", k)
		default:
			vals = []any{v}
		}
		fm, err := compileField(k, vals, fmap, opt)
		if err != nil {
			return nil, fmt.Errorf("field %q: %w", k, err)
		}
		out = append(out, fm)
	}
	return out, nil
}

// fieldMatcher matches one "field|modifiers: values" entry.
type fieldMatcher struct {
	field    string // mapped event field; "" = keyword (any field)
	exists   int8   // 0 not used, 1 must exist, -1 must not exist
	all      bool
	neq      bool
	needLow  bool
	matchNil bool // a null value in the list
	vals     []valueMatcher
}

func (f *fieldMatcher) match(ev Event) bool {
	if f.field == "" {
		return f.matchKeywords(ev)
	}
	v, ok := ev.Get(f.field)
	if f.exists != 0 {
		return ok == (f.exists > 0)
	}
	if !ok || v == "" {
		if f.matchNil {
			return !f.neq
		}
		if !ok {
			return f.neq
		}
	}
	return f.matchValue(ev, v)
}

func (f *fieldMatcher) matchValue(ev Event, v string) bool {
	x := val{s: v, low: v}
	if f.needLow {
		// ASCII values are compared with ASCII case folding in place, so the
		// hot path allocates nothing; others are lowercased once.
		if isASCII(v) {
			x.fold = true
		} else {
			x.low = strings.ToLower(v)
		}
	}
	var r bool
	if f.all {
		r = len(f.vals) > 0
		for _, m := range f.vals {
			if !m.match(ev, x) {
				r = false
				break
			}
		}
	} else {
		for _, m := range f.vals {
			if m.match(ev, x) {
				r = true
				break
			}
		}
	}
	if f.neq {
		return !r
	}
	return r
}

func (f *fieldMatcher) matchKeywords(ev Event) bool {
	fr, ok := ev.(FieldRanger)
	if !ok {
		return false
	}
	found := false
	fr.Range(func(_, value string) bool {
		if f.matchValue(ev, value) {
			found = true
			return false
		}
		return true
	})
	return found
}

// lower lowercases ASCII quickly and falls back to strings.ToLower.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(s)
		}
		if 'A' <= c && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if b[j] >= utf8.RuneSelf {
					return strings.ToLower(s)
				}
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// val is a field value being matched: s as is; low lowercased when the
// value is not ASCII; fold when s is ASCII and case-insensitive matchers must
// fold it themselves.
type val struct {
	s, low string
	fold   bool
}

// lowered returns the lowercased value.
func (x *val) lowered() string {
	if x.fold {
		return lower(x.s)
	}
	return x.low
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// valueMatcher matches one value (all its variants) against a field value.
type valueMatcher interface {
	match(ev Event, x val) bool
}

var knownModifiers = map[string]bool{
	"contains": true, "startswith": true, "endswith": true, "all": true, "re": true,
	"i": true, "m": true, "s": true, "cidr": true, "base64": true, "base64offset": true,
	"utf16le": true, "utf16be": true, "utf16": true, "wide": true, "windash": true,
	"exists": true, "cased": true, "gt": true, "gte": true, "lt": true, "lte": true,
	"fieldref": true, "expand": true, "neq": true,
}

func compileField(key string, vals []any, fmap map[string]string, opt *Options) (*fieldMatcher, error) {
	parts := strings.Split(key, "|")
	field := parts[0]
	mods := map[string]bool{}
	var transforms []string
	for _, m := range parts[1:] {
		if !knownModifiers[m] {
			switch m {
			case "minute", "hour", "day", "week", "month", "year":
				return nil, fmt.Errorf("modifier %q: %w", m, ErrUnsupported)
			}
			return nil, fmt.Errorf("unknown modifier %q", m)
		}
		if mods[m] {
			return nil, fmt.Errorf("modifier %q repeated", m)
		}
		mods[m] = true
		switch m {
		case "base64", "base64offset", "utf16le", "utf16be", "utf16", "wide", "windash":
			transforms = append(transforms, m)
		}
	}
	if len(vals) == 0 {
		return nil, errors.New("no values")
	}
	if len(vals) > maxValuesPerField {
		return nil, fmt.Errorf("more than %d values", maxValuesPerField)
	}
	if (mods["i"] || mods["m"] || mods["s"]) && !mods["re"] {
		return nil, errors.New("regular expression flags i/m/s need the re modifier")
	}
	if mods["all"] && len(vals) < 2 {
		return nil, errors.New("all modifier on a single value (Sigma modifiers appendix: not allowed)")
	}
	if n := b2i(mods["contains"]) + b2i(mods["startswith"]) + b2i(mods["endswith"]); n > 1 {
		return nil, errors.New("contains, startswith and endswith are exclusive")
	}
	if field == "" && (mods["exists"] || mods["fieldref"]) {
		return nil, errors.New("exists and fieldref need a field")
	}
	if mapped, ok := fmap[field]; ok {
		field = mapped
	}
	fm := &fieldMatcher{field: field, all: mods["all"], neq: mods["neq"]}
	if mods["exists"] {
		if len(vals) != 1 {
			return nil, errors.New("exists takes one boolean")
		}
		b, ok := vals[0].(bool)
		if !ok {
			return nil, fmt.Errorf("exists takes a boolean, got %T", vals[0])
		}
		fm.exists = -1
		if b {
			fm.exists = 1
		}
		return fm, nil
	}
	plain := len(parts) == 1
	total := 0
	for _, raw := range vals {
		if raw == nil {
			fm.matchNil = true
			continue
		}
		if str, ok := raw.(string); ok && plain && pseudoComparison.MatchString(str) {
			// Legacy SigmaHQ rules write "> 70" meaning a comparison; Sigma
			// reads it as the literal string, which never fires. Refuse it
			// rather than load a rule that silently cannot match.
			return nil, fmt.Errorf("value %q is a comparison written as a string (use the gt/gte/lt/lte modifiers): %w", str, ErrUnsupported)
		}
		vm, low, err := compileValue(raw, field == "", mods, transforms, fmap, opt)
		if err != nil {
			return nil, err
		}
		fm.needLow = fm.needLow || low
		fm.vals = append(fm.vals, vm)
		if a, ok := vm.(anyOf); ok {
			total += len(a)
		} else {
			total++
		}
		if total > maxMatchersPerField {
			return nil, fmt.Errorf("values expand to more than %d matchers", maxMatchersPerField)
		}
	}
	return fm, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// scalar converts a YAML scalar into its Sigma string form.
func scalar(v any) (string, bool, error) {
	switch x := v.(type) {
	case string:
		return x, false, nil
	case int:
		return strconv.Itoa(x), true, nil
	case int64:
		return strconv.FormatInt(x, 10), true, nil
	case uint64:
		return strconv.FormatUint(x, 10), true, nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true, nil
	case bool:
		return strconv.FormatBool(x), false, nil
	default:
		return "", false, fmt.Errorf("value of type %T is not a scalar", v)
	}
}

func compileValue(raw any, keyword bool, mods map[string]bool, transforms []string, fmap map[string]string, opt *Options) (valueMatcher, bool, error) {
	s, numeric, err := scalar(raw)
	if err != nil {
		return nil, false, err
	}
	if len(s) > maxPatternLen {
		return nil, false, fmt.Errorf("value longer than %d bytes", maxPatternLen)
	}
	switch {
	case mods["gt"], mods["gte"], mods["lt"], mods["lte"]:
		if !numeric {
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				return nil, false, fmt.Errorf("numeric modifier on non-number %q", s)
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		op := "gt"
		for _, o := range []string{"gt", "gte", "lt", "lte"} {
			if mods[o] {
				op = o
			}
		}
		return &numMatcher{op: op, v: f}, false, nil
	case mods["cidr"]:
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, false, fmt.Errorf("cidr %q: %w", s, err)
		}
		return &cidrMatcher{p: p.Masked()}, false, nil
	case mods["fieldref"]:
		ref := s
		if m, ok := fmap[ref]; ok {
			ref = m
		}
		return &fieldRefMatcher{field: ref, cased: mods["cased"]}, false, nil
	case mods["re"]:
		flags := ""
		for _, f := range []string{"i", "m", "s"} {
			if mods[f] {
				flags += f
			}
		}
		expr := s
		if flags != "" {
			expr = "(?" + flags + ")" + s
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, false, fmt.Errorf("regular expression %q: %w", s, err)
		}
		return &reMatcher{re: re}, false, nil
	}
	// String matching: expand placeholders, apply encodings, then wildcards.
	variants := []string{s}
	encoded := false
	if mods["expand"] {
		variants, err = expandPlaceholders(s, opt)
		if err != nil {
			return nil, false, err
		}
	}
	for _, t := range transforms {
		var next []string
		for _, v := range variants {
			switch t {
			case "utf16le", "wide":
				next = append(next, utf16String(v, false, false))
			case "utf16be":
				next = append(next, utf16String(v, true, false))
			case "utf16":
				next = append(next, utf16String(v, false, true))
			case "base64":
				next = append(next, base64.StdEncoding.EncodeToString([]byte(v)))
				encoded = true
			case "base64offset":
				next = append(next, base64Offsets(v)...)
				encoded = true
			case "windash":
				w, err := windash(v)
				if err != nil {
					return nil, false, err
				}
				next = append(next, w...)
			}
		}
		if len(next) > maxVariants {
			return nil, false, fmt.Errorf("value expands to more than %d variants", maxVariants)
		}
		variants = next
	}
	// base64 output is case-significant; so is anything marked cased.
	ci := !mods["cased"] && !encoded
	var out anyOf
	for _, v := range variants {
		g := parseGlob(v, encoded)
		switch {
		case mods["contains"]:
			g = g.wrap(true, true)
		case mods["startswith"]:
			g = g.wrap(false, true)
		case mods["endswith"]:
			g = g.wrap(true, false)
		case keyword:
			// Keywords are a full-text search: the value may occur anywhere
			// (rules specification, "Lists" of keywords; pySigma behaves so).
			g = g.wrap(true, true)
		}
		m, err := g.compile(ci)
		if err != nil {
			return nil, false, err
		}
		out = append(out, m)
	}
	if len(out) == 1 {
		return out[0], ci, nil
	}
	return out, ci, nil
}

type anyOf []valueMatcher

func (a anyOf) match(ev Event, x val) bool {
	for _, m := range a {
		if m.match(ev, x) {
			return true
		}
	}
	return false
}

var pseudoComparison = regexp.MustCompile(`^\s*[<>]=?\s*[0-9]+(\.[0-9]+)?\s*$`)

var aggCallRE = regexp.MustCompile(`\b(count|sum|avg|min|max)\s*\(`)

var placeholderRE = regexp.MustCompile(`%[A-Za-z0-9_.-]+%`)

func expandPlaceholders(s string, opt *Options) ([]string, error) {
	out := []string{s}
	for _, ph := range placeholderRE.FindAllString(s, -1) {
		name := strings.Trim(ph, "%")
		var vals []string
		if opt != nil {
			vals = opt.Placeholders[name]
		}
		if len(vals) == 0 {
			return nil, fmt.Errorf("placeholder %s has no configured values", ph)
		}
		var next []string
		for _, o := range out {
			for _, v := range vals {
				next = append(next, strings.Replace(o, ph, v, 1))
			}
		}
		if len(next) > maxVariants {
			return nil, fmt.Errorf("placeholder expansion exceeds %d variants", maxVariants)
		}
		out = next
	}
	return out, nil
}

func utf16String(s string, be, bom bool) string {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2*len(u)+2)
	if bom {
		b = append(b, 0xFF, 0xFE)
	}
	for _, c := range u {
		if be {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return string(b)
}

// base64Offsets gives the three encodings of v at byte offsets 0, 1 and 2
// inside a larger base64 string, trimmed to the characters that do not
// depend on neighbouring bytes (Sigma modifiers appendix, base64offset).
func base64Offsets(v string) []string {
	start := [3]int{0, 2, 3}
	endTrim := [3]int{0, 3, 2}
	out := make([]string, 0, 3)
	for i := 0; i < 3; i++ {
		enc := base64.StdEncoding.EncodeToString(append([]byte(strings.Repeat(" ", i)), v...))
		end := len(enc) - endTrim[(len(v)+i)%3]
		if start[i] >= end {
			continue
		}
		out = append(out, enc[start[i]:end])
	}
	return out
}

var dashes = []rune{'-', '/', '–', '—', '―'}

// windash gives every permutation of the dash characters in v.
func windash(v string) ([]string, error) {
	out := []string{""}
	for _, r := range v {
		isDash := false
		for _, d := range dashes {
			if r == d {
				isDash = true
			}
		}
		var next []string
		for _, o := range out {
			if isDash {
				for _, d := range dashes {
					next = append(next, o+string(d))
				}
			} else {
				next = append(next, o+string(r))
			}
		}
		if len(next) > maxVariants {
			return nil, fmt.Errorf("windash on %q exceeds %d variants", v, maxVariants)
		}
		out = next
	}
	return out, nil
}

type numMatcher struct {
	op string
	v  float64
}

func (n *numMatcher) match(_ Event, x val) bool {
	f, err := strconv.ParseFloat(strings.TrimSpace(x.s), 64)
	if err != nil || math.IsNaN(f) {
		return false
	}
	switch n.op {
	case "gt":
		return f > n.v
	case "gte":
		return f >= n.v
	case "lt":
		return f < n.v
	default:
		return f <= n.v
	}
}

type cidrMatcher struct{ p netip.Prefix }

func (c *cidrMatcher) match(_ Event, x val) bool {
	a, err := netip.ParseAddr(strings.Trim(x.s, "[]"))
	if err != nil {
		return false
	}
	return c.p.Contains(a.Unmap()) || c.p.Contains(a)
}

type fieldRefMatcher struct {
	field string
	cased bool
}

func (f *fieldRefMatcher) match(ev Event, x val) bool {
	v := x.s
	o, ok := ev.Get(f.field)
	if !ok {
		return false
	}
	if f.cased {
		return o == v
	}
	return strings.EqualFold(o, v)
}

type reMatcher struct{ re *regexp.Regexp }

func (r *reMatcher) match(_ Event, x val) bool { return r.re.MatchString(x.s) }
