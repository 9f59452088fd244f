package cloud

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
)

// Operations evidence (issue 8 §3: model rules feed the assessment as
// "automatic from operations"). The model detector counts, per tenant, day
// and rule, the events each rule examined and its hits; FlushOperations
// adds the counts to one JSON file per tenant and day under a directory
// (<store>/operations/<tenant>/<YYYY-MM-DD>.json), so restarts lose
// nothing that was flushed; ReadOperations sums a period into the
// assess.Operations summary that kyojin assess --operations reads.

// keptAlerts bounds the alerts kept as evidence per rule and day (and in a
// summary).
const keptAlerts = 10

// opsKey is hashed on every examined event: the tenant is its index in
// opsRecorder.names rather than its name.
type opsKey struct {
	tenant int32
	day    int64 // days since the epoch in the configured zone
	rule   *ModelRule
}

type opsCount struct {
	evaluated, hits, blocked int64
	first, last              time.Time
	alerts                   []assess.OperationAlert
}

type opsRecorder struct {
	mu    sync.Mutex
	off   int64 // seconds east of UTC of the days' boundaries
	days  map[opsKey]*opsCount
	names []string // tenant ids by index
	gen   int64    // bumped when days is handed to FlushOperations (zoneCache)
}

// zoneCache keeps, per tenant, the counts the zone rules add to for every
// Internet-side event of the current day, so that counting one is an
// increment (guarded by opsRecorder.mu) instead of two map lookups.
type zoneCache struct {
	gen, day int64
	mn, lg   *opsCount // nil when the tenant excludes the rule
}

// evaluatedZone counts ev as examined by MODEL-MN-SEEN and, unless it is a
// DNS log, MODEL-LG-DIRECT.
func (o *opsRecorder) evaluatedZone(tm *tenantModel, ev *event.Event, dns bool) {
	t := ev.Time
	if y := t.Year(); y < 2000 || y > 2200 {
		t = time.Now()
	}
	day := (t.Unix() + o.off) / 86400
	o.mu.Lock()
	zc := &tm.zc
	if zc.gen != o.gen || zc.day != day || zc.mn == nil && zc.lg == nil {
		*zc = zoneCache{gen: o.gen, day: day}
		if !tm.off[RuleMNSeen] {
			zc.mn = o.count(tm.ops, t, RuleMNSeen)
		}
		if !tm.off[RuleLGDirect] {
			zc.lg = o.count(tm.ops, t, RuleLGDirect)
		}
	}
	if zc.mn != nil {
		zc.mn.evaluated++
	}
	if !dns && zc.lg != nil {
		zc.lg.evaluated++
	}
	o.mu.Unlock()
}

func newOpsRecorder() *opsRecorder { return &opsRecorder{days: map[opsKey]*opsCount{}} }

// tenant registers a tenant id and returns its index.
func (o *opsRecorder) tenant(id string) int32 {
	o.names = append(o.names, id)
	return int32(len(o.names) - 1)
}

func (o *opsRecorder) count(tenant int32, t time.Time, r *ModelRule) *opsCount {
	if y := t.Year(); y < 2000 || y > 2200 {
		t = time.Now() // a hostile or broken stamp does not make a day file of its own
	}
	k := opsKey{tenant, (t.Unix() + o.off) / 86400, r}
	c := o.days[k]
	if c == nil {
		c = &opsCount{}
		o.days[k] = c
	}
	return c
}

func (o *opsRecorder) evaluated(tm *tenantModel, ev *event.Event, r *ModelRule) {
	if tm.off[r] {
		return
	}
	o.mu.Lock()
	o.count(tm.ops, ev.Time, r).evaluated++
	o.mu.Unlock()
}

func (o *opsRecorder) hit(tm *tenantModel, al Alert, r *ModelRule, blocked bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	c := o.count(tm.ops, al.Time, r)
	if blocked {
		c.blocked++
	} else {
		c.hits++
		if c.first.IsZero() || al.Time.Before(c.first) {
			c.first = al.Time
		}
		if al.Time.After(c.last) {
			c.last = al.Time
		}
	}
	if len(c.alerts) < keptAlerts {
		c.alerts = append(c.alerts, assess.OperationAlert{Time: al.Time, Title: al.Title, Level: al.Level,
			Source: al.Source, Host: al.Host, Raw: al.Raw, Blocked: blocked})
	}
}

// SetLocation sets the zone whose midnight separates days (the
// configuration's timezone; UTC by default). Japan keeps no daylight
// saving time, so one offset serves the whole year.
func (d *ModelDetector) SetLocation(loc *time.Location) {
	_, off := time.Now().In(loc).Zone()
	d.ops.mu.Lock()
	d.ops.off = int64(off)
	d.ops.mu.Unlock()
}

// opsDay is the file of one tenant and day.
type opsDay struct {
	Tenant string                 `json:"tenant"`
	Day    string                 `json:"day"`
	Rules  []assess.OperationRule `json:"rules"`
}

// FlushOperations adds the counts gathered since the last flush to the
// day files under dir and resets them.
func (d *ModelDetector) FlushOperations(dir string) error {
	o := d.ops
	o.mu.Lock()
	days := o.days
	o.days = map[opsKey]*opsCount{}
	o.gen++ // cached counts belong to the handed-over map
	off := o.off
	names := o.names
	o.mu.Unlock()
	type fileKey struct {
		tenant string
		day    int64
	}
	byFile := map[fileKey]map[*ModelRule]*opsCount{}
	for k, c := range days {
		fk := fileKey{names[k.tenant], k.day}
		if byFile[fk] == nil {
			byFile[fk] = map[*ModelRule]*opsCount{}
		}
		byFile[fk][k.rule] = c
	}
	var errs []error
	for fk, rules := range byFile {
		if !eventstore.ValidTenant(fk.tenant) {
			continue
		}
		day := time.Unix(fk.day*86400-off, 0).In(time.FixedZone("", int(off))).Format(time.DateOnly)
		path := filepath.Join(dir, fk.tenant, day+".json")
		if err := mergeDay(path, fk.tenant, day, rules); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func mergeDay(path, tenant, day string, add map[*ModelRule]*opsCount) error {
	cur := opsDay{Tenant: tenant, Day: day}
	if data, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(data, &cur); err != nil {
			return fmt.Errorf("operations %s: %w", path, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("operations: %w", err)
	}
	for r, c := range add {
		i := slices.IndexFunc(cur.Rules, func(x assess.OperationRule) bool { return x.Rule == r.ID })
		if i < 0 {
			cur.Rules = append(cur.Rules, ruleRecord(r))
			i = len(cur.Rules) - 1
		}
		addCount(&cur.Rules[i], assess.OperationRule{Evaluated: c.evaluated, Hits: c.hits, Blocked: c.blocked,
			FirstHit: timePtr(c.first), LastHit: timePtr(c.last), Alerts: c.alerts})
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("operations: %w", err)
	}
	data, err := json.MarshalIndent(cur, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o640); err != nil {
		return fmt.Errorf("operations: %w", err)
	}
	return os.Rename(tmp, path)
}

func ruleRecord(r *ModelRule) assess.OperationRule {
	return assess.OperationRule{Rule: r.ID, Title: r.Title, Level: r.Level, Clauses: slices.Clone(r.Clauses)}
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// addCount adds b's counts, hit times and alerts to a.
func addCount(a *assess.OperationRule, b assess.OperationRule) {
	a.Evaluated += b.Evaluated
	a.Hits += b.Hits
	a.Blocked += b.Blocked
	if b.FirstHit != nil && (a.FirstHit == nil || b.FirstHit.Before(*a.FirstHit)) {
		a.FirstHit = b.FirstHit
	}
	if b.LastHit != nil && (a.LastHit == nil || b.LastHit.After(*a.LastHit)) {
		a.LastHit = b.LastHit
	}
	for _, al := range b.Alerts {
		if len(a.Alerts) >= keptAlerts {
			break
		}
		a.Alerts = append(a.Alerts, al)
	}
}

// ReadOperations sums tenant's day files under dir for the days in
// [from, to) into a summary; every model rule is listed, those with no
// events as not evidenced. code is the body code recorded in it.
func ReadOperations(dir, tenant, code string, from, to time.Time) (*assess.Operations, error) {
	if !eventstore.ValidTenant(tenant) {
		return nil, fmt.Errorf("operations: invalid tenant %q", tenant)
	}
	out := &assess.Operations{APIVersion: "kyojin/v1", Kind: assess.OperationsKind, Tenant: tenant, Organization: code, From: from, To: to}
	for _, r := range ModelRules {
		out.Rules = append(out.Rules, ruleRecord(r))
	}
	files, err := filepath.Glob(filepath.Join(dir, tenant, "*.json"))
	if err != nil {
		return nil, err
	}
	lo, hi := from.Format(time.DateOnly), to.Format(time.DateOnly)
	for _, f := range files {
		day := strings.TrimSuffix(filepath.Base(f), ".json")
		if day < lo || day >= hi {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("operations: %w", err)
		}
		var od opsDay
		if err := json.Unmarshal(data, &od); err != nil {
			return nil, fmt.Errorf("operations %s: %w", f, err)
		}
		for _, r := range od.Rules {
			i := slices.IndexFunc(out.Rules, func(x assess.OperationRule) bool { return x.Rule == r.Rule })
			if i >= 0 {
				addCount(&out.Rules[i], r)
			}
		}
	}
	return out, nil
}
