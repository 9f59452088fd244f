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
