package logparse

import (
	"errors"
	"strings"

	"github.com/kyojin/kyojin/event"
)

// parseNetfilter reads the kernel's iptables LOG / nftables log lines:
//
//	[123.45] IPTABLES-DROP: IN=eth0 OUT= MAC=.. SRC=a DST=b LEN=60 .. PROTO=TCP SPT=1 DPT=2 .. SYN
//
// The log prefix is free text; when it names a verdict (DROP, REJECT,
// ACCEPT, BLOCK) it becomes the action.
func parseNetfilter(_ *Parser, msg string, ev *event.Event) error {
	s := msg
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 {
			s = strings.TrimSpace(s[j+1:])
		}
	}
	i := strings.Index(s, "SRC=")
	if i < 0 {
		return errors.New("netfilter: no SRC=")
	}
	// the prefix is what precedes the first KEY= token (IN= normally)
	start := i
	if j := strings.Index(s, "IN="); j >= 0 && j < i {
		start = j
	}
	if pre := strings.TrimSpace(s[:start]); pre != "" {
		ev.Set("log_prefix", pre)
		up := strings.ToUpper(pre)
		for _, a := range []string{"DROP", "REJECT", "ACCEPT", "BLOCK", "DENY", "ALLOW"} {
			if strings.Contains(up, a) {
				ev.Set(event.Action, strings.ToLower(a))
				break
			}
		}
	}
	var flags []string
	var buf [40]string
	for _, tok := range fields(s[start:], buf[:0]) {
		k, v, ok := strings.Cut(tok, "=")
		if !ok {
			flags = append(flags, tok)
			continue
		}
		switch k {
		case "SRC":
			ev.Set(event.SrcIP, v)
		case "DST":
			ev.Set(event.DstIP, v)
		case "SPT":
			ev.Set(event.SrcPort, v)
		case "DPT":
			ev.Set(event.DstPort, v)
		case "PROTO":
			ev.Set(event.Proto, strings.ToLower(v))
		case "IN":
			ev.Set(event.InIface, v)
		case "OUT":
			ev.Set(event.OutIface, v)
		case "LEN":
			if ev.Fields["length"] == "" {
				ev.Set("length", v)
			}
		case "TTL", "MAC", "ID", "TYPE", "CODE":
			ev.Set(strings.ToLower(k), v)
		}
	}
	if len(flags) > 0 {
		ev.Set("tcp_flags", strings.Join(flags, " "))
	}
	if ev.Fields[event.SrcIP] == "" {
		return errors.New("netfilter: empty SRC=")
	}
	return nil
}
