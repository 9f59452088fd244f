package logparse

import (
	"errors"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/event"
)

// parseUnbound reads Unbound's log-queries / log-replies /
// log-local-actions lines, bare or after syslog framing:
//
//	[1614869270] unbound[1234:0] info: 127.0.0.1 example.com. A IN
//	info: 127.0.0.1 example.com. A IN NOERROR 0.000000 0 45
//	info: refused 192.0.2.1@53530 example.com. A IN
func parseUnbound(_ *Parser, msg string, ev *event.Event) error {
	s := msg
	if t, ok := unboundStamp(s); ok {
		ev.Time = t
	}
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 {
			s = strings.TrimSpace(s[j+1:])
		}
	}
	if strings.HasPrefix(s, "unbound[") {
		if j := strings.IndexByte(s, ' '); j > 0 {
			s = s[j+1:]
		}
	}
	level, rest, ok := strings.Cut(s, ": ")
	if !ok || strings.Contains(level, " ") {
		return errors.New("unbound: no log level")
	}
	ev.Set(event.Severity, level)
	rest = strings.TrimPrefix(strings.TrimPrefix(rest, "reply: "), "query: ")
	var buf [16]string
	f := fields(rest, buf[:0])
	if len(f) < 4 {
		ev.Set(event.Message, rest)
		if level == "info" {
			return errors.New("unbound: not a query line")
		}
		return nil // notice/warning/error server messages
	}
	if net.ParseIP(f[0]) == nil {
		// local action: ACTION IP@PORT NAME TYPE CLASS
		ip, port, _ := strings.Cut(f[1], "@")
		if net.ParseIP(ip) == nil || len(f) < 5 {
			return errors.New("unbound: bad client address")
		}
		ev.Set(event.Action, f[0])
		ev.Set(event.SrcIP, ip)
		ev.Set(event.SrcPort, port)
		f = f[1:]
	} else {
		ev.Set(event.SrcIP, f[0])
		ev.Set(event.Action, "query")
	}
	ev.Set(event.Query, strings.TrimSuffix(f[1], "."))
	ev.Set(event.QueryType, f[2])
	ev.Set("query_class", f[3])
	if len(f) >= 5 {
		ev.Set(event.DNSRCode, f[4])
		ev.Set(event.Action, "reply")
	}
	return nil
}

// unboundStamp reads the "[epoch]" stamp Unbound writes to its own log.
func unboundStamp(s string) (time.Time, bool) {
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 {
			if sec, err := strconv.ParseInt(s[1:j], 10, 64); err == nil {
				return time.Unix(sec, 0).UTC(), true
			}
		}
	}
	return time.Time{}, false
}
