package sigma

// Index routes events to the rules of their log source, so an event is only
// matched against rules that can apply to it (a proxy event never runs the
// DNS rules). Rules are keyed by logsource category, or by product when the
// rule names no category.
type Index struct {
	by       map[string][]*Rule
	excluded map[string]map[*Rule]bool // tenant -> rules it excludes
}

// NewIndex groups rules by SourceKey.
func NewIndex(rules []*Rule) *Index {
	x := &Index{by: map[string][]*Rule{}}
	for _, r := range rules {
		k := SourceKey(r.LogSource)
		x.by[k] = append(x.by[k], r)
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
	ex := x.excluded[tenant]
	if ex == nil {
		return x.Match(key, ev, dst)
	}
	for _, r := range x.by[key] {
		if !ex[r] && r.Match(ev) {
			dst = append(dst, r)
		}
	}
	return dst
}

// Match appends to dst the rules for key that ev matches.
func (x *Index) Match(key string, ev Event, dst []*Rule) []*Rule {
	for _, r := range x.by[key] {
		if r.Match(ev) {
			dst = append(dst, r)
		}
	}
	return dst
}
