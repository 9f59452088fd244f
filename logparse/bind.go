package logparse

import (
	"errors"
	"net"
	"strings"
	"time"

	"github.com/kyojin/kyojin/event"
)

// parseBIND reads BIND 9 query and security log lines, with or without the
// "print-time" stamp and "category: severity:" prefixes:
//
//	19-Oct-2022 05:34:02.425 client @0x7f.. 192.168.1.1#3076 (example.com): query: example.com IN A +E(0) (10.0.0.1)
//	client 192.168.1.1#3076 (example.com): query (cache) 'example.com/ANY/IN' denied
//	client @0x.. ::1#62449 (example.com): zone transfer 'example.com/AXFR/IN' denied
func parseBIND(p *Parser, msg string, ev *event.Event) error {
	s := msg
	stamped := false
	if t, ok := p.bindStamp(s); ok {
		ev.Time, s, stamped = t, strings.TrimSpace(s[24:]), true
	}
	i := strings.Index(s, "client ")
	if i < 0 {
		if stamped {
			ev.Set(event.Message, s)
			return nil // server message (zone loaded, ...) without a client
		}
		return errors.New("bind: no client in line")
	}
	if pre := strings.TrimSuffix(strings.TrimSpace(s[:i]), ":"); pre != "" {
		ev.Set("bind_category", pre)
	}
	s = s[i+len("client "):]
	if strings.HasPrefix(s, "@0x") {
		if j := strings.IndexByte(s, ' '); j > 0 {
			s = s[j+1:]
		}
	}
	addr, rest, ok := strings.Cut(s, " ")
	if !ok {
		return errors.New("bind: truncated client")
	}
	ip, port, _ := strings.Cut(addr, "#")
	if net.ParseIP(ip) == nil {
		return errors.New("bind: bad client address")
	}
	ev.Set(event.SrcIP, ip)
	ev.Set(event.SrcPort, port)
	if strings.HasPrefix(rest, "(") {
		if j := strings.Index(rest, "): "); j > 0 {
			rest = rest[j+3:]
		}
	}
	ev.Set(event.Message, rest)
	if q, ok := strings.CutPrefix(rest, "query: "); ok {
		// NAME CLASS TYPE FLAGS (server)
		var buf [16]string
		f := fields(q, buf[:0])
		if len(f) >= 3 {
			ev.Set(event.Query, f[0])
			ev.Set("query_class", f[1])
			ev.Set(event.QueryType, f[2])
		}
		if len(f) >= 5 {
			ev.Set(event.DstIP, strings.Trim(f[len(f)-1], "()"))
		}
		ev.Set(event.Action, "query")
		return nil
	}
	// 'NAME/TYPE/CLASS' or 'NAME/CLASS' followed by a verdict
	if a := strings.IndexByte(rest, '\''); a >= 0 {
		if b := strings.IndexByte(rest[a+1:], '\''); b >= 0 {
			parts := strings.Split(rest[a+1:a+1+b], "/")
			ev.Set(event.Query, parts[0])
			if len(parts) == 3 {
				ev.Set(event.QueryType, parts[1])
			}
			verdict := strings.TrimSpace(rest[a+2+b:])
			if strings.HasPrefix(verdict, "denied") {
				ev.Set(event.Action, "denied")
			} else if strings.HasPrefix(verdict, "approved") {
				ev.Set(event.Action, "approved")
			}
		}
	}
	if strings.HasPrefix(rest, "zone transfer") || strings.HasPrefix(rest, "bad zone transfer") {
		ev.Set("bind_operation", "zone-transfer")
		if ev.Fields[event.Action] == "" && strings.HasPrefix(rest, "bad") {
			ev.Set(event.Action, "denied")
		}
	}
	return nil
}

// bindStamp reads BIND's "print-time" stamp at the start of s.
func (p *Parser) bindStamp(s string) (time.Time, bool) {
	if len(s) >= 24 && s[2] == '-' && s[6] == '-' && s[11] == ' ' {
		if t, err := time.ParseInLocation("02-Jan-2006 15:04:05.000", s[:24], p.loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
