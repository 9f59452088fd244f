package logparse

import (
	"errors"
	"strings"

	"github.com/kyojin/kyojin/event"
)

// parsePF reads pfSense/OPNsense "filterlog" CSV lines (IPv4 and IPv6):
// rule,subrule,anchor,tracker,iface,reason,action,dir,ipver,...
func parsePF(_ *Parser, msg string, ev *event.Event) error {
	f := strings.Split(msg, ",")
	if len(f) < 9 {
		return errors.New("pf: fewer than 9 fields")
	}
	ev.Set("rule", f[3])
	ev.Set(event.InIface, f[4])
	ev.Set(event.Action, f[6])
	ev.Set("direction", f[7])
	var rest []string
	switch f[8] {
	case "4": // tos,ecn,ttl,id,offset,flags,protoid,proto,length,src,dst
		if len(f) < 20 {
			return errors.New("pf: short IPv4 record")
		}
		ev.Set(event.Proto, f[16])
		ev.Set("length", f[17])
		ev.Set(event.SrcIP, f[18])
		ev.Set(event.DstIP, f[19])
		rest = f[20:]
	case "6": // class,flowlabel,hoplimit,proto,protoid,length,src,dst
		if len(f) < 17 {
			return errors.New("pf: short IPv6 record")
		}
		ev.Set(event.Proto, f[12])
		ev.Set("length", f[14])
		ev.Set(event.SrcIP, f[15])
		ev.Set(event.DstIP, f[16])
		rest = f[17:]
	default:
		return errors.New("pf: unknown IP version")
	}
	if p := ev.Fields[event.Proto]; (p == "tcp" || p == "udp") && len(rest) >= 3 {
		ev.Set(event.SrcPort, rest[0])
		ev.Set(event.DstPort, rest[1])
		ev.Set("data_length", rest[2])
		if p == "tcp" && len(rest) >= 4 {
			ev.Set("tcp_flags", rest[3])
		}
	}
	return nil
}
