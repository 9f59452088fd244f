package cloud

import (
	"io"
	"net/netip"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/model"
)

// ModelDetector raises alerts that only a detector knowing each tenant's
// model can raise (issue 8 §3): the tenant's own zones seen where the
// three-zone separation says they can never appear.
//
//   - MODEL-MN-SEEN (critical): a My Number zone address in any proxy, DNS or
//     firewall log of the Internet connection — the zone must not reach the
//     outside at all (standards 3(1)①).
//   - MODEL-LG-DIRECT (high): an LGWAN zone address in the proxy or firewall
//     logs of the Internet connection — LGWAN reaches the Internet only
//     through sanitization or screen transfer (3(2)①).
type ModelDetector struct {
	alertSink
	zones map[string][]zoneNet // tenant -> subnets of its My Number and LGWAN zones
}

type zoneNet struct {
	p    netip.Prefix
	typ  model.ZoneType
	zone string
}

// NewModelDetector builds the detector from the tenants' loaded models.
func NewModelDetector(tenants []Tenant, sink io.Writer) *ModelDetector {
	d := &ModelDetector{alertSink: alertSink{w: sink}, zones: map[string][]zoneNet{}}
	for _, t := range tenants {
		if t.Loaded == nil {
			continue
		}
		for _, z := range t.Loaded.Zones {
			if z.Type != model.ZoneMyNumber && z.Type != model.ZoneLGWAN {
				continue
			}
			for _, s := range z.Subnets {
				d.zones[t.ID] = append(d.zones[t.ID], zoneNet{s.Prefix, z.Type, z.ID})
			}
		}
	}
	return d
}

// internetLogs are the sources that record traffic at the Internet connection.
var internetLogs = map[string]bool{
	event.SourceSquid: true, event.SourceBIND: true, event.SourceUnbound: true,
	event.SourceNetfilter: true, event.SourceFortiGate: true, "pf": true,
}

// Detect implements Detector.
func (d *ModelDetector) Detect(ev *event.Event) {
	nets := d.zones[ev.Tenant]
	if len(nets) == 0 || !internetLogs[ev.Source] {
		return
	}
	ip, ok := ev.Get(event.SrcIP)
	if !ok {
		return
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return
	}
	for _, n := range nets {
		if !n.p.Contains(a.Unmap()) {
			continue
		}
		al := Alert{Time: ev.Time, Tenant: ev.Tenant, Source: ev.Source, Host: ev.Host, Raw: ev.Raw,
			Credit: "kyojin model rule (generated from the tenant's model, zone " + n.zone + ")"}
		switch {
		case n.typ == model.ZoneMyNumber:
			al.Rule, al.Level = "MODEL-MN-SEEN", "critical"
			al.Title = "マイナンバー利用事務系のアドレスがインターネット接続口のログに現れた（対策基準 3(1)①）"
		case ev.Source != event.SourceBIND && ev.Source != event.SourceUnbound:
			al.Rule, al.Level = "MODEL-LG-DIRECT", "high"
			al.Title = "LGWAN接続系のアドレスがインターネットへ直接通信している（対策基準 3(2)①）"
		default:
			continue
		}
		d.write(al)
		return
	}
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

// Detect implements Detector.
func (ds Detectors) Detect(ev *event.Event) {
	for _, d := range ds {
		d.Detect(ev)
	}
}
