// Package event defines kyojin's one normalized log event, shared by intake
// (package logparse, package cloud) and detection (package sigma). Field
// names follow the Sigma taxonomy (sigma-spec appendix "Taxonomy": proxy,
// webserver, dns, firewall categories) so that shared Sigma rules match
// without a per-source mapping; see docs/event-schema.md for the table.
package event

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// Source types: which parser produced the event (Sigma logsource product /
// category hints in docs/event-schema.md).
const (
	SourceSquid     = "squid"     // category proxy
	SourceBIND      = "bind"      // category dns
	SourceUnbound   = "unbound"   // category dns
	SourcePostfix   = "postfix"   // product postfix (mail fields)
	SourceWeb       = "web"       // category webserver (nginx/Apache combined)
	SourceNetfilter = "netfilter" // category firewall (iptables/nftables)
	SourceFortiGate = "fortigate" // category firewall (FortiGate key=value)
	SourceAudit     = "kyojin"    // kyojin's own audit JSON (sanitize, mailgate)
	SourceSyslog    = "syslog"    // syslog frame with no content parser
)

// Normalized field names. Sigma taxonomy names where one exists.
const (
	// proxy and webserver
	CURI          = "c-uri"       // full requested URL (proxy) or path+query (web)
	CURIStem      = "c-uri-stem"  // path without query
	CURIQuery     = "c-uri-query" // query string without '?'
	CURIExtension = "c-uri-extension"
	CSURIStem     = "cs-uri-stem"  // webserver taxonomy alias of c-uri-stem
	CSURIQuery    = "cs-uri-query" // webserver taxonomy alias of c-uri-query
	CSHost        = "cs-host"
	CSMethod      = "cs-method"
	CSVersion     = "cs-version"
	CSReferrer    = "cs-referrer"
	CSReferer     = "cs-referer" // webserver taxonomy spelling
	CUserAgent    = "c-useragent"
	CSUserAgent   = "cs-user-agent" // webserver taxonomy alias
	SCStatus      = "sc-status"
	SCBytes       = "sc-bytes"
	CIP           = "c-ip" // webserver taxonomy alias of src_ip
	// dns
	Query     = "query"
	QueryType = "record_type"
	Answer    = "answer"
	DNSRCode  = "response_code"
	// network and firewall
	SrcIP    = "src_ip"
	SrcPort  = "src_port"
	DstIP    = "dst_ip"
	DstPort  = "dst_port"
	Proto    = "proto"
	Action   = "action"
	InIface  = "in_interface"
	OutIface = "out_interface"
	// identity
	User = "user"
	// mail (postfix, kyojin mailgate)
	MailFrom   = "mail_from"
	MailTo     = "mail_to"
	MailHelo   = "mail_helo"
	MailQueue  = "mail_queue_id"
	MailMsgID  = "mail_message_id"
	MailStatus = "mail_status"
	MailRelay  = "mail_relay"
	// syslog frame
	Program  = "program"
	Severity = "severity"
	Facility = "facility"
	Message  = "message"
)

// Event is one log record after normalization. Tenant, Time, Source, Host
// and Raw are always set by intake; Fields holds the normalized values.
// A record that no parser understood has ParseError set and keeps Raw.
type Event struct {
	Tenant     string            `json:"tenant"`
	Time       time.Time         `json:"time"`
	Received   time.Time         `json:"received"`
	Source     string            `json:"source"`
	Host       string            `json:"host,omitempty"`
	Raw        string            `json:"raw"`
	ParseError string            `json:"parse_error,omitempty"`
	Fields     map[string]string `json:"fields,omitempty"`

	// lazy, when set, fills Fields (and may correct Source and
	// ParseError) on first use: intake defers the content parse of most
	// events, since most are only stored and never looked into (Defer).
	lazy func(*Event)
	// reparse is the logparse format that reproduces this event from Raw
	// ("" when it cannot: invalid UTF-8, a line over the limit). Storage
	// keeps only Raw for such events and parses again when reading.
	reparse string
}

// Defer marks the content parse of e as pending: resolve runs once, on
// the first access to a normalized field (Get, Names, Resolve, the JSON
// encoders). resolve must leave Tenant, Time and Received as they are.
// Code reading e.Fields directly must call Resolve first.
func (e *Event) Defer(resolve func(*Event)) { e.lazy = resolve }

// Deferred reports whether the content parse is still pending.
func (e *Event) Deferred() bool { return e.lazy != nil }

// Resolve runs the pending content parse, if any.
func (e *Event) Resolve() {
	if f := e.lazy; f != nil {
		e.lazy = nil
		f(e)
	}
}

// SetReparse records that logparse.Parse(format, Raw) reproduces the
// event (its Source, Host, ParseError and Fields; Time is parsed against
// the intake's clock and zone, so storage keeps it). "" clears it.
func (e *Event) SetReparse(format string) { e.reparse = format }

// Reparse returns the format set by SetReparse ("" when none).
func (e *Event) Reparse() string { return e.reparse }

// Get returns a field for rule evaluation: the fixed fields "tenant",
// "source", "host", "raw" (alias "_raw"), "parse_error" and "time"
// (RFC 3339), then
// normalized fields. ok is false when the field is absent, which lets Sigma
// distinguish "field|exists: false" from an empty value.
func (e *Event) Get(field string) (string, bool) {
	if e.lazy != nil {
		switch field {
		case "tenant", "host", "raw", "_raw", "time", "parse_error":
		default:
			e.Resolve() // source may change with the content parse
		}
	}
	switch field {
	case "tenant":
		return e.Tenant, e.Tenant != ""
	case "source":
		return e.Source, e.Source != ""
	case "host":
		return e.Host, e.Host != ""
	case "raw", "_raw":
		return e.Raw, true
	case "parse_error":
		return e.ParseError, e.ParseError != ""
	case "time":
		if e.Time.IsZero() {
			return "", false
		}
		return e.Time.UTC().Format(time.RFC3339Nano), true
	}
	v, ok := e.Fields[field]
	return v, ok
}

// Range gives Sigma keyword selections (values without a field) what to
// search: the raw line, which holds every value as the device logged it
// (sigma.FieldRanger). It does not parse a deferred event.
func (e *Event) Range(fn func(field, value string) bool) { fn("raw", e.Raw) }

// Set stores a normalized field; empty values and "-" (the log formats'
// "no value") are not stored, so Get reports them as absent.
func (e *Event) Set(field, value string) {
	if value == "" || value == "-" {
		return
	}
	if e.Fields == nil {
		e.Fields = make(map[string]string, 24) // sized for the widest parser, avoids regrowth
	}
	e.Fields[field] = value
}

// Names returns the normalized field names present, sorted.
func (e *Event) Names() []string {
	e.Resolve()
	return slices.Sorted(maps.Keys(e.Fields))
}

// Failed reports whether no parser understood the record.
// ParseError is final before a deferred content parse (Defer): logparse
// defers only what it framed, and a content parser's complaint then
// becomes the field "content_error", not ParseError.
func (e *Event) Failed() bool { return e.ParseError != "" }

// MarshalLine encodes the event as one JSON line (no trailing newline).
func (e *Event) MarshalLine() ([]byte, error) { e.Resolve(); return json.Marshal(e) }
