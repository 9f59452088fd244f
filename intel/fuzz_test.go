package intel

import (
	"testing"
	"time"
)

// FuzzParse: indicator files come from outside; no input may panic, and
// every indicator returned is normalised (normalising it again is a no-op)
// and can be indexed and matched.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"evil.example\n198.51.100.7\n203.0.113.0/24\nhttp://x.example/a?b=c\n",
		"value,kind,reason,expires\nevil.example,domain,r,2027-01-01\n",
		`{"type":"bundle","objects":[{"type":"indicator","id":"i","pattern":"[domain-name:value = 'a.example'] OR [url:value = 'http://b/\\'x']","pattern_type":"stix"}]}`,
		"例え.テスト.\nxn--zckzah\n::ffff:1.2.3.4\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
	}
	formats := []Format{FormatList, FormatCSV, FormatSTIX}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte, fm uint8) {
		inds, _, err := Parse(data, formats[int(fm)%len(formats)], Indicator{Reason: "fuzz"})
		if err != nil && len(inds) > 0 {
			t.Fatalf("error %v with %d indicators", err, len(inds))
		}
		for _, in := range inds {
			k, v, err := Normalize(in.Kind, in.Value)
			if err != nil || k != in.Kind || v != in.Value {
				t.Fatalf("%s %q not stable: %s %q %v", in.Kind, in.Value, k, v, err)
			}
		}
		x := NewIndex(inds, now)
		for _, in := range inds {
			if in.Expired(now) {
				continue
			}
			switch in.Kind {
			case Domain:
				if _, ok := x.Domain(in.Value); !ok {
					t.Fatalf("domain %q does not match itself", in.Value)
				}
			case IP:
				if _, ok := x.IP(in.Value); !ok {
					t.Fatalf("ip %q does not match itself", in.Value)
				}
			case URL:
				if _, ok := x.URL("http://" + in.Value); !ok {
					t.Fatalf("url %q does not match itself", in.Value)
				}
			}
		}
	})
}

// FuzzMatch: event values are hostile; lookups never panic, and a value
// that matches as a domain is found again in its normalised form.
func FuzzMatch(f *testing.F) {
	inds := []Indicator{}
	for _, v := range []string{"evil.example", "例え.テスト", "198.51.100.7", "203.0.113.0/24", "2001:db8::/32", "http://x.example/a?b=c"} {
		in := Indicator{Value: v, Reason: "r"}
		if err := in.Check(); err != nil {
			f.Fatal(err)
		}
		inds = append(inds, in)
	}
	x := NewIndex(inds, time.Now())
	for _, s := range []string{"a.evil.example.", "WWW.例え.テスト", "203.0.113.9", "http://x.example/a?b=c#f", "http://[2001:db8::1]:80/", "\xff.evil.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		x.URL(s)
		x.IP(s)
		if in, ok := x.Domain(s); ok {
			n, _ := NormalizeDomain(s)
			if in2, ok := x.Domain(n); !ok || in2 != in {
				t.Fatalf("%q matched %q but its normal form %q does not", s, in.Value, n)
			}
		}
	})
}
