package intel

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

func TestNormalize(t *testing.T) {
	cases := []struct {
		kind     Kind
		in       string
		wantKind Kind
		want     string
		err      bool
	}{
		{"", "Evil.Example.", Domain, "evil.example", false},
		{"", "*.evil.example", Domain, "evil.example", false},
		{"", "例え.テスト", Domain, "xn--r8jz45g.xn--zckzah", false},
		{"", "ＥＸＡＭＰＬＥ．ｃｏｍ", Domain, "example.com", false}, // full-width folded by IDNA mapping
		{"", "xn--r8jz45g.xn--zckzah.", Domain, "xn--r8jz45g.xn--zckzah", false},
		{"", "bücher.example", Domain, "xn--bcher-kva.example", false},
		{Domain, "198.51.100.7", "", "", true},
		{"", "bad domain", "", "", true},
		{"", "a..b", "", "", true},
		{"", strings.Repeat("a", 64) + ".example", "", "", true},
		{"", "198.51.100.7", IP, "198.51.100.7", false},
		{"", "::ffff:198.51.100.7", IP, "198.51.100.7", false},
		{"", "2001:DB8::1", IP, "2001:db8::1", false},
		{"", "198.51.100.9/24", CIDR, "198.51.100.0/24", false},
		{"", "198.51.100.9/32", IP, "198.51.100.9", false},
		{"", "10.0.0.0/4", "", "", true}, // too wide
		{"", "2001:db8::/32", CIDR, "2001:db8::/32", false},
		{"", "HTTP://Evil.Example:80/a/b.exe?x=1#frag", URL, "evil.example/a/b.exe?x=1", false},
		{"", "https://evil.example:443", URL, "evil.example/", false},
		{"", "https://evil.example:8443/p", URL, "evil.example:8443/p", false},
		{"", "http://例え.テスト/p", URL, "xn--r8jz45g.xn--zckzah/p", false},
		{"", "http://[2001:db8::1]/x", URL, "[2001:db8::1]/x", false},
		{URL, "ftp://evil.example/x", "", "", true},
		{"", "", "", "", true},
		{"hash", "abc", "", "", true},
	}
	for _, c := range cases {
		k, v, err := Normalize(c.kind, c.in)
		if c.err {
			if err == nil || !errors.Is(err, ErrValue) {
				t.Errorf("%q: want an ErrValue, got %s %q %v", c.in, k, v, err)
			}
			continue
		}
		if err != nil || k != c.wantKind || v != c.want {
			t.Errorf("%q: got %s %q %v, want %s %q", c.in, k, v, err, c.wantKind, c.want)
		}
	}
}

func mustIndicators(t *testing.T, vals ...string) []Indicator {
	t.Helper()
	var out []Indicator
	for _, v := range vals {
		in := Indicator{Value: v, Reason: "test", Expires: t0.Add(time.Hour)}
		if err := in.Check(); err != nil {
			t.Fatal(err)
		}
		out = append(out, in)
	}
	return out
}

// TestIndexMatch: what an event field matches.
func TestIndexMatch(t *testing.T) {
	inds := mustIndicators(t, "evil.example", "例え.テスト", "198.51.100.7", "203.0.113.0/24", "203.0.113.128/25",
		"2001:db8:bad::/48", "http://files.example/payload.exe", "http://q.example/run?id=7")
	expired := Indicator{Kind: Domain, Value: "old.example", Expires: t0.Add(-time.Second)}
	x := NewIndex(append(inds, expired), t0)
	if x.Len() != len(inds) {
		t.Fatalf("Len %d, want %d (expired not indexed)", x.Len(), len(inds))
	}
	type m struct {
		field, value string
		want         string // matched indicator value, "" for none
	}
	for _, c := range []m{
		{"domain", "evil.example", "evil.example"},
		{"domain", "EVIL.example.", "evil.example"},
		{"domain", "a.b.evil.example", "evil.example"},
		{"domain", "notevil.example", ""},
		{"domain", "evil.example.com", ""},
		{"domain", "example", ""},
		{"domain", "www.例え.テスト", "xn--r8jz45g.xn--zckzah"},
		{"domain", "www.xn--r8jz45g.xn--zckzah.", "xn--r8jz45g.xn--zckzah"},
		{"domain", "old.example", ""},
		{"domain", "bad host!", ""},
		{"ip", "198.51.100.7", "198.51.100.7"},
		{"ip", "::ffff:198.51.100.7", "198.51.100.7"},
		{"ip", "198.51.100.8", ""},
		{"ip", "203.0.113.5", "203.0.113.0/24"},
		{"ip", "203.0.113.200", "203.0.113.128/25"}, // most specific
		{"ip", "203.0.114.1", ""},
		{"ip", "2001:db8:bad:1::9", "2001:db8:bad::/48"},
		{"ip", "2001:db8:bae::1", ""},
		{"ip", "not an ip", ""},
		{"url", "http://files.example/payload.exe", "files.example/payload.exe"},
		{"url", "https://FILES.example:443/payload.exe?session=1", "files.example/payload.exe"},
		{"url", "http://files.example/other.exe", ""},
		{"url", "http://q.example/run?id=7", "q.example/run?id=7"},
		{"url", "http://q.example/run?id=8", ""},
		{"url", "http://q.example/run", ""},
	} {
		var got *Indicator
		var ok bool
		switch c.field {
		case "domain":
			got, ok = x.Domain(c.value)
		case "ip":
			got, ok = x.IP(c.value)
		case "url":
			got, ok = x.URL(c.value)
		}
		gv := ""
		if ok {
			gv = got.Value
		}
		if gv != c.want {
			t.Errorf("%s %q: matched %q, want %q", c.field, c.value, gv, c.want)
		}
	}
}

func TestParseFormats(t *testing.T) {
	d := Indicator{Tenant: "pref", Publisher: "県CSIRT", Reason: "feed", Expires: t0.Add(24 * time.Hour)}
	list := "# comment\nevil.example\n\n198.51.100.7 # trailing comment\ncidr:203.0.113.0/24\nhttp://x.example/a\nnot a value\n"
	got, bad, err := Parse([]byte(list), DetectFormat("feed.txt", []byte(list)), d)
	if err != nil || len(got) != 4 || len(bad) != 1 || bad[0].Line != 7 {
		t.Fatalf("list: %v %v %v", got, bad, err)
	}
	if got[0].Publisher != "県CSIRT" || got[0].Tenant != "pref" || got[2].Kind != CIDR {
		t.Errorf("defaults not applied: %+v", got[0])
	}
	csvData := "\ufeffValue,Kind,Reason,Expires,Level\nevil.example,,phishing,2027-01-01,critical\n198.51.100.7,ip,,,\nbad value,,,,\nx.example,,,not-a-date,\n"
	got, bad, err = Parse([]byte(csvData), DetectFormat("feed.csv", nil), d)
	if err != nil || len(got) != 2 || len(bad) != 2 {
		t.Fatalf("csv: %v %v %v", got, bad, err)
	}
	if got[0].Reason != "phishing" || got[0].Level != "critical" || got[0].Expires.Year() != 2027 || got[1].Reason != "feed" {
		t.Errorf("csv fields: %+v", got)
	}
	stix := `{"type":"bundle","id":"bundle--1","objects":[
 {"type":"identity","id":"identity--a","name":"JPCERT/CC (example)"},
 {"type":"indicator","id":"indicator--1","created_by_ref":"identity--a","name":"C2","pattern":"[domain-name:value = 'c2.example'] OR [ipv4-addr:value = '198.51.100.0/24']","pattern_type":"stix","valid_until":"2027-01-01T00:00:00Z"},
 {"type":"indicator","id":"indicator--2","name":"drop","pattern":"[url:value = 'http://d.example/x.exe']","pattern_type":"stix"},
 {"type":"indicator","id":"indicator--3","pattern":"[file:hashes.MD5 = 'abc']","pattern_type":"stix"},
 {"type":"indicator","id":"indicator--4","pattern":"alert tcp any any","pattern_type":"snort"},
 {"type":"indicator","id":"indicator--5","revoked":true,"pattern":"[domain-name:value = 'revoked.example']","pattern_type":"stix"}]}`
	got, bad, err = Parse([]byte(stix), DetectFormat("x", []byte(stix)), d)
	if err != nil || len(got) != 3 || len(bad) != 2 {
		t.Fatalf("stix: %+v %v %v", got, bad, err)
	}
	if got[0].Value != "c2.example" || got[0].Publisher != "JPCERT/CC (example)" || got[0].Ref != "indicator--1" || got[1].Kind != CIDR ||
		got[2].Kind != URL || got[2].Publisher != "県CSIRT" || got[0].Expires.Year() != 2027 {
		t.Errorf("stix: %+v", got)
	}
	for _, c := range []struct{ data, format, want string }{
		{`{"type":"report"}`, "stix", "want bundle"},
		{`{`, "stix", "STIX bundle"},
		{"kind,reason\nx,y\n", "csv", "value"},
		{strings.Repeat("a", maxLine+10), "list", "limited to"},
		{"x", "yaml", "unknown format"},
	} {
		_, _, err := Parse([]byte(c.data), Format(c.format), d)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %.20q: %v, want %q", c.format, c.data, err, c.want)
		}
	}
}

// TestPublishReachesEveryTenant: an indicator published from one tenant is
// in the shared index at once, persisted, and survives a reload; invalid
// batches publish nothing; publishers cannot be forged per indicator.
func TestPublishReachesEveryTenant(t *testing.T) {
	ctx := context.Background()
	st := &FileStore{Path: filepath.Join(t.TempDir(), "intel", "indicators.jsonl")}
	now := t0
	h, err := NewHub(ctx, st, nil, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	err = h.Publish(ctx, "city-a", "市CSIRT 山田", []Indicator{{Value: "c2.example", Reason: "incident INC-7", Publisher: "forged", Tenant: "city-b"}})
	if err != nil {
		t.Fatal(err)
	}
	in, ok := h.Index().Domain("beacon.c2.example")
	if !ok || in.Tenant != "city-a" || in.Publisher != "市CSIRT 山田" || !in.Expires.Equal(t0.Add(DefaultTTL)) {
		t.Fatalf("published indicator: %+v %v", in, ok)
	}
	for _, bad := range [][]Indicator{
		{{Value: "ok.example", Reason: "r"}, {Value: "not a domain", Reason: "r"}},
		{{Value: "noreason.example"}},
		{{Value: "past.example", Reason: "r", Expires: t0.Add(-time.Hour)}},
	} {
		if err := h.Publish(ctx, "city-a", "p", bad); err == nil {
			t.Errorf("batch %v published", bad)
		}
	}
	if _, ok := h.Index().Domain("ok.example"); ok {
		t.Error("part of an invalid batch was published")
	}
	if err := h.Publish(ctx, "", "p", nil); err == nil {
		t.Error("publish without a tenant accepted")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.Publish(ctx, "city-b", "pub", []Indicator{{Value: "198.51.100." + string(rune('1'+i)), Reason: "scan"}}); err != nil {
				t.Error(err)
			}
			h.Index().IP("198.51.100.1")
		}()
	}
	wg.Wait()
	h2, err := NewHub(ctx, st, nil, func() time.Time { return now })
	if err != nil || h2.Index().Len() != 9 || len(h2.List(false)) != 9 {
		t.Fatalf("reload: %v %d", err, h2.Index().Len())
	}
	now = t0.Add(DefaultTTL + time.Second)
	if err := h2.Reload(ctx); err != nil || h2.Index().Len() != 0 || len(h2.List(true)) != 9 {
		t.Errorf("after expiry: %d indexed, %d listed", h2.Index().Len(), len(h2.List(true)))
	}
}

// TestTwoProcessesShareTheFile: a hub (the console) publishes, another
// (the intake) sees the file change and reloads it.
func TestTwoProcessesShareTheFile(t *testing.T) {
	ctx := context.Background()
	path := Path(t.TempDir())
	intake := &FileStore{Path: path}
	intake.Changed()
	h1, err := NewHub(ctx, intake, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if intake.Changed() {
		t.Fatal("changed without a write")
	}
	console, err := NewHub(ctx, &FileStore{Path: path}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := console.Publish(ctx, "city-a", "CSIRT", []Indicator{{Value: "shared.example", Reason: "incident"}}); err != nil {
		t.Fatal(err)
	}
	if !intake.Changed() {
		t.Fatal("the publication did not change the file")
	}
	if err := h1.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if in, ok := h1.Index().Domain("www.shared.example"); !ok || in.Publisher != "CSIRT" {
		t.Fatalf("intake does not see the console's indicator: %v %v", in, ok)
	}
}

func TestRevoke(t *testing.T) {
	ctx := context.Background()
	st := &FileStore{Path: filepath.Join(t.TempDir(), "i.jsonl")}
	now := t0
	h, _ := NewHub(ctx, st, nil, func() time.Time { return now })
	if err := h.Publish(ctx, "city-a", "CSIRT", []Indicator{{Value: "fp.example", Reason: "suspected"}, {Value: "keep.example", Reason: "c2"}}); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(time.Hour)
	ok, err := h.Revoke(ctx, "pref", "県SOC", "FP.example.", "false positive: a municipal vendor")
	if err != nil || !ok {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	if ok, _ := h.Revoke(ctx, "pref", "県SOC", "never.example", "x"); ok {
		t.Error("revoked a value never published")
	}
	if _, ok := h.Index().Domain("fp.example"); ok {
		t.Error("revoked indicator still matches")
	}
	if _, ok := h.Index().Domain("keep.example"); !ok {
		t.Error("revocation removed another indicator")
	}
	h2, _ := NewHub(ctx, st, nil, func() time.Time { return now })
	all := h2.List(true)
	if _, ok := h2.Index().Domain("fp.example"); ok || len(all) != 2 || !strings.Contains(all[0].Reason+all[1].Reason, "revoked by 県SOC (pref): false positive") {
		t.Errorf("after reload: %+v", all)
	}
}
