package cloud

import (
	"strconv"
	"strings"

	"net/netip"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/model"
)

// commNet is one address range of a declared specific communication.
type commNet struct {
	p    netip.Prefix
	comm *model.Communication
	rule *ModelRule
}

// commNets indexes the tenant's specific communications of the My Number
// and LGWAN zones (the two the guideline limits by path and port).
func commNets(m *model.Model) []commNet {
	var out []commNet
	for _, c := range m.Communications {
		var r *ModelRule
		switch m.ZoneByID[c.Zone].Type {
		case model.ZoneMyNumber:
			r = RuleMNCommPort
		case model.ZoneLGWAN:
			r = RuleLGCommPort
		default:
			continue
		}
		for _, a := range c.Addresses {
			out = append(out, commNet{a.Prefix.Masked(), c, r})
		}
	}
	return out
}

// commPort: MODEL-MN-COMM-PORT and MODEL-LG-COMM-PORT. A firewall or proxy
// event whose destination is a declared endpoint must use one of the
// declared ports; an event without a destination port (ICMP aside) cannot
// be judged and is not counted as examined.
func (d *ModelDetector) commPort(ev *event.Event, tm *tenantModel) {
	if len(tm.comms) == 0 || ev.Source == event.SourceBIND || ev.Source == event.SourceUnbound {
		return
	}
	dst, ok := addrField(ev, event.DstIP)
	if !ok {
		return
	}
	proto, _ := ev.Get(event.Proto)
	proto = strings.ToLower(proto)
	if proto == "" && ev.Source == event.SourceSquid {
		proto = "tcp" // HTTP and CONNECT
	}
	var port uint16
	if s, ok := ev.Get(event.DstPort); ok {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			return
		}
		port = uint16(n)
	} else if proto != "icmp" && proto != "icmpv6" && proto != "ipv6-icmp" {
		return
	}
	for _, n := range tm.comms {
		if !n.p.Contains(dst) {
			continue
		}
		d.ops.evaluated(tm, ev, n.rule)
		if portDeclared(n.comm.Ports, proto, port) {
			return
		}
		got := proto + "/" + strconv.Itoa(int(port))
		if port == 0 {
			got = proto
		}
		d.hit(ev, tm, n.rule, blockedAction(ev), "specific communication "+n.comm.ID,
			n.comm.ID+" ("+n.comm.Name+") "+got+" — 宣言: "+portList(n.comm.Ports))
		return
	}
}

// portDeclared reports whether proto/port is one of the declared ranges.
// An unknown protocol matches a declared port of any protocol.
func portDeclared(ports []model.PortRange, proto string, port uint16) bool {
	for _, p := range ports {
		if p.Proto == "any" {
			return true
		}
		if proto != "" && p.Proto != proto && !(proto == "ipv6-icmp" && p.Proto == "icmpv6") {
			continue
		}
		if p.Proto == "icmp" || p.Proto == "icmpv6" {
			if port == 0 {
				return true
			}
			continue
		}
		if port != 0 && (p.AnyPort || p.Lo <= port && port <= p.Hi) {
			return true
		}
	}
	return false
}

func portList(ports []model.PortRange) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = p.String()
	}
	if len(s) == 0 {
		return "なし"
	}
	return strings.Join(s, ", ")
}
