package cloud

import (
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/sigma"
)

// IntelDetector matches every parsed event against the prefecture's shared
// threat-intelligence indicators (issue 8 §3): the URL (c-uri), the host
// (cs-host), the DNS query, and both addresses. A hit is an alert for the
// tenant whose event matched, crediting the indicator's publisher and the
// tenant it came from; one alert per event (the most specific field wins:
// URL, host, query, destination, source).
type IntelDetector struct {
	alertSink
	hub  *intel.Hub
	Hits atomic.Int64
	gate atomic.Pointer[intelGate] // for the hub's current index
}

// intelGate rules out, from the raw line, an unparsed event that no
// indicator of one index can match (see mayMatch).
type intelGate struct {
	x        *intel.Index
	names    *sigma.Literals
	urlAddrs map[netip.Addr]bool
	addrs    bool
	urls     bool
}

// gateFor returns the gate of x, building it when the hub has swapped in
// a new index.
func (d *IntelDetector) gateFor(x *intel.Index) *intelGate {
	if g := d.gate.Load(); g != nil && g.x == x {
		return g
	}
	t := x.Terms()
	g := &intelGate{x: x, names: sigma.NewLiterals(t.Names), urlAddrs: map[netip.Addr]bool{}, addrs: t.Addrs, urls: t.URLs}
	for _, a := range t.URLAddrs {
		g.urlAddrs[a] = true
	}
	d.gate.Store(g)
	return g
}

// mayMatch is false only when no field the detector looks at can match:
// the fields are copied from the line (logparse.Verbatim), so a listed
// domain or URL host is in the line as text (ASCII case aside), and a
// listed address among the addresses written in it (scanAddrs). Lines
// that are not ASCII (internationalised names) are always parsed, and so
// are lines with a percent sign while URLs are listed: the URL match
// decodes escapes in the host, also where no "://" precedes it (a Squid
// CONNECT target "%66iles.example:443").
func (g *intelGate) mayMatch(raw string) bool {
	if found, ascii := g.names.ScanASCII(raw); found || !ascii || g.urls && strings.IndexByte(raw, '%') >= 0 {
		return true
	}
	if !g.addrs && len(g.urlAddrs) == 0 {
		return false
	}
	found := false
	judged := scanAddrs(raw, func(a netip.Addr) {
		if !found {
			if _, ok := g.x.Addr(a); ok || g.urlAddrs[a] {
				found = true
			}
		}
	})
	return found || !judged
}

// NewIntelDetector returns a detector over hub's current indicators; hub
// may gain indicators (Publish, Reload) while it runs.
func NewIntelDetector(hub *intel.Hub, sink io.Writer) *IntelDetector {
	return &IntelDetector{alertSink: alertSink{w: sink}, hub: hub}
}

// KeepsEvents implements EventKeeper: an alert copies what it needs.
func (d *IntelDetector) KeepsEvents() bool { return false }

// Detect implements Detector.
func (d *IntelDetector) Detect(ev *event.Event) {
	x := d.hub.Index()
	if x.Len() == 0 {
		return
	}
	if ev.Deferred() && ev.Reparse() != "" && !d.gateFor(x).mayMatch(ev.Raw) {
		return // most lines: no listed value in them, nothing to parse
	}
	ev.Resolve() // indicators are matched against the parsed fields
	if len(ev.Fields) == 0 {
		return
	}
	var in *intel.Indicator
	var ok bool
	var field string
	if v, has := ev.Fields[event.CURI]; has && x.HasURLs() {
		in, ok, field = lookupURL(x, v)
	}
	for _, f := range [...]string{event.CSHost, event.Query} {
		if ok {
			break
		}
		if v, has := ev.Fields[f]; has {
			if a, err := parseIPLiteral(v); err == nil {
				in, ok = x.Addr(a)
			} else {
				in, ok = x.Domain(v)
			}
			field = f
		}
	}
	for _, f := range [...]string{event.DstIP, event.SrcIP} {
		if ok {
			break
		}
		if v, has := ev.Fields[f]; has {
			in, ok = x.IP(v)
			field = f
		}
	}
	if !ok || in.Expired(ev.Time) {
		return
	}
	level := in.Level
	if level == "" {
		level = "high"
	}
	d.Hits.Add(1)
	d.write(Alert{Time: ev.Time, Tenant: ev.Tenant, Rule: "INTEL-" + string(in.Kind), Level: level,
		Title:  "共有脅威情報に一致 / threat intelligence match: " + field + " " + string(in.Kind) + " " + in.Value + "（" + in.Reason + "）",
		Credit: "threat intelligence published by " + in.Publisher + " (tenant " + in.Tenant + ")" + refSuffix(in.Ref),
		Source: ev.Source, Host: ev.Host, SrcIP: fieldOf(ev, event.SrcIP), DstIP: fieldOf(ev, event.DstIP), Raw: ev.Raw})
}

func lookupURL(x *intel.Index, v string) (*intel.Indicator, bool, string) {
	in, ok := x.URL(v)
	return in, ok, event.CURI
}

func refSuffix(ref string) string {
	if ref == "" {
		return ""
	}
	return ", ref " + ref
}

var errNotIP = errors.New("not an IP literal")

// parseIPLiteral parses v as an address only when it can be one: host
// names fail without netip's allocated error (the intake's hot path).
func parseIPLiteral(v string) (netip.Addr, error) {
	if v == "" || !strings.ContainsRune(v, ':') && strings.TrimLeft(v, "0123456789.") != "" {
		return netip.Addr{}, errNotIP
	}
	return netip.ParseAddr(v)
}
