package sigma

// Index routes events to the rules of their log source, so an event is only
// matched against rules that can apply to it (a proxy event never runs the
// DNS rules). Rules are keyed by logsource category, or by product when the
// rule names no category.
type Index struct {
	by map[string][]*Rule
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

// Match appends to dst the rules for key that ev matches.
func (x *Index) Match(key string, ev Event, dst []*Rule) []*Rule {
	for _, r := range x.by[key] {
		if r.Match(ev) {
			dst = append(dst, r)
		}
	}
	return dst
}
