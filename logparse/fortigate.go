package logparse

import (
	"errors"
	"strings"
	"time"

	"github.com/kyojin/kyojin/event"
)

// fortiMap renames FortiGate keys to the normalized schema; other keys are
// kept under their FortiGate names (type, subtype, level, policyid, ...).
var fortiMap = map[string]string{
	"srcip": event.SrcIP, "dstip": event.DstIP, "srcport": event.SrcPort, "dstport": event.DstPort,
	"action": event.Action, "user": event.User, "hostname": event.CSHost, "url": event.CURI,
	"qname": event.Query, "qtype": event.QueryType, "srcintf": event.InIface, "dstintf": event.OutIface,
	"method": event.CSMethod, "agent": event.CUserAgent, "msg": event.Message,
}

// parseFortiGate reads FortiOS key=value logs (traffic, utm, event):
// date=2024-10-14 time=13:46:40 ... srcip=.. dstip=.. action="deny"
func parseFortiGate(p *Parser, msg string, ev *event.Event) error {
	n := 0
	var date, clock, tz string
	kv(msg, 0, func(k, v string) {
		n++
		switch k {
		case "date":
			date = v
		case "time":
			clock = v
		case "tz":
			tz = v
		case "proto":
			ev.Set(event.Proto, ipProto(v))
		case "remip":
			if ev.Fields[event.SrcIP] == "" {
				ev.Set(event.SrcIP, v)
			}
		}
		if m, ok := fortiMap[k]; ok {
			ev.Set(m, v)
		} else if k != "date" && k != "time" && k != "tz" && k != "proto" {
			ev.Set(k, v)
		}
	})
	if n < 3 || date == "" {
		return errors.New("fortigate: not a key=value log")
	}
	if u := ev.Fields[event.User]; u == "N/A" {
		delete(ev.Fields, event.User)
	}
	loc := p.loc
	if tz != "" {
		if t, err := time.Parse("-0700", tz); err == nil {
			loc = t.Location()
		}
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05", date+" "+clock, loc); err == nil {
		ev.Time = t
	}
	return nil
}

// ipProto names the common IP protocol numbers as netfilter writes them.
func ipProto(v string) string {
	switch strings.TrimSpace(v) {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "ipv6-icmp"
	}
	return v
}
