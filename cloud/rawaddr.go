package cloud

import (
	"net/netip"
	"strconv"
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
	return scanAddrsV(s, true, fn)
}

// scanAddrsV is scanAddrs; with v6 false only IPv4 addresses are sought
// (a model with no IPv6 prefix: an IPv6 address cannot be inside it, and
// mapped IPv4 addresses are found through their IPv4 run all the same).
func scanAddrsV(s string, v6 bool, fn func(netip.Addr)) (judged bool) {
	judged = true
	// Every address holds a '.' or a ':': jump from one to the next
	// (IndexByte is vectorised) and read the run of address bytes around
	// it, instead of classifying every byte of the line.
	dot, colon := strings.IndexByte(s, '.'), -1
	if v6 {
		colon = strings.IndexByte(s, ':')
	}
	for i := 0; ; {
		k := dot
		if k < 0 || colon >= 0 && colon < k {
			k = colon
		}
		if k < 0 {
			return judged
		}
		start := k
		for start > i && addrByte[s[start-1]] != 0 {
			start--
		}
		j := k
		colons, dots := 0, 0
		for j < len(s) && addrByte[s[j]] != 0 {
			switch s[j] {
			case ':':
				colons++
			case '.':
				dots++
			}
			j++
		}
		run := s[start:j]
		if dots >= 3 {
			scanIPv4Run(run, fn)
		}
		if v6 && colons >= 2 && !scanIPv6Run(run, fn) {
			judged = false
		}
		i = j
		if dot >= 0 && dot < j {
			if dot = strings.IndexByte(s[j:], '.'); dot >= 0 {
				dot += j
			}
		}
		if colon >= 0 && colon < j {
			if colon = strings.IndexByte(s[j:], ':'); colon >= 0 {
				colon += j
			}
		}
	}
}

// addrByte marks [0-9A-Fa-f:.]: 1 for digits and '.', 2 for the others.
var addrByte = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = 1
	}
	t['.'] = 1
	for c := 'a'; c <= 'f'; c++ {
		t[c], t[c-'a'+'A'] = 2, 2
	}
	t[':'] = 2
	return t
}()

// scanIPv4Run reports every a.b.c.d inside run: each maximal stretch of
// digits and dots is read number by number, and every four consecutive
// numbers in the form netip.ParseAddr accepts (no leading zeros, ≤ 255)
// make an address ("10.1.2.3.53" gives 10.1.2.3 and 1.2.3.53).
func scanIPv4Run(run string, fn func(netip.Addr)) {
	var oct [4]byte
	n := 0 // consecutive valid numbers read, the last four in oct
	for k := 0; k < len(run); {
		c := run[k]
		if c < '0' || c > '9' {
			n = 0
			k++
			continue
		}
		e := k
		v := 0
		for e < len(run) && run[e] >= '0' && run[e] <= '9' {
			if e-k < 4 {
				v = v*10 + int(run[e]-'0')
			}
			e++
		}
		if e-k > 3 || e-k > 1 && c == '0' || v > 255 {
			n = 0
		} else {
			copy(oct[:3], oct[1:])
			oct[3] = byte(v)
			n++
			if n >= 4 {
				fn(netip.AddrFrom4(oct))
			}
		}
		k = e
		if k < len(run) && run[k] == '.' {
			k++
			if k == len(run) || run[k] < '0' || run[k] > '9' {
				n = 0
			}
			continue
		}
		n = 0 // the number did not continue with a dot
	}
}

// scanIPv6Run reports run (at least two colons) as an address when it is
// one, or is one followed by a port; false when it looks like an address
// and is not. Times (10:00:01) and MAC addresses (more colons, no "::")
// are not addresses.
func scanIPv6Run(run string, fn func(netip.Addr)) bool {
	run = strings.Trim(run, ".")
	// An address has "::", or seven colons (six before an IPv4 tail),
	// and perhaps one more before a port: clock times (05:00:01) and MAC
	// addresses (five or thirteen colons) are ruled out without parsing.
	if c := strings.Count(run, ":"); !strings.Contains(run, "::") && (c < 6 || c > 8) {
		return true
	}
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

// firstOctets returns the distinct first octets ("10.", "192.") of IPv4
// prefixes, for a search of the line by literal (an address inside a
// prefix of eight bits or more starts with its first octet, and a field
// value starts a token: see scanAddrs). fullScan is true when that cannot
// work: an IPv6 prefix, or one shorter than eight bits.
func firstOctets(ps []netip.Prefix) (lits []string, fullScan bool) {
	seen := map[string]bool{}
	for _, p := range ps {
		if !p.Addr().Is4() || p.Bits() < 8 {
			return nil, true
		}
		l := strconv.Itoa(int(p.Addr().As4()[0])) + "."
		if !seen[l] {
			seen[l] = true
			lits = append(lits, l)
		}
	}
	return lits, false
}

// ipv4At reads a.b.c.d at s[k:] in the form netip.ParseAddr accepts;
// the last number must not run on into more digits.
func ipv4At(s string, k int) (netip.Addr, bool) {
	var b [4]byte
	for m := 0; m < 4; m++ {
		if m > 0 {
			if k >= len(s) || s[k] != '.' {
				return netip.Addr{}, false
			}
			k++
		}
		e, v := k, 0
		for e < len(s) && s[e] >= '0' && s[e] <= '9' && e-k < 4 {
			v = v*10 + int(s[e]-'0')
			e++
		}
		if e == k || e-k > 3 || e-k > 1 && s[k] == '0' || v > 255 {
			return netip.Addr{}, false
		}
		b[m] = byte(v)
		k = e
	}
	return netip.AddrFrom4(b), true
}
