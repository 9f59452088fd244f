package cloud

import (
	"net/netip"
	"strings"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/model"
)

// mailModel is what MODEL-MAIL-UNSANITIZED knows of one tenant: its
// LGWAN-side mail servers, the sanitizing relays declared to feed them, and
// the other clients the model allows.
type mailModel struct {
	names    map[string]string // lower-case host id -> host id
	addrs    []netip.Prefix    // the servers' addresses
	relays   []netip.Prefix    // sources of sanitized-mail flows to the servers
	internal []netip.Prefix    // LGWAN zone subnets and other declared in-body clients
	internet []netip.Prefix    // the tenant's Internet zone
	// lgwanPeers: the model declares mail from the nationwide LGWAN, whose
	// addresses it cannot list; a client outside every zone of the body is
	// then taken as an LGWAN peer.
	lgwanPeers bool
}

// smtpPorts are the ports of a flow that carries mail.
var smtpPorts = []uint16{25, 465, 587}

func carriesMail(f *model.Flow) bool {
	if f.Mechanism == model.MechSanitizedMail {
		return true
	}
	for _, p := range f.Ports {
		for _, port := range smtpPorts {
			if portDeclared([]model.PortRange{p}, "tcp", port) {
				return true
			}
		}
	}
	return false
}

// mailModelOf finds the LGWAN-side mail servers: LGWAN zone hosts at the
// receiving end of a sanitized-mail flow or of a flow carrying SMTP.
func mailModelOf(m *model.Model) *mailModel {
	mm := &mailModel{names: map[string]string{}}
	servers := map[*model.Host]bool{}
	for i, f := range m.Flows {
		to := m.FlowTo[i]
		if to.Host != nil && to.ZoneType() == model.ZoneLGWAN && carriesMail(f) {
			servers[to.Host] = true
		}
	}
	if len(servers) == 0 {
		return nil
	}
	for h := range servers {
		mm.names[strings.ToLower(h.ID)] = h.ID
		for _, a := range h.Addresses {
			mm.addrs = append(mm.addrs, a.Prefix.Masked())
		}
	}
	for i, f := range m.Flows {
		to, from := m.FlowTo[i], m.FlowFrom[i]
		if to.Host == nil || !servers[to.Host] || !carriesMail(f) {
			continue
		}
		switch {
		case from.Kind == model.EPLGWAN:
			mm.lgwanPeers = true
		case f.Mechanism == model.MechSanitizedMail:
			mm.relays = append(mm.relays, endpointPrefixes(m, from)...)
		case from.ZoneType() != model.ZoneInternet && !from.External():
			mm.internal = append(mm.internal, endpointPrefixes(m, from)...)
		}
	}
	for _, z := range m.Zones {
		for _, s := range z.Subnets {
			switch z.Type {
			case model.ZoneLGWAN:
				mm.internal = append(mm.internal, s.Prefix.Masked())
			case model.ZoneInternet:
				mm.internet = append(mm.internet, s.Prefix.Masked())
			}
		}
	}
	return mm
}

// endpointPrefixes are the addresses of a flow endpoint inside the body.
func endpointPrefixes(m *model.Model, e model.Endpoint) []netip.Prefix {
	var out []netip.Prefix
	hosts := []*model.Host{}
	switch e.Kind {
	case model.EPHost:
		hosts = append(hosts, e.Host)
	case model.EPSystem:
		hosts = m.HostsOfSystem[e.System.ID]
	case model.EPZone:
		for _, s := range e.Zone.Subnets {
			out = append(out, s.Prefix.Masked())
		}
	}
	for _, h := range hosts {
		for _, a := range h.Addresses {
			out = append(out, a.Prefix.Masked())
		}
	}
	return out
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// server reports whether a syslog HOSTNAME names one of the servers: its
// host id (also as the first label of an FQDN) or one of its addresses.
func (mm *mailModel) server(host string) (string, bool) {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if id, ok := mm.names[h]; ok {
		return id, true
	}
	if first, _, ok := strings.Cut(h, "."); ok {
		if id, ok := mm.names[first]; ok {
			return id, true
		}
	}
	if a, err := netip.ParseAddr(h); err == nil && inAny(mm.addrs, a.Unmap()) {
		return h, true
	}
	return "", false
}

// mailPath: MODEL-MAIL-UNSANITIZED. A Postfix line of an LGWAN-side mail
// server that accepts ("client=") or rejects a message from a client is
// examined; the client must be the sanitizing relay, or inside the body's
// LGWAN side, or (when the model declares LGWAN mail) an LGWAN peer.
// A client in the body's Internet zone other than the relay, or anywhere
// outside the body when no LGWAN mail is declared, means Internet mail
// reached LGWAN unsanitized.
func (d *ModelDetector) mailPath(ev *event.Event, tm *tenantModel) {
	mm := tm.mail
	if mm == nil {
		return
	}
	server, ok := mm.server(ev.Host)
	if !ok {
		return
	}
	client, ok := addrField(ev, event.SrcIP)
	if !ok {
		return
	}
	act, _ := ev.Get(event.Action)
	accepted := strings.Contains(ev.Raw, " client=") || strings.Contains(ev.Raw, ": client=")
	if !accepted && act != "reject" {
		return // connect/disconnect lines: no message yet
	}
	d.ops.evaluated(tm, ev, RuleMailUnsanitized)
	if client.IsLoopback() || inAny(mm.relays, client) || inAny(mm.internal, client) {
		return
	}
	where := ""
	switch {
	case inAny(mm.internet, client):
		where = "インターネット接続系 " + client.String() + " から直接"
	case !inAny(mm.addrs, client) && !mm.lgwanPeers:
		where = "団体外 " + client.String() + " から直接"
	default:
		return
	}
	d.hit(ev, tm, RuleMailUnsanitized, !accepted, "mail server "+server, "メールサーバ "+server+" が"+where+"受信")
}
