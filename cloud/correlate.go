package cloud

import (
	"cmp"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/sigma"
)

// CorrelationOptions bound the memory of streaming correlation (issue 8 §6:
// "memory bounded with one million open correlation windows").
type CorrelationOptions struct {
	// MaxWindows caps the open windows of all tenants together; default
	// 1,000,000 (about 200 bytes each: docs/performance-detect.md).
	MaxWindows int
	// Tenants is the number of tenants the cap is shared between: each
	// tenant gets MaxWindows/Tenants windows (at least 1,024), so a flood
	// from one municipality evicts only its own windows, never another's
	// (issue 8 §5). Default 1.
	Tenants int
}

// correlator evaluates the Sigma correlation rules (and legacy rule
// aggregations) as events flow through a SigmaDetector. Windows live in one
// sigma.Engine per tenant; an Engine is not safe for concurrent use, so each
// tenant's engine has its own lock and parse workers of different tenants
// never wait for each other.
type correlator struct {
	corrs     []*sigma.Correlation
	rules     []*sigma.Rule
	fed       map[*sigma.Rule]bool // rules that feed some correlation
	quiet     map[*sigma.Rule]bool // rules whose matches are not alerts by themselves
	credit    map[*sigma.Correlation]string
	perTenant int

	mu      sync.RWMutex
	tenants map[string]*tenantEngine
	off     map[string]map[*sigma.Correlation]bool // tenant -> correlations it excludes (set before Start)
}

type tenantEngine struct {
	mu sync.Mutex
	e  *sigma.Engine
}

// streamEvent gives an event.Event the time and tenant methods correlation
// needs (sigma.StreamEvent) without making package event depend on sigma.
type streamEvent struct{ *event.Event }

func (s streamEvent) Time() time.Time { return s.Event.Time }
func (s streamEvent) Tenant() string  { return s.Event.Tenant }

// EnableCorrelations makes the detector evaluate corrs and the aggregations
// of rules (which must be the rules the detector was built with) per tenant
// with sliding windows. A correlation without "generate: true" silences
// the alerts of the rules it references (correlation specification,
// "Generate"); correlation alerts credit the correlation and every base rule
// (Detection Rule License 1.1 asks for the credit of each rule used).
func (d *SigmaDetector) EnableCorrelations(corrs []*sigma.Correlation, rules []*sigma.Rule, opt CorrelationOptions) error {
	proto, err := sigma.NewEngine(corrs, rules, nil, 1)
	if err != nil {
		return fmt.Errorf("correlations: %w", err)
	}
	if opt.MaxWindows <= 0 {
		opt.MaxWindows = 1_000_000
	}
	c := &correlator{corrs: corrs, rules: rules, fed: map[*sigma.Rule]bool{}, quiet: map[*sigma.Rule]bool{},
		credit: map[*sigma.Correlation]string{}, perTenant: max(opt.MaxWindows/max(opt.Tenants, 1), 1024),
		tenants: map[string]*tenantEngine{}, off: map[string]map[*sigma.Correlation]bool{}}
	refs := map[string]bool{}
	byRef := map[string]*sigma.Rule{}
	corrByRef := map[string]*sigma.Correlation{}
	for _, x := range corrs {
		for _, r := range x.Rules {
			refs[r] = true
		}
		for _, k := range []string{x.ID, x.Name} {
			if k != "" {
				corrByRef[k] = x
			}
		}
	}
	for _, r := range rules {
		for _, k := range []string{r.ID, r.Name} {
			if k != "" {
				byRef[k] = r
			}
		}
		if r.Aggregation != nil || refs[r.ID] || (r.Name != "" && refs[r.Name]) {
			c.fed[r] = true
		}
		if !proto.AlertsAlone(r) {
			c.quiet[r] = true
		}
		if r.Aggregation != nil {
			c.credit[r.Aggregation] = r.Credit()
		}
	}
	for _, x := range corrs {
		c.credit[x] = correlationCredit(x, byRef, corrByRef, 0)
	}
	d.corr = c
	d.setGate() // rules that feed a correlation now keep their lines
	return nil
}

// correlationCredit is the correlation's own credit followed by the credit
// of each rule (or correlation, for chains) it is built on.
func correlationCredit(x *sigma.Correlation, rules map[string]*sigma.Rule, corrs map[string]*sigma.Correlation, depth int) string {
	parts := []string{x.Credit()}
	for _, ref := range x.Rules {
		if r, ok := rules[ref]; ok {
			parts = append(parts, r.Credit())
		} else if sub, ok := corrs[ref]; ok && depth < 8 {
			parts = append(parts, correlationCredit(sub, rules, corrs, depth+1))
		}
	}
	return strings.Join(parts, "; ")
}

// Exclude turns a rule or correlation off for one tenant (issue 8 §1:
// per-tenant rule exclusions; configuration exclude_rules). It reports
// whether the detector knows the id (or name). Call before events flow.
func (d *SigmaDetector) Exclude(tenant, id string) bool {
	found := d.ix.Exclude(tenant, id)
	d.excluded = append(d.excluded, [2]string{tenant, id})
	for _, g := range d.gates {
		g.Exclude(tenant, id)
	}
	if c := d.corr; c != nil {
		for x := range c.credit {
			if x.ID == id || x.Name == id {
				if c.off[tenant] == nil {
					c.off[tenant] = map[*sigma.Correlation]bool{}
				}
				c.off[tenant][x] = true
				found = true
			}
		}
	}
	return found
}

// alone reports whether a match of r is an alert by itself.
func (d *SigmaDetector) alone(r *sigma.Rule) bool {
	if d.corr == nil {
		return r.Aggregation == nil
	}
	return !d.corr.quiet[r]
}

// correlate feeds the matched rules that take part in a correlation to the
// tenant's engine and writes an alert per correlation that fires.
func (d *SigmaDetector) correlate(ev *event.Event, matched []*sigma.Rule) {
	c := d.corr
	if c == nil || len(matched) == 0 {
		return
	}
	var fed [8]*sigma.Rule
	feed := fed[:0]
	for _, r := range matched {
		if c.fed[r] {
			feed = append(feed, r)
		}
	}
	if len(feed) == 0 {
		return
	}
	te := c.engine(ev.Tenant)
	if te == nil {
		return
	}
	te.mu.Lock()
	ms := te.e.Observe(streamEvent{ev}, feed)
	te.mu.Unlock()
	for _, m := range ms {
		x := m.Correlation
		if c.off[ev.Tenant][x] {
			continue
		}
		id := cmp.Or(x.ID, x.Name, x.Title)
		level := x.Level
		if level == "" {
			level = "medium"
		}
		d.write(Alert{Time: m.Last, Tenant: m.Tenant, Rule: id, Title: x.Title, Level: level,
			Credit: c.credit[x], Source: ev.Source, Host: ev.Host, Raw: ev.Raw})
	}
}

// engine returns the tenant's engine, creating it on first use.
func (c *correlator) engine(tenant string) *tenantEngine {
	c.mu.RLock()
	te := c.tenants[tenant]
	c.mu.RUnlock()
	if te != nil {
		return te
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if te = c.tenants[tenant]; te != nil {
		return te
	}
	e, err := sigma.NewEngine(c.corrs, c.rules, nil, c.perTenant)
	if err != nil {
		return nil // cannot happen: the same input built the prototype engine
	}
	te = &tenantEngine{e: e}
	c.tenants[tenant] = te
	return te
}

// CorrelationStats are the figures of streaming correlation for the console
// and the logs.
type CorrelationStats struct {
	Open    int    // windows open now, all tenants
	Evicted uint64 // windows dropped because a tenant reached its cap
	Fired   uint64 // correlation alerts
	Tenants int    // tenants with an engine
	Cap     int    // windows per tenant
}

// CorrelationStats returns the current figures (zero without correlations).
func (d *SigmaDetector) CorrelationStats() CorrelationStats {
	c := d.corr
	if c == nil {
		return CorrelationStats{}
	}
	c.mu.RLock()
	tes := make([]*tenantEngine, 0, len(c.tenants))
	for _, te := range c.tenants {
		tes = append(tes, te)
	}
	c.mu.RUnlock()
	s := CorrelationStats{Tenants: len(tes), Cap: c.perTenant}
	for _, te := range tes {
		te.mu.Lock()
		s.Open += te.e.Open()
		s.Evicted += te.e.Evicted
		s.Fired += te.e.Fired
		te.mu.Unlock()
	}
	return s
}
