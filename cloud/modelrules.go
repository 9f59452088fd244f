package cloud

import (
	"io"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/model"
)

// ModelRule is a detection rule generated from each tenant's model (issue 8
// §3): what the three-zone separation and the declared specific
// communications and flows say can never appear in the logs. Clauses are
// the catalog IDs (package catalog) of the guideline clauses a hit
// disproves and a silent period supports; kyojin assess --operations
// turns them into evidence (assess.Operations).
type ModelRule struct {
	ID      string
	Level   string // of a hit that passed
	Title   string // Japanese, with the clause cited
	TitleEN string
	Clauses []string
}

// The model rules. Their order is the order of operations summaries.
var (
	// A My Number zone address in any proxy, DNS or firewall log of the
	// Internet connection: the zone must not reach the outside at all.
	RuleMNSeen = &ModelRule{ID: "MODEL-MN-SEEN", Level: "critical",
		Title:   "マイナンバー利用事務系のアドレスがインターネット接続口のログに現れた（対策基準 3(1)①、参考5 2①）",
		TitleEN: "a My Number zone address appears in the Internet connection's logs (standards 3(1)①, Reference 5 2①)",
		Clauses: []string{"3(1)①", "R5-02①"}}
	// An LGWAN zone address in the proxy or firewall logs of the Internet
	// connection: LGWAN reaches the Internet only through sanitization or
	// screen transfer.
	RuleLGDirect = &ModelRule{ID: "MODEL-LG-DIRECT", Level: "high",
		Title:   "LGWAN接続系のアドレスがインターネットへ直接通信している（対策基準 3(2)①、参考5 6②）",
		TitleEN: "an LGWAN zone address talks to the Internet directly (standards 3(2)①, Reference 5 6②)",
		Clauses: []string{"3(2)①", "R5-06②"}}
	// A specific communication (特定通信) of the My Number zone contacted on
	// a port its declaration does not list: the link must be limited by
	// path and by protocol (port).
	RuleMNCommPort = &ModelRule{ID: "MODEL-MN-COMM-PORT", Level: "high",
		Title:   "マイナンバー利用事務系の特定通信の相手先に、宣言していないポートで通信した（対策基準 3(1)①、参考5 2①）",
		TitleEN: "a My Number zone specific-communication endpoint contacted on an undeclared port (standards 3(1)①, Reference 5 2①)",
		Clauses: []string{"3(1)①", "R5-02①"}}
	// The same for the LGWAN zone's specific communications (LGWAN-ASP,
	// backup centres): limited by path and protocol.
	RuleLGCommPort = &ModelRule{ID: "MODEL-LG-COMM-PORT", Level: "high",
		Title:   "LGWAN接続系の特定通信の相手先に、宣言していないポートで通信した（参考5 6①）",
		TitleEN: "an LGWAN zone specific-communication endpoint contacted on an undeclared port (Reference 5 6①)",
		Clauses: []string{"R5-06①"}}
	// Mail accepted by an LGWAN-side mail server from a client that is not
	// the declared sanitizing relay: Internet mail must reach LGWAN only as
	// extracted body text through the relay.
	RuleMailUnsanitized = &ModelRule{ID: "MODEL-MAIL-UNSANITIZED", Level: "critical",
		Title:   "無害化中継を通らないメールがLGWAN接続系のメールサーバに届いた（対策基準 3(2)①(ア)、参考5 6②）",
		TitleEN: "mail reached the LGWAN-side mail server without passing the sanitizing relay (standards 3(2)①(a), Reference 5 6②)",
		Clauses: []string{"3(2)①", "3(2)①(ア)", "R5-06②"}}
)

// ModelRules lists every model rule.
var ModelRules = []*ModelRule{RuleMNSeen, RuleLGDirect, RuleMNCommPort, RuleLGCommPort, RuleMailUnsanitized}

// ModelDetector raises the alerts of ModelRules, which only a detector
// knowing each tenant's model can raise, and counts for each tenant and
// rule the events examined and the hits (operations evidence, see
// FlushOperations).
type ModelDetector struct {
	alertSink
	tenants map[string]*tenantModel
	ops     *opsRecorder
	noGate  bool // tests: judge every event in full (the gate's reference)
}

// tenantModel is what the rules need from one tenant's model, indexed once.
type tenantModel struct {
	zones []zoneNet           // subnets of the My Number and LGWAN zones
	comms []commNet           // specific-communication endpoints
	mail  *mailModel          // nil when the model has no LGWAN-side mail server
	ops   int32               // index in the operations recorder
	off   map[*ModelRule]bool // rules the tenant excludes (Tenant.ExcludeRules)
	// What mustParse looks for in a raw line: the first octets ("10.")
	// of the IPv4 prefixes above, or every address when fullScan.
	lits     []string
	fullScan bool
	zc       zoneCache // guarded by the recorder's mutex
}

type zoneNet struct {
	p    netip.Prefix
	typ  model.ZoneType
	zone string
}

// NewModelDetector builds the detector from the tenants' loaded models.
func NewModelDetector(tenants []Tenant, sink io.Writer) *ModelDetector {
	d := &ModelDetector{alertSink: alertSink{w: sink}, tenants: map[string]*tenantModel{}, ops: newOpsRecorder()}
	for _, t := range tenants {
		m := t.Loaded
		if m == nil {
			continue
		}
		tm := &tenantModel{comms: commNets(m), mail: mailModelOf(m), ops: d.ops.tenant(t.ID), off: map[*ModelRule]bool{}}
		for _, id := range t.ExcludeRules {
			for _, r := range ModelRules {
				if r.ID == id {
					tm.off[r] = true
				}
			}
		}
		for _, z := range m.Zones {
			if z.Type != model.ZoneMyNumber && z.Type != model.ZoneLGWAN {
				continue
			}
			for _, s := range z.Subnets {
				tm.zones = append(tm.zones, zoneNet{s.Prefix, z.Type, z.ID})
			}
		}
		var prefixes []netip.Prefix
		for _, n := range tm.zones {
			prefixes = append(prefixes, n.p)
		}
		for _, n := range tm.comms {
			prefixes = append(prefixes, n.p)
		}
		tm.lits, tm.fullScan = firstOctets(prefixes)
		d.tenants[t.ID] = tm
	}
	return d
}

// internetLog reports whether src records traffic at the Internet
// connection (a switch: it runs once per event).
func internetLog(src string) bool {
	switch src {
	case event.SourceSquid, event.SourceBIND, event.SourceUnbound, event.SourceNetfilter, event.SourceFortiGate, "pf":
		return true
	}
	return false
}

// Detect implements Detector.
func (d *ModelDetector) Detect(ev *event.Event) {
	tm := d.tenants[ev.Tenant]
	if tm == nil {
		return
	}
	// the raw line rules most events out, parsed or not (a parsed event
	// whose line reproduces it has the same addresses in its line)
	if !d.noGate && (ev.Deferred() || ev.Reparse() != "") && !d.mustParse(ev, tm) {
		return
	}
	switch {
	case internetLog(ev.Source):
		d.zoneSeen(ev, tm)
		d.commPort(ev, tm)
	case ev.Source == event.SourcePostfix:
		d.mailPath(ev, tm)
	}
}

// mustParse decides an event whose content parse is still deferred
// (logparse.ParseLazy) from its raw line where it can, so that most events
// are never parsed: every rule here needs an address of the tenant's own
// zones or specific communications in the line (or, for mail, a line from
// a declared LGWAN-side mail server). A deferred event's source is final
// unless the content parse fails, which only turns it into "syslog".
// Without such an address the zone rules examined the event and found
// nothing, and it is counted as evaluated (the parse counts only events
// with a valid src_ip: the count may differ for malformed lines).
func (d *ModelDetector) mustParse(ev *event.Event, tm *tenantModel) bool {
	switch {
	case internetLog(ev.Source):
		if tm.touches(ev.Raw) {
			return true
		}
		if len(tm.zones) > 0 {
			d.ops.evaluatedZone(tm, ev, ev.Source == event.SourceBIND || ev.Source == event.SourceUnbound)
		}
		return false
	case ev.Source == event.SourcePostfix:
		if tm.mail == nil {
			return false
		}
		_, ok := tm.mail.server(ev.Host)
		return ok
	}
	return false
}

// hit writes the alert of rule r for ev and counts it; blocked hits (the
// device refused the traffic) are low-level alerts and counted apart: the
// control worked, yet someone tried.
func (d *ModelDetector) hit(ev *event.Event, tm *tenantModel, r *ModelRule, blocked bool, credit, detail string) {
	if tm.off[r] {
		return
	}
	level := r.Level
	if blocked {
		level = "low"
	}
	al := Alert{Time: ev.Time, Tenant: ev.Tenant, Rule: r.ID, Title: r.Title, Level: level, Source: ev.Source,
		Host: ev.Host, SrcIP: fieldOf(ev, event.SrcIP), DstIP: fieldOf(ev, event.DstIP), Raw: ev.Raw, Credit: "kyojin model rule (generated from the tenant's model, " + credit + ")"}
	if detail != "" {
		al.Title += ": " + detail
	}
	d.ops.hit(tm, al, r, blocked)
	d.write(al)
}

// zoneSeen: MODEL-MN-SEEN and MODEL-LG-DIRECT.
func (d *ModelDetector) zoneSeen(ev *event.Event, tm *tenantModel) {
	if len(tm.zones) == 0 {
		return
	}
	dns := ev.Source == event.SourceBIND || ev.Source == event.SourceUnbound
	a, ok := addrField(ev, event.SrcIP)
	if !ok {
		return
	}
	// A firewall between the body's own zones, or on a declared specific
	// communication, logs zone addresses legitimately: only traffic
	// towards anything else is traffic at the Internet connection.
	if dst, ok := addrField(ev, event.DstIP); ok && tm.inside(dst) {
		return
	}
	d.ops.evaluatedZone(tm, ev, dns)
	for _, n := range tm.zones {
		if !n.p.Contains(a) {
			continue
		}
		switch {
		case n.typ == model.ZoneMyNumber:
			d.hit(ev, tm, RuleMNSeen, false, "zone "+n.zone, "")
		case !dns:
			d.hit(ev, tm, RuleLGDirect, false, "zone "+n.zone, "")
		default:
			continue
		}
		return
	}
}

// touches reports whether raw may hold an address inside the body's zones
// or specific communications (so the event must be parsed and judged).
func (tm *tenantModel) touches(raw string) bool {
	if tm.fullScan {
		inside := false
		judged := scanAddrs(raw, func(a netip.Addr) { inside = inside || tm.inside(a) })
		return inside || !judged
	}
	for _, lit := range tm.lits {
		for off := 0; off < len(raw); {
			k := strings.Index(raw[off:], lit)
			if k < 0 {
				break
			}
			k += off
			if k == 0 || raw[k-1] < '0' || raw[k-1] > '9' {
				if a, ok := ipv4At(raw, k); ok && tm.inside(a) {
					return true
				}
			}
			off = k + len(lit)
		}
	}
	return false
}

// inside reports whether a is in the body's My Number or LGWAN zones or is
// a declared specific-communication endpoint.
func (tm *tenantModel) inside(a netip.Addr) bool {
	for _, n := range tm.zones {
		if n.p.Contains(a) {
			return true
		}
	}
	for _, n := range tm.comms {
		if n.p.Contains(a) {
			return true
		}
	}
	return false
}

// fieldOf is ev.Get without the presence flag.
func fieldOf(ev *event.Event, name string) string {
	v, _ := ev.Get(name)
	return v
}

// addrField parses an address field (IPv4-mapped addresses unmapped).
func addrField(ev *event.Event, f string) (netip.Addr, bool) {
	s, ok := ev.Get(f)
	if !ok {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// blockedAction reports whether the device refused the traffic: firewall
// verdicts (drop, deny, block, reject), Squid's TCP_DENIED, Postfix reject.
func blockedAction(ev *event.Event) bool {
	a, _ := ev.Get(event.Action)
	a = strings.ToLower(a)
	return a == "drop" || a == "deny" || a == "block" || a == "reject" || a == "dropped" || a == "blocked" ||
		strings.Contains(a, "denied")
}

// KeepsEvents implements EventKeeper: alerts copy what they need.
func (d *ModelDetector) KeepsEvents() bool { return false }

// Detectors runs several detectors in turn.
type Detectors []Detector

// KeepsEvents implements EventKeeper: true when any member may keep events.
func (ds Detectors) KeepsEvents() bool {
	for _, d := range ds {
		if keepsEvents(d) {
			return true
		}
	}
	return false
}

// Detect implements Detector. A detector that panics on an event (hostile
// content must never stop a parse worker) is counted in DetectorPanics and
// the next detectors still run.
func (ds Detectors) Detect(ev *event.Event) {
	for _, d := range ds {
		detectSafely(d, ev)
	}
}

var detectorPanics atomic.Int64

// DetectorPanics is the number of events a detector panicked on.
func DetectorPanics() int64 { return detectorPanics.Load() }

func detectSafely(d Detector, ev *event.Event) {
	defer func() {
		if recover() != nil {
			detectorPanics.Add(1)
		}
	}()
	d.Detect(ev)
}
