package intel

import (
	"net/netip"
	"strings"
	"time"
)

// Index answers "is this value listed?" for the intake's hot path: hash
// sets for domains, addresses and URLs, and a binary trie for CIDR ranges.
// An Index is immutable once built and safe for concurrent use; a Hub
// swaps in a new one when indicators change.
type Index struct {
	domains map[string]*Indicator
	ips     map[netip.Addr]*Indicator
	urls    map[string]*Indicator
	hosts   map[string]bool // host part of the listed URLs: a cheap first test
	v4, v6  *node
	n       int
}

type node struct {
	child [2]*node
	ind   *Indicator
}

// NewIndex indexes the indicators not expired at now. When the same value
// is listed twice the one that expires last wins.
func NewIndex(inds []Indicator, now time.Time) *Index {
	x := &Index{domains: map[string]*Indicator{}, ips: map[netip.Addr]*Indicator{}, urls: map[string]*Indicator{}, hosts: map[string]bool{}}
	for i := range inds {
		in := &inds[i]
		if in.Expired(now) {
			continue
		}
		switch in.Kind {
		case Domain:
			x.domains[in.Value] = later(x.domains[in.Value], in)
		case IP:
			a, err := netip.ParseAddr(in.Value)
			if err != nil {
				continue
			}
			x.ips[a] = later(x.ips[a], in)
		case URL:
			x.urls[in.Value] = later(x.urls[in.Value], in)
			x.hosts[urlHost(in.Value)] = true
		case CIDR:
			p, err := netip.ParsePrefix(in.Value)
			if err != nil {
				continue
			}
			root := &x.v4
			if p.Addr().Is6() {
				root = &x.v6
			}
			if *root == nil {
				*root = &node{}
			}
			nd := *root
			b := p.Addr().AsSlice()
			for i := 0; i < p.Bits(); i++ {
				bit := b[i/8] >> (7 - i%8) & 1
				if nd.child[bit] == nil {
					nd.child[bit] = &node{}
				}
				nd = nd.child[bit]
			}
			nd.ind = later(nd.ind, in)
		default:
			continue
		}
		x.n++
	}
	return x
}

func later(old, in *Indicator) *Indicator {
	if old == nil || (!old.Expires.IsZero() && (in.Expires.IsZero() || in.Expires.After(old.Expires))) {
		return in
	}
	return old
}

// Len is the number of indicators indexed.
func (x *Index) Len() int {
	if x == nil {
		return 0
	}
	return x.n
}

// HasURLs reports whether any URL is listed (the caller can skip
// normalising URLs otherwise).
func (x *Index) HasURLs() bool { return x != nil && len(x.urls) > 0 }

// Domain finds host or its nearest listed parent domain (a listed
// "evil.example" matches "a.b.evil.example"). host may be in any case, end
// with a dot, or be an internationalised name.
func (x *Index) Domain(host string) (*Indicator, bool) {
	if x == nil || len(x.domains) == 0 {
		return nil, false
	}
	h, ok := NormalizeDomain(host)
	if !ok {
		return nil, false
	}
	for {
		if in := x.domains[h]; in != nil {
			return in, true
		}
		i := strings.IndexByte(h, '.')
		if i < 0 {
			return nil, false
		}
		h = h[i+1:]
	}
}

// Addr finds an address listed by itself or inside a listed range (the
// most specific range wins).
func (x *Index) Addr(a netip.Addr) (*Indicator, bool) {
	if x == nil {
		return nil, false
	}
	a = a.Unmap()
	if in := x.ips[a]; in != nil {
		return in, true
	}
	nd := x.v4
	if a.Is6() {
		nd = x.v6
	}
	if nd == nil {
		return nil, false
	}
	var best *Indicator
	b := a.AsSlice()
	for i := 0; nd != nil; i++ {
		if nd.ind != nil {
			best = nd.ind
		}
		if i == len(b)*8 {
			break
		}
		nd = nd.child[b[i/8]>>(7-i%8)&1]
	}
	return best, best != nil
}

// IP is Addr for an address written as text.
func (x *Index) IP(s string) (*Indicator, bool) {
	if x == nil || len(x.ips) == 0 && x.v4 == nil && x.v6 == nil {
		return nil, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return nil, false
	}
	return x.Addr(a)
}

// URL finds a listed URL: the exact normalised URL, or the URL without its
// query when the indicator has none.
func (x *Index) URL(raw string) (*Indicator, bool) {
	if !x.HasURLs() || strings.HasPrefix(raw, "/") {
		return nil, false // a web server's path has no host to match
	}
	// Most URLs are on hosts no indicator names: answer those without
	// parsing the URL. The quick host is exact for plain ASCII hosts; any
	// other host takes the full path.
	if h, plain := quickHost(raw); plain && !x.hosts[h] {
		return nil, false
	}
	k, ok := urlKey(raw)
	if !ok {
		return nil, false
	}
	if in := x.urls[k]; in != nil {
		return in, true
	}
	if i := strings.IndexByte(k, '?'); i >= 0 {
		if in := x.urls[k[:i]]; in != nil {
			return in, true
		}
	}
	return nil, false
}

// urlHost is the host[:port] of a URL key.
func urlHost(key string) string {
	if i := strings.IndexByte(key, '/'); i >= 0 {
		return key[:i]
	}
	return key
}

// quickHost returns the host[:port] of an absolute http(s) URL when it is
// plain lower-case ASCII with no userinfo, escapes or default port, that
// is when urlKey would give the same host; plain is false otherwise.
func quickHost(raw string) (host string, plain bool) {
	rest, ok := strings.CutPrefix(raw, "http://")
	def := ":80"
	if !ok {
		if rest, ok = strings.CutPrefix(raw, "https://"); !ok {
			return "", false
		}
		def = ":443"
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	h := rest[:end]
	if h == "" || strings.HasSuffix(h, def) || strings.HasSuffix(h, ".") {
		return "", false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':') {
			return "", false
		}
	}
	return h, true
}

// GateTerms is what a listed value leaves in a log line, for a gate that
// rules a line out before parsing it (cloud.IntelDetector): every listed
// domain and every name host of a listed URL (lower case, without port),
// which a matching line holds as text (case aside); the address hosts of
// listed URLs; and whether addresses or ranges are listed at all.
type GateTerms struct {
	Names    []string
	URLAddrs []netip.Addr
	Addrs    bool // IP or CIDR indicators
	URLs     bool // URL indicators (whose match decodes %XX escapes in the host)
}

// Terms returns the index's GateTerms.
func (x *Index) Terms() GateTerms {
	var g GateTerms
	if x == nil {
		return g
	}
	for d := range x.domains {
		g.Names = append(g.Names, d)
	}
	for h := range x.hosts {
		host := h
		if strings.HasPrefix(host, "[") {
			if i := strings.IndexByte(host, ']'); i > 0 {
				host = host[1:i]
			}
		} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
			host = host[:i]
		}
		if a, err := netip.ParseAddr(host); err == nil {
			g.URLAddrs = append(g.URLAddrs, a.Unmap())
			continue
		}
		g.Names = append(g.Names, host)
	}
	g.Addrs = len(x.ips) > 0 || x.v4 != nil || x.v6 != nil
	g.URLs = len(x.urls) > 0
	return g
}
