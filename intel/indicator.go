// Package intel holds the threat-intelligence indicators shared across the
// prefecture security cloud (issue 8 §3): domains (a listed domain matches
// its subdomains), IP addresses and CIDR ranges, and URLs, each with the
// tenant it came from, its publisher, the reason and an expiry. Indicators
// load from plain lists, CSV and STIX 2.1 bundles, are kept in a Store, and
// are matched at intake through an Index of hash sets and a CIDR trie.
//
// A Hub is the prefecture-wide set: Publish, called with the tenant and
// person an indicator comes from (for example from an incident), makes it
// match the events of every tenant at once.
package intel

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// Kind is what an indicator matches.
type Kind string

// Indicator kinds.
const (
	Domain Kind = "domain" // query, cs-host; subdomains match too
	IP     Kind = "ip"     // src_ip, dst_ip, cs-host written as an address
	CIDR   Kind = "cidr"   // as IP, any address in the range
	URL    Kind = "url"    // c-uri (scheme-insensitive; query optional)
)

// Indicator is one shared indicator of compromise.
type Indicator struct {
	Kind      Kind      `json:"kind"`
	Value     string    `json:"value"`     // normalised (Normalize)
	Tenant    string    `json:"tenant"`    // tenant it was published from
	Publisher string    `json:"publisher"` // person or organisation credited in alerts
	Reason    string    `json:"reason"`
	Level     string    `json:"level,omitempty"` // alert level; "high" when empty
	Added     time.Time `json:"added"`
	Expires   time.Time `json:"expires"`
	Ref       string    `json:"ref,omitempty"` // where it came from: incident id, STIX id, file
}

// DefaultTTL is the life of an indicator published without an expiry.
const DefaultTTL = 90 * 24 * time.Hour

// Expired reports whether the indicator no longer matches at t.
func (in *Indicator) Expired(t time.Time) bool { return !in.Expires.IsZero() && !t.Before(in.Expires) }

// Key identifies an indicator in a set (kind and normalised value).
func (in *Indicator) Key() string { return string(in.Kind) + "|" + in.Value }

// Levels an indicator may carry.
var levels = map[string]bool{"": true, "informational": true, "low": true, "medium": true, "high": true, "critical": true}

// ErrValue is wrapped by every normalisation error.
var ErrValue = errors.New("intel: invalid indicator value")

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrValue}, args...)...)
}

// Guess returns the kind a bare value is written as: a URL has a scheme,
// then a CIDR, an address, else a domain.
func Guess(v string) Kind {
	v = strings.TrimSpace(v)
	switch {
	case strings.Contains(v, "://"):
		return URL
	case strings.Contains(v, "/"):
		if _, err := netip.ParsePrefix(v); err == nil {
			return CIDR
		}
		return URL
	}
	if _, err := netip.ParseAddr(strings.Trim(v, "[]")); err == nil {
		return IP
	}
	return Domain
}

// Normalize checks v as kind (Guess when kind is empty) and returns the
// canonical form used for matching: domains lower-case A-labels (IDN
// converted to punycode) without the trailing dot, addresses unmapped,
// ranges masked (a /32 or /128 becomes an IP), URLs as host[:port]/path?query
// with the scheme, fragment and default port dropped.
func Normalize(kind Kind, v string) (Kind, string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return "", "", bad("empty")
	}
	if len(v) > 4096 {
		return "", "", bad("longer than 4096 bytes")
	}
	if kind == "" {
		kind = Guess(v)
	}
	switch kind {
	case Domain:
		d, ok := NormalizeDomain(strings.TrimPrefix(v, "*."))
		if !ok {
			return "", "", bad("%q is not a domain name", v)
		}
		if _, err := netip.ParseAddr(d); err == nil {
			return "", "", bad("%q is an address, not a domain", v)
		}
		return Domain, d, nil
	case IP:
		a, err := netip.ParseAddr(strings.Trim(v, "[]"))
		if err != nil || a.Zone() != "" {
			return "", "", bad("%q is not an IP address", v)
		}
		return IP, a.Unmap().String(), nil
	case CIDR:
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return "", "", bad("%q is not a CIDR range", v)
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), max(p.Bits()-96, 0))
		}
		p = p.Masked()
		if p.IsSingleIP() {
			return IP, p.Addr().String(), nil
		}
		if p.Bits() < 8 && p.Addr().Is4() || p.Bits() < 16 && p.Addr().Is6() {
			return "", "", bad("%q is too wide (shorter than /8 or /16)", v)
		}
		return CIDR, p.String(), nil
	case URL:
		k, ok := urlKey(v)
		if !ok {
			return "", "", bad("%q is not an http(s) URL", v)
		}
		if len(k) > 4096 {
			return "", "", bad("longer than 4096 bytes once normalised")
		}
		return URL, k, nil
	}
	return "", "", bad("unknown kind %q (domain, ip, cidr, url)", kind)
}

// Check normalises an indicator in place and checks its metadata.
func (in *Indicator) Check() error {
	k, v, err := Normalize(in.Kind, in.Value)
	if err != nil {
		return err
	}
	in.Kind, in.Value = k, v
	in.Level = strings.ToLower(strings.TrimSpace(in.Level))
	if !levels[in.Level] {
		return fmt.Errorf("intel: level %q (informational, low, medium, high, critical)", in.Level)
	}
	if len(in.Reason) > 1024 || len(in.Publisher) > 256 || len(in.Ref) > 1024 {
		return errors.New("intel: reason, publisher or ref too long")
	}
	return nil
}

var lookup = idna.New(idna.MapForLookup(), idna.Transitional(false), idna.StrictDomainName(false))

// NormalizeDomain lower-cases a host name, drops one trailing dot and
// converts an internationalised name to its punycode A-labels; ok is false
// for names that are not valid. ASCII names already in lower case are
// returned without allocating (the intake's hot path).
func NormalizeDomain(h string) (string, bool) {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return "", false
	}
	ascii, lower := true, true
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 0x80:
			ascii = false
		case c >= 'A' && c <= 'Z':
			lower = false
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return "", false
		}
	}
	if !ascii {
		if !utf8.ValidString(h) {
			return "", false
		}
		a, err := lookup.ToASCII(h)
		if err != nil || a == "" {
			return "", false
		}
		for i := 0; i < len(a); i++ {
			if a[i] >= 0x80 {
				return "", false
			}
		}
		return NormalizeDomain(a) // the A-labels obey the same character rules
	} else if !lower {
		h = strings.ToLower(h)
	}
	start := 0
	for i := 0; i <= len(h); i++ {
		if i == len(h) || h[i] == '.' {
			if n := i - start; n == 0 || n > 63 {
				return "", false
			}
			start = i + 1
		}
	}
	return h, true
}

// urlKey is the matching form of a URL: host[:port]/path?query, host
// normalised as a domain or address, default ports and the fragment
// dropped. The scheme is not part of it: the same resource is often
// served over http and https.
func urlKey(raw string) (string, bool) {
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		host = a.Unmap().String()
		if a.Unmap().Is6() {
			host = "[" + host + "]"
		}
	} else if host, err = hostOnly(host); err != nil {
		return "", false
	}
	port := u.Port()
	if port == "80" && scheme == "http" || port == "443" && scheme == "https" {
		port = ""
	}
	var b strings.Builder
	b.WriteString(host)
	if port != "" {
		b.WriteByte(':')
		b.WriteString(port)
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	b.WriteString(p)
	if u.RawQuery != "" {
		b.WriteByte('?')
		b.WriteString(u.RawQuery)
	}
	return b.String(), true
}

func hostOnly(h string) (string, error) {
	if u, err := url.PathUnescape(h); err == nil {
		h = u
	}
	d, ok := NormalizeDomain(h)
	if !ok {
		return "", ErrValue
	}
	return d, nil
}
