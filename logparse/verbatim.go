package logparse

import (
	"strings"
	"unicode"

	"github.com/kyojin/kyojin/event"
)

// Verbatim reports whether the parser behind source sets field only to a
// substring of the raw line, up to ASCII case (PROTO=TCP becomes "tcp",
// "LGWAN-DROP" gives action "drop"). Detection uses it to decide from the
// raw line alone that a rule looking for a literal in field cannot match
// (sigma.Index.MayMatch), without running the content parse. Fields
// computed rather than copied (severity and facility numbers from PRI,
// the DNS and mail "action" words, joined TCP flags, parse complaints,
// RFC 5424 structured data, which go-syslog unescapes) and every field of
// kyojin's own JSON audit lines (JSON unescapes) are not verbatim.
// TestVerbatim and FuzzVerbatim hold the parsers to it.
func Verbatim(source, field string) bool {
	switch field {
	case "host", "raw", "_raw":
		return true
	case "tenant", "source", "time", "parse_error",
		event.Severity, event.Facility, "tcp_flags", "content_error", "charset", "bind_operation":
		return false
	}
	if strings.HasPrefix(field, "sd.") {
		return false
	}
	switch source {
	case event.SourceAudit:
		return false
	case event.SourceBIND, event.SourceUnbound, event.SourcePostfix:
		return field != event.Action
	case event.SourceFortiGate:
		return field != event.Proto
	}
	return true
}

// spaceAfter is what may follow a whitespace-separated token: the
// separators fields() splits at, and "\n" for the end of the line.
// A line that is not ASCII is split at Unicode white space too
// (strings.Fields), so those runes are listed as well.
var spaceAfter = func() []string {
	out := []string{"\n"}
	for r := rune(0); r <= 0x3000; r++ {
		if unicode.IsSpace(r) {
			out = append(out, string(r))
		}
	}
	return out
}()

// Bounds says, for fields whose value is cut out of the line between
// known delimiters, what immediately precedes the value (one of before,
// ASCII lower case) and what immediately follows it (one of after, "\n"
// standing for the end of the line too); nil when nothing is promised.
// A port "80" is then looked for as "dpt=80 " rather than "80", which
// every timestamp contains (sigma.Gate.Bounds). It is promised for the
// sources logparse.ParseLazy defers; TestBounds and FuzzBounds hold the
// parsers to it.
func Bounds(source, field string) (before, after []string) {
	switch source {
	case event.SourceNetfilter:
		if k, ok := netfilterKeys[field]; ok {
			return []string{k}, spaceAfter
		}
	case event.SourceFortiGate:
		// key=value or key="value"; a bare value ends at a space or NUL,
		// a quoted one at the quote (or the end of the line)
		if k, ok := fortiKeys[field]; ok {
			var before []string
			for _, key := range k {
				before = append(before, key+"=", key+`="`)
			}
			return before, fortiAfter
		}
	case "pf":
		switch field {
		case event.SrcPort, event.DstPort, event.Proto, event.SrcIP, event.DstIP, event.Action:
			return []string{","}, []string{",", "\n"}
		}
	}
	return nil, nil
}

// netfilterKeys are the KEY= of the kernel log that parseNetfilter copies
// into fields.
var netfilterKeys = map[string]string{
	event.SrcIP: "src=", event.DstIP: "dst=", event.SrcPort: "spt=", event.DstPort: "dpt=",
	event.Proto: "proto=", event.InIface: "in=", event.OutIface: "out=",
}

// fortiKeys are the FortiGate keys that set a field (fortiMap, and the
// field's own name, which parseFortiGate stores as it is).
var fortiKeys = map[string][]string{
	event.SrcIP: {"srcip", "remip", "src_ip"}, event.DstIP: {"dstip", "dst_ip"},
	event.SrcPort: {"srcport", "src_port"}, event.DstPort: {"dstport", "dst_port"},
}

var fortiAfter = []string{" ", "\x00", `"`, "\n"}

// squidFields are the fields parseSquid can set, besides the frame's.
var squidFields = map[string]bool{
	"duration_ms": true, event.SrcIP: true, event.CIP: true, event.Action: true, event.SCStatus: true,
	event.SCBytes: true, event.CSMethod: true, event.CURI: true, event.CSHost: true, event.DstPort: true,
	event.CURIStem: true, event.CSURIStem: true, event.CURIQuery: true, event.CSURIQuery: true,
	event.CURIExtension: true, event.User: true, event.DstIP: true, "mime_type": true,
}

// frameFields are the fields the syslog frame can set for any source.
func frameField(f string) bool {
	switch f {
	case event.Program, "pid", event.Severity, event.Facility, event.Message, "charset":
		return true
	}
	return strings.HasPrefix(f, "sd.")
}

// netfilterFields are the fields parseNetfilter can set, besides the
// frame's.
var netfilterFields = map[string]bool{
	"log_prefix": true, event.Action: true, event.SrcIP: true, event.DstIP: true, event.SrcPort: true,
	event.DstPort: true, event.Proto: true, event.InIface: true, event.OutIface: true, "length": true,
	"ttl": true, "mac": true, "id": true, "type": true, "code": true, "tcp_flags": true,
}

// Absent reports whether the parser behind source never sets field
// (Squid logs no user agent, so proxy rules on c-useragent cannot match
// a Squid line; netfilter has no "blocked"). Squid's and netfilter's
// parsers are listed; for other sources it reports false. TestBounds
// and FuzzBounds hold the lists to the parsers.
func Absent(source, field string) bool {
	var set map[string]bool
	switch source {
	case event.SourceSquid:
		set = squidFields
	case event.SourceNetfilter:
		set = netfilterFields
	default:
		return false
	}
	if field == "" || frameField(field) {
		return false
	}
	switch field {
	case "tenant", "source", "host", "raw", "_raw", "time", "parse_error":
		return false
	}
	return !set[field]
}

// netfilterActions are the verdicts parseNetfilter names from the log
// prefix.
var netfilterActions = []string{"drop", "reject", "accept", "block", "deny", "allow"}

// Values lists the only values a field can take when the parser names it
// from a fixed set (netfilter's action), nil otherwise: a rule looking for
// "accept" or "2" in it can then be judged from the line
// (sigma.Gate.Values). TestBounds and FuzzBounds hold it to the parser.
func Values(source, field string) []string {
	if source == event.SourceNetfilter && field == event.Action {
		return netfilterActions
	}
	return nil
}
