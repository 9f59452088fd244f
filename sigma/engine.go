package sigma

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CorrelationMatch is one firing of a correlation (or rule aggregation).
type CorrelationMatch struct {
	Correlation *Correlation
	Tenant      string
	Group       []string // group-by values, in GroupBy order
	Value       float64  // the count, distinct count, sum or average that met the condition
	First, Last time.Time
}

// Engine evaluates correlations as a stream. Windows are kept per
// (correlation, tenant, group) and slide with event time; the number of open
// windows is capped and the least recently used one is evicted (counted in
// Evicted) when the cap is reached, so memory stays bounded whatever the
// input. An Engine is not safe for concurrent use: run one per worker (or
// shard by tenant).
type Engine struct {
	corrs   []*corrState
	byRef   map[string][]refUse // rule id/name -> correlations using it
	windows map[string]*window
	lru     window // sentinel of the LRU ring
	max     int
	// Evicted counts windows dropped because of the cap.
	Evicted uint64
	// Fired counts correlation matches.
	Fired uint64

	quiet map[string]bool // rule ids/names referenced by a correlation without generate
	kb    []byte          // scratch for window keys
}

type corrState struct {
	c   *Correlation
	idx int
}

type refUse struct {
	cs     *corrState
	pos    int      // index of the rule in c.Rules
	fields []string // event fields for group-by, per this rule (aliases, mapping)
	value  string   // event field for condition.field
}

// maxPerWindow bounds the entries one window keeps (timestamps, distinct
// values); conditions above it are clamped at load.
const maxPerWindow = 4096

// NewEngine builds an engine over the correlations and the rule aggregations
// of rules. maxWindows caps the open windows (<= 0 means 1,000,000). Rule
// references are resolved against rules (by id and name) and other
// correlations, so correlation chains work; an unresolved reference is an error.
func NewEngine(corrs []*Correlation, rules []*Rule, opt *Options, maxWindows int) (*Engine, error) {
	if maxWindows <= 0 {
		maxWindows = 1_000_000
	}
	e := &Engine{byRef: map[string][]refUse{}, windows: map[string]*window{}, max: maxWindows}
	e.lru.next, e.lru.prev = &e.lru, &e.lru
	known := map[string]*Rule{}
	for _, r := range rules {
		if r.ID != "" {
			known[r.ID] = r
		}
		if r.Name != "" {
			known[r.Name] = r
		}
	}
	knownCorr := map[string]bool{}
	all := append([]*Correlation(nil), corrs...)
	for _, r := range rules {
		if r.Aggregation != nil {
			all = append(all, r.Aggregation)
		}
	}
	for _, c := range all {
		knownCorr[c.ID] = c.ID != ""
		if c.Name != "" {
			knownCorr[c.Name] = true
		}
	}
	mp := opt.mapping()
	e.quiet = map[string]bool{}
	for _, c := range corrs {
		if !c.Generate {
			for _, ref := range c.Rules {
				e.quiet[ref] = true
			}
		}
	}
	for i, c := range all {
		cs := &corrState{c: c, idx: i}
		e.corrs = append(e.corrs, cs)
		for pos, ref := range c.Rules {
			r, ok := known[ref]
			if !ok && !knownCorr[ref] {
				return nil, fmt.Errorf("sigma: correlation %q: rule %q not loaded", c.Title, ref)
			}
			var fmap map[string]string
			ruleName := ref
			if r != nil {
				fmap = mp.For(r.LogSource)
				if r.Name != "" {
					ruleName = r.Name
				}
			}
			u := refUse{cs: cs, pos: pos}
			for _, g := range c.GroupBy {
				f := g
				if al, ok := c.Aliases[g]; ok {
					if af, ok := al[ruleName]; ok {
						f = af
					} else if af, ok := al[ref]; ok {
						f = af
					}
				}
				if m, ok := fmap[f]; ok {
					f = m
				}
				u.fields = append(u.fields, f)
			}
			if c.Field != "" {
				u.value = c.Field
				if m, ok := fmap[c.Field]; ok {
					u.value = m
				}
			}
			e.byRef[ref] = append(e.byRef[ref], u)
		}
	}
	return e, nil
}

// AlertsAlone reports whether a match of r is an alert by itself. It is not
// when r carries a legacy aggregation, or when a correlation refers to it
// without "generate: true" (correlation rules specification, "Generate":
// by default only the correlation is generated).
func (e *Engine) AlertsAlone(r *Rule) bool {
	if r.Aggregation != nil {
		return false
	}
	return !e.quiet[r.ID] && (r.Name == "" || !e.quiet[r.Name])
}

// Open is the number of open windows.
func (e *Engine) Open() int { return len(e.windows) }

// Observe feeds one event and the rules it matched; it returns the
// correlations that fired. Firing resets the window, so one burst gives one
// match. Correlations referring to a correlation that fired are fed in turn.
func (e *Engine) Observe(ev StreamEvent, matched []*Rule) []CorrelationMatch {
	var out []CorrelationMatch
	for _, r := range matched {
		out = e.feedRef(ev, r.ID, r.Name, out, 0)
	}
	return out
}

func (e *Engine) feedRef(ev StreamEvent, id, name string, out []CorrelationMatch, depth int) []CorrelationMatch {
	if depth > 8 {
		return out
	}
	uses := e.byRef[id]
	if byName := e.byRef[name]; name != "" && name != id && len(byName) > 0 {
		if len(uses) == 0 {
			uses = byName // the usual case: correlations refer to rules by name
		} else {
			uses = append(uses[:len(uses):len(uses)], byName...)
		}
	}
	for _, u := range uses {
		if m, ok := e.feed(ev, u); ok {
			e.Fired++
			out = append(out, m)
			out = e.feedRef(ev, u.cs.c.ID, u.cs.c.Name, out, depth+1)
		}
	}
	return out
}

// window is the state of one (correlation, tenant, group); an intrusive LRU
// ring keeps eviction O(1).
type window struct {
	key        string
	prev, next *window
	first      int64
	last       int64            // newest event time seen
	times      []int64          // event_count: event times; temporal*: per-rule times
	vals       map[string]int64 // value_count: value -> last seen
	nums       []numAt          // value_sum/avg
}

type numAt struct {
	t int64
	v float64
}

func (e *Engine) feed(ev StreamEvent, u refUse) (CorrelationMatch, bool) {
	c := u.cs.c
	t := ev.Time().UnixNano()
	// The window key is built in a scratch buffer and looked up without
	// allocating; a string is made only for a new window, the group only
	// when the correlation fires.
	kb := strconv.AppendInt(e.kb[:0], int64(u.cs.idx), 10)
	kb = append(kb, 0)
	kb = append(kb, ev.Tenant()...)
	for _, f := range u.fields {
		v, _ := ev.Get(f)
		kb = append(kb, 0)
		kb = append(kb, v...)
	}
	e.kb = kb
	w := e.windows[string(kb)]
	if w == nil {
		key := string(kb)
		if len(e.windows) >= e.max {
			old := e.lru.prev
			e.unlink(old)
			delete(e.windows, old.key)
			e.Evicted++
		}
		w = &window{key: key, first: t, last: t}
		e.windows[key] = w
	} else {
		e.unlink(w)
	}
	// Most recently used goes to the front.
	w.next, w.prev = e.lru.next, &e.lru
	e.lru.next.prev = w
	e.lru.next = w

	// Windows slide with the newest event time seen; an event older than
	// the window (late delivery) cannot complete it and is ignored.
	span := int64(c.Timespan)
	if t > w.last {
		w.last = t
	}
	lo := w.last - span
	if t < lo {
		return CorrelationMatch{}, false
	}
	var val float64
	switch c.Type {
	case "event_count":
		w.times = pruneTimes(w.times, lo)
		w.times = insertSorted(w.times, t)
		if len(w.times) > maxPerWindow {
			w.times = w.times[1:]
		}
		val = float64(len(w.times))
	case "value_count":
		v, ok := ev.Get(u.value)
		if w.vals == nil {
			w.vals = map[string]int64{}
		}
		for k, at := range w.vals {
			if at < lo {
				delete(w.vals, k)
			}
		}
		if ok && len(w.vals) < maxPerWindow {
			w.vals[v] = t
		} else if ok {
			if _, seen := w.vals[v]; seen {
				w.vals[v] = t
			}
		}
		val = float64(len(w.vals))
	case "value_sum", "value_avg":
		k := 0
		for _, n := range w.nums {
			if n.t >= lo {
				w.nums[k] = n
				k++
			}
		}
		w.nums = w.nums[:k]
		if s, ok := ev.Get(u.value); ok {
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				w.nums = append(w.nums, numAt{t, f})
				if len(w.nums) > maxPerWindow {
					w.nums = w.nums[1:]
				}
			}
		}
		sum := 0.0
		for _, n := range w.nums {
			sum += n.v
		}
		val = sum
		if c.Type == "value_avg" {
			if len(w.nums) == 0 {
				return CorrelationMatch{}, false
			}
			val = sum / float64(len(w.nums))
		}
	case "temporal":
		if w.times == nil {
			w.times = make([]int64, len(c.Rules))
		}
		w.times[u.pos] = t
		n := 0
		for _, at := range w.times {
			if at != 0 && at >= lo {
				n++
			}
		}
		val = float64(n)
	case "temporal_ordered":
		// times[i] is the start time of the latest chain that has seen
		// rules 0..i in order; a chain older than the timespan is dead.
		if w.times == nil {
			w.times = make([]int64, len(c.Rules))
		}
		if u.pos == 0 {
			w.times[0] = t
		} else if prev := w.times[u.pos-1]; prev != 0 && prev >= lo {
			if prev > w.times[u.pos] {
				w.times[u.pos] = prev
			}
		}
		n := 0
		for i, at := range w.times {
			if at == 0 || at < lo {
				break
			}
			n = i + 1
		}
		val = float64(n)
	}
	for _, cd := range c.Conds {
		if !cd.holds(val) {
			return CorrelationMatch{}, false
		}
	}
	first := w.first
	if len(w.times) > 0 && c.Type == "event_count" {
		first = w.times[0]
	}
	if first < lo {
		first = lo
	}
	group := make([]string, len(u.fields))
	for i, f := range u.fields {
		group[i], _ = ev.Get(f)
	}
	m := CorrelationMatch{Correlation: c, Tenant: ev.Tenant(), Group: group, Value: val,
		First: time.Unix(0, first), Last: ev.Time()}
	// Reset: the burst has been reported.
	e.unlink(w)
	delete(e.windows, w.key)
	return m, true
}

// insertSorted keeps times ordered when events arrive slightly out of order.
func insertSorted(ts []int64, t int64) []int64 {
	i := len(ts)
	for i > 0 && ts[i-1] > t {
		i--
	}
	ts = append(ts, 0)
	copy(ts[i+1:], ts[i:])
	ts[i] = t
	return ts
}

func pruneTimes(ts []int64, lo int64) []int64 {
	i := 0
	for i < len(ts) && ts[i] < lo {
		i++
	}
	if i == 0 {
		return ts
	}
	return append(ts[:0], ts[i:]...)
}

func (e *Engine) unlink(w *window) {
	if w.prev != nil {
		w.prev.next = w.next
		w.next.prev = w.prev
	}
	w.prev, w.next = nil, nil
}
