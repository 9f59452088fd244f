package logparse

import (
	"strings"

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
var spaceAfter = []string{" ", "\t", "\n", "\v", "\f", "\r"}

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
