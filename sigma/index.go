package sigma

import "math/bits"

// Index routes events to the rules of their log source, so an event is only
// matched against rules that can apply to it (a proxy event never runs the
// DNS rules). Rules are keyed by logsource category, or by product when the
// rule names no category. Within a source, a literal prefilter
// (prefilter.go) skips the rules whose literals do not occur in the event.
type Index struct {
	by       map[string][]*Rule
	pre      map[string]*prefilter
	excluded map[string]map[*Rule]bool // tenant -> rules it excludes
	gates    map[string]*gate          // raw-line gate (gate.go), nil until SetVerbatim
}

// NewIndex groups rules by SourceKey and builds each group's prefilter.
func NewIndex(rules []*Rule) *Index {
	x := &Index{by: map[string][]*Rule{}, pre: map[string]*prefilter{}}
	for _, r := range rules {
		k := SourceKey(r.LogSource)
		x.by[k] = append(x.by[k], r)
	}
	for k, rs := range x.by {
		x.pre[k] = newPrefilter(rs)
	}
	return x
}

// SourceKey is the routing key of a logsource: its category, else its product.
func SourceKey(ls LogSource) string {
	if ls.Category != "" {
		return ls.Category
	}
	return ls.Product
}

// Rules returns the rules for a source key.
func (x *Index) Rules(key string) []*Rule { return x.by[key] }

// Exclude turns rule id off for one tenant (issue 8 §1: per-tenant rule
// exclusions). It reports whether a rule with that id is indexed.
func (x *Index) Exclude(tenant, id string) bool {
	found := false
	for _, rs := range x.by {
		for _, r := range rs {
			if r.ID == id {
				if x.excluded == nil {
					x.excluded = map[string]map[*Rule]bool{}
				}
				if x.excluded[tenant] == nil {
					x.excluded[tenant] = map[*Rule]bool{}
				}
				x.excluded[tenant][r] = true
				found = true
			}
		}
	}
	return found
}

// MatchTenant is Match without the rules tenant has excluded.
func (x *Index) MatchTenant(key, tenant string, ev Event, dst []*Rule) []*Rule {
	return x.match(key, ev, x.excluded[tenant], dst)
}

// Match appends to dst the rules for key that ev matches, in index order.
func (x *Index) Match(key string, ev Event, dst []*Rule) []*Rule {
	return x.match(key, ev, nil, dst)
}

func (x *Index) match(key string, ev Event, ex map[*Rule]bool, dst []*Rule) []*Rule {
	rs, p := x.by[key], x.pre[key]
	if p == nil {
		return dst
	}
	var stack [8]uint64
	set := stack[:0]
	if p.words <= len(stack) {
		set = stack[:p.words]
	} else {
		set = make([]uint64, p.words)
	}
	p.safeCandidates(ev, set)
	for w, b := range set {
		for b != 0 {
			i := w*64 + bits.TrailingZeros64(b)
			b &= b - 1
			if i >= len(rs) {
				break
			}
			if r := rs[i]; !ex[r] && r.Match(ev) {
				dst = append(dst, r)
			}
		}
	}
	return dst
}

// safeCandidates is candidates; if the event panics (it never should), every
// rule becomes a candidate and Rule.Match's own guard takes over.
func (p *prefilter) safeCandidates(ev Event, set []uint64) {
	defer func() {
		if recover() != nil {
			for i := range set {
				set[i] = ^uint64(0)
			}
		}
	}()
	p.candidates(ev, set)
}
