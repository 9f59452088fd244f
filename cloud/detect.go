package cloud

import (
	"encoding/json"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/logparse"
	"github.com/kyojin/kyojin/sigma"
)

// Detector sees every event that parsed (issue 8 §3). It must be safe for
// concurrent use by the parse workers.
type Detector interface {
	Detect(ev *event.Event)
}

// EventKeeper is implemented by detectors that say whether they keep ev
// (or its Fields map) after Detect returns. When every detector reports
// false, the parse workers reuse events and their field maps once stored,
// which saves most of intake's allocation (docs/performance-intake.md); a
// detector that does not implement it is assumed to keep them.
type EventKeeper interface {
	KeepsEvents() bool
}

// keepsEvents reports whether d may keep events after Detect.
func keepsEvents(d Detector) bool {
	if d == nil {
		return false
	}
	k, ok := d.(EventKeeper)
	return !ok || k.KeepsEvents()
}

// SetDetector attaches detection to the parse workers; call before Start.
func (in *Intake) SetDetector(d Detector) { in.detect = d }

// sourceKey routes a parser's events to the Sigma rules of the matching
// logsource category (docs/event-schema.md, docs/sigma.md); a switch, not
// a map: it runs once per event.
func sourceKey(src string) (string, bool) {
	switch src {
	case event.SourceSquid:
		return "proxy", true
	case event.SourceWeb:
		return "webserver", true
	case event.SourceBIND, event.SourceUnbound:
		return "dns", true
	case event.SourceNetfilter, event.SourceFortiGate, "pf":
		return "firewall", true
	}
	return "", false
}

// Alert is one rule match. Credit names the rule and its author, as the
// Detection Rule License of the shared Sigma rules requires.
type Alert struct {
	Time   time.Time `json:"time"`
	Tenant string    `json:"tenant"`
	Rule   string    `json:"rule"`
	Title  string    `json:"title"`
	Level  string    `json:"level"`
	Credit string    `json:"credit"`
	Source string    `json:"source"`
	Host   string    `json:"host,omitempty"`
	SrcIP  string    `json:"src_ip,omitempty"`
	DstIP  string    `json:"dst_ip,omitempty"`
	Raw    string    `json:"raw"`
}

// alertSink writes alerts as JSON lines, one writer at a time, and/or
// raises them on an AlertSink (SendTo; the alert store, alerts.go).
type alertSink struct {
	mu     sync.Mutex
	w      io.Writer
	to     AlertSink
	Alerts atomic.Int64 // alerts written
	errs   atomic.Int64 // alerts lost to write errors
}

// SendTo raises every alert on to as well (w may then be nil); call
// before the intake starts.
func (s *alertSink) SendTo(to AlertSink) { s.to = to }

func (s *alertSink) write(al Alert) {
	if s.to != nil {
		if !s.to.Raise(al) {
			s.errs.Add(1) // the sink counted and logged it
		} else if s.w == nil {
			s.Alerts.Add(1)
		}
		if s.w == nil {
			return
		}
	}
	if s.w == nil {
		s.errs.Add(1) // neither a file nor a sink: counted, never a panic
		return
	}
	line, err := json.Marshal(al)
	if err == nil {
		s.mu.Lock()
		_, err = s.w.Write(append(line, '\n'))
		s.mu.Unlock()
	}
	if err != nil {
		s.errs.Add(1)
		return
	}
	s.Alerts.Add(1)
}

// SigmaDetector matches events against a rule index and writes one JSON
// line per alert to its sink. Per-tenant rule exclusions live in the index.
type SigmaDetector struct {
	alertSink
	ix    *sigma.Index
	corr  *correlator // nil until EnableCorrelations (correlate.go)
	rules []*sigma.Rule
	// gates are the raw-line gates, one per log source (gateSources):
	// what logparse promises differs between the sources of one key
	// (netfilter names its verdict from a fixed set, FortiGate does not).
	gates    [len(gateSources)]*sigma.Index
	excluded [][2]string // tenant, rule id: applied to rebuilt gates
}

// gateSources are the sources routed to rules, each with its gate.
var gateSources = [...]string{event.SourceSquid, event.SourceWeb, event.SourceBIND, event.SourceUnbound,
	event.SourceNetfilter, event.SourceFortiGate, "pf"}

// gateOf is the gate of src's events, nil for an unrouted source.
func (d *SigmaDetector) gateOf(src string) *sigma.Index {
	for i, s := range gateSources {
		if s == src {
			return d.gates[i]
		}
	}
	return nil
}

// NewSigmaDetector returns a detector over rules writing alerts to sink.
func NewSigmaDetector(rules []*sigma.Rule, sink io.Writer) *SigmaDetector {
	d := &SigmaDetector{alertSink: alertSink{w: sink}, ix: sigma.NewIndex(rules), rules: rules}
	d.setGate()
	return d
}

// setGate builds the raw-line gates (sigma.Index.MayMatch), one per
// source, from what logparse promises of it (Verbatim, Absent, Bounds,
// Values), so that Detect can rule out a deferred event without parsing
// it. Rules whose matches
// are dropped (aggregations without correlations, see alone) keep no
// line. Call again when that changes (EnableCorrelations) and before the
// detector is shared.
func (d *SigmaDetector) setGate() {
	quiet := func(r *sigma.Rule) bool { return !d.alone(r) && (d.corr == nil || !d.corr.fed[r]) }
	for i, src := range gateSources {
		g := sigma.NewIndex(d.rules)
		g.SetGate(sigma.Gate{
			Verbatim: func(_, field string) bool { return field == "" || logparse.Verbatim(src, field) },
			Absent:   func(_, field string) bool { return logparse.Absent(src, field) },
			// Only what precedes a value is used ("dpt=80" rather than
			// "80"): the many white-space runes that may follow one would
			// multiply the automaton's literals, and "dpt=80" also matching
			// DPT=8080 only costs a parse.
			Bounds: func(_, field string) (before, after []string) {
				before, _ = logparse.Bounds(src, field)
				return before, nil
			},
			Values: func(_, field string) []string { return logparse.Values(src, field) },
			Quiet:  quiet,
		})
		for _, e := range d.excluded {
			g.Exclude(e[0], e[1])
		}
		d.gates[i] = g
	}
}

// KeepsEvents implements EventKeeper: alerts copy what they need.
func (d *SigmaDetector) KeepsEvents() bool { return false }

// Index exposes the rule index (for per-tenant exclusions).
func (d *SigmaDetector) Index() *sigma.Index { return d.ix }

// Detect implements Detector.
func (d *SigmaDetector) Detect(ev *event.Event) {
	key, ok := sourceKey(ev.Source)
	if !ok {
		return
	}
	if ev.Deferred() {
		// most lines: decided from the raw text, never parsed. Keywords
		// search the raw line (event.Event.Range), which the gate sees too.
		if g := d.gateOf(ev.Source); g != nil && !g.MayMatch(key, ev.Tenant, ev.Raw) {
			return
		}
		ev.Resolve()
		if key, ok = sourceKey(ev.Source); !ok {
			return // the content was not what the program's parser expects
		}
	}
	var buf [8]*sigma.Rule
	matched := d.ix.MatchTenant(key, ev.Tenant, ev, buf[:0])
	for _, r := range matched {
		if !d.alone(r) {
			continue // feeds a correlation, not a direct alert
		}
		d.write(Alert{Time: ev.Time, Tenant: ev.Tenant, Rule: r.ID, Title: r.Title, Level: r.Level,
			Credit: r.Credit(), Source: ev.Source, Host: ev.Host, SrcIP: fieldOf(ev, event.SrcIP), DstIP: fieldOf(ev, event.DstIP), Raw: ev.Raw})
	}
	d.correlate(ev, matched)
}
