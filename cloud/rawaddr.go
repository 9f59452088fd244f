package cloud

import (
	"net/netip"
	"strings"
)

// scanAddrs calls fn with every IP address written in s that a content
// parser could hand to a model rule as an address field, and possibly
// more: a field value is a token of the line, so an address field's text
// lies inside a run of [0-9A-Fa-f:.] there. Within each run, every four
// dot-separated numbers in the form netip.ParseAddr accepts are an IPv4
// address (so "10.1.2.3" is found in "10.1.2.3.53" and in
// "::ffff:10.1.2.3", which addrField unmaps to it), and a run with two or
// more colons is tried as an IPv6 address, also without a trailing port.
// Reporting too much only costs a parse; missing one would miss an alert,
// so a run that looks like an IPv6 address ("::", or seven colons) yet
// does not parse makes scanAddrs return false: the line cannot be judged
// from its text and must be parsed.
func scanAddrs(s string, fn func(netip.Addr)) (judged bool) {
	judged = true
	for i := 0; i < len(s); {
		if !isV6Byte(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isV6Byte(s[j]) {
			j++
		}
		run := s[i:j]
		i = j
		for k := 0; k < len(run); {
			if run[k] < '0' || run[k] > '9' {
				k++
				continue
			}
			e := k
			for e < len(run) && (run[e] >= '0' && run[e] <= '9' || run[e] == '.') {
				e++
			}
			scanIPv4Run(run[k:e], fn)
			k = e
		}
		if strings.Count(run, ":") >= 2 && !scanIPv6Run(run, fn) {
			judged = false
		}
	}
	return judged
}

func isV6Byte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.'
}

// scanIPv4Run reports every a.b.c.d inside a run of digits and dots.
func scanIPv4Run(run string, fn func(netip.Addr)) {
	if strings.Count(run, ".") < 3 {
		return
	}
	var parts [16]string
	n := 0
	for p := range strings.SplitSeq(run, ".") {
		if n == len(parts) {
			break
		}
		parts[n] = p
		n++
	}
	for k := 0; k+4 <= n; k++ {
		var b [4]byte
		ok := true
		for m := 0; m < 4 && ok; m++ {
			p := parts[k+m]
			if p == "" || len(p) > 3 || len(p) > 1 && p[0] == '0' {
				ok = false
				break
			}
			v := 0
			for x := 0; x < len(p); x++ {
				v = v*10 + int(p[x]-'0')
			}
			ok = v <= 255
			b[m] = byte(v)
		}
		if ok {
			fn(netip.AddrFrom4(b))
		}
	}
}

// scanIPv6Run reports run (at least two colons) as an address when it is
// one, or is one followed by a port; false when it looks like an address
// and is not. Times (10:00:01) and MAC addresses (more colons, no "::")
// are not addresses.
func scanIPv6Run(run string, fn func(netip.Addr)) bool {
	run = strings.Trim(run, ".")
	found := false
	try := func(s string) {
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			fn(a.Unmap())
			found = true
		}
	}
	try(run)
	try(strings.TrimPrefix(run, ":"))
	for _, sep := range []byte{'.', ':'} {
		if k := strings.LastIndexByte(run, sep); k > 0 {
			try(run[:k])
		}
	}
	return found || !strings.Contains(run, "::") && strings.Count(run, ":") != 7
}
