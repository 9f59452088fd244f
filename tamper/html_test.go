package tamper

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestAnalyze(t *testing.T) {
	base, _ := url.Parse("https://www.city.example.lg.jp/news/index.html")
	for _, tc := range []struct {
		name, html                 string
		scripts, frames, redirects []string
		inline                     int
	}{
		{name: "relative and absolute scripts",
			html:    `<script src="/js/a.js"></script><script src='lib.js'></script><SCRIPT SRC=https://cdn.example.jp/x.js></SCRIPT>`,
			scripts: []string{"https://cdn.example.jp/x.js", "https://www.city.example.lg.jp/js/a.js", "https://www.city.example.lg.jp/news/lib.js"}},
		{name: "base href changes resolution",
			html:    `<base href="https://evil.example.net/"><script src="x.js"></script>`,
			scripts: []string{"https://evil.example.net/x.js"}},
		{name: "frames, objects, embeds",
			html:   `<iframe src="//evil.example.net/f" width=0></iframe><object data="a.swf"></object><embed src="e.swf"><frame src="fr.html">`,
			frames: []string{"https://evil.example.net/f", "https://www.city.example.lg.jp/news/a.swf", "https://www.city.example.lg.jp/news/e.swf", "https://www.city.example.lg.jp/news/fr.html"}},
		{name: "meta refresh variants",
			html:      `<meta http-equiv="Refresh" content="0; URL='http://evil.example.net/a'"><meta http-equiv=refresh content="5;url=/local"><meta http-equiv=refresh content="30">`,
			redirects: []string{"http://evil.example.net/a", "https://www.city.example.lg.jp/local"}},
		{name: "javascript location",
			html:      `<script>if (1) { window.location.href = "https://evil.example.net/1"; location.replace('https://evil.example.net/2'); top.location="/ok"; window.open(` + "`https://evil.example.net/3`" + `) }</script>`,
			redirects: []string{"https://evil.example.net/1", "https://evil.example.net/2", "https://evil.example.net/3", "https://www.city.example.lg.jp/ok"}, inline: 1},
		{name: "event handlers are inline scripts",
			html:      `<body onload="location='https://evil.example.net/'"><img src=x onerror=alert(1)><a href=x>ok</a></body>`,
			redirects: []string{"https://evil.example.net/"}, inline: 2},
		{name: "whitespace does not make a new inline script",
			html: "<script>var a = 1;</script><script>\n  var   a = 1;\n</script><script> </script>", inline: 1},
		{name: "script text is not markup",
			html: `<script>document.write("<iframe src='https://evil.example.net/'></iframe>")</script>`, inline: 1},
		{name: "broken markup",
			html: `<p><scr<ipt><script src="/a.js"><iframe src=`, scripts: []string{"https://www.city.example.lg.jp/a.js"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Analyze([]byte(tc.html), base)
			if !slices.Equal(a.Scripts, tc.scripts) {
				t.Errorf("scripts %q, want %q", a.Scripts, tc.scripts)
			}
			if !slices.Equal(a.Frames, tc.frames) {
				t.Errorf("frames %q, want %q", a.Frames, tc.frames)
			}
			if !slices.Equal(a.Redirects, tc.redirects) {
				t.Errorf("redirects %q, want %q", a.Redirects, tc.redirects)
			}
			if len(a.Inline) != tc.inline {
				t.Errorf("%d inline scripts, want %d", len(a.Inline), tc.inline)
			}
		})
	}
}

func TestAllowed(t *testing.T) {
	allow := []string{"city.example.lg.jp", "cdn.example.jp"}
	for _, tc := range []struct {
		target string
		want   bool
	}{
		{"/js/a.js", true}, {"lib.js", true}, {"https://city.example.lg.jp/a", true}, {"https://www.city.example.lg.jp/a", true},
		{"http://CDN.example.jp:8080/x.js", true}, {"https://cdn.example.jp./x.js", true},
		{"https://evil.example.net/", false}, {"https://city.example.lg.jp.evil.example.net/", false},
		{"https://notcity.example.lg.jp/", false}, {"//evil.example.net/x.js", false},
		{"javascript:alert(1)", false}, {"data:text/javascript,alert(1)", false}, {"%zz", false},
	} {
		if got := Allowed(tc.target, allow); got != tc.want {
			t.Errorf("Allowed(%q) = %v, want %v", tc.target, got, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	date := regexp.MustCompile(`\d{4}年\d{1,2}月\d{1,2}日`)
	for _, tc := range []struct {
		name, a, b string
		extra      []*regexp.Regexp
		same       bool
	}{
		{name: "whitespace", a: "<p>a  b</p>\n\n<p>c</p>", b: "<p>a b</p> <p>c</p>", same: true},
		{name: "csrf hidden input", a: `<input type="hidden" name="csrf_token" value="abc123">`, b: `<input type="hidden" name="csrf_token" value="zzz999">`, same: true},
		{name: "csrf value before name", a: `<input value='a1' name=authenticity_token>`, b: `<input value='b2' name=authenticity_token>`, same: true},
		{name: "csrf meta", a: `<meta name="csrf-token" content="x1">`, b: `<meta name="csrf-token" content="y2">`, same: true},
		{name: "nonce", a: `<script nonce="r4nd0m">var a;</script>`, b: `<script nonce="0th3r">var a;</script>`, same: true},
		{name: "iso timestamp", a: `更新 2026-11-22T07:00:01+09:00`, b: `更新 2026-11-22T07:05:59+09:00`, same: true},
		{name: "configured japanese date", a: "更新日 2026年11月22日", b: "更新日 2026年11月23日", extra: []*regexp.Regexp{date}, same: true},
		{name: "japanese date unconfigured", a: "更新日 2026年11月22日", b: "更新日 2026年11月23日"},
		{name: "ordinary input value is content", a: `<input name="q" value="a">`, b: `<input name="q" value="b">`},
		{name: "injected script survives", a: `<p>news</p>`, b: `<p>news</p><script src="https://evil.example.net/x.js"></script>`},
		{name: "text change survives", a: `<p>市長</p>`, b: `<p>副市長</p>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			na, nb := Normalize([]byte(tc.a), tc.extra), Normalize([]byte(tc.b), tc.extra)
			if (string(na) == string(nb)) != tc.same {
				t.Errorf("same=%v, want %v:\n%s\n%s", string(na) == string(nb), tc.same, na, nb)
			}
		})
	}
}

func FuzzAnalyze(f *testing.F) {
	for _, s := range []string{
		`<script src="/a.js"></script><iframe src=//x.example/></iframe>`,
		`<meta http-equiv=refresh content="0;url=http://x.example/">`,
		`<base href="http://b.example/"><script>location.href="/x"</script>`,
		`<body onload="window.open('http://x')">`, "<scr\x00ipt>", "",
	} {
		f.Add([]byte(s))
	}
	base, _ := url.Parse("https://www.city.example.lg.jp/")
	f.Fuzz(func(t *testing.T, b []byte) {
		a := Analyze(b, base)
		for _, l := range [][]string{a.Scripts, a.Frames, a.Redirects, a.Inline} {
			if !slices.IsSorted(l) {
				t.Fatalf("unsorted %q", l)
			}
		}
		for _, h := range a.Inline {
			if len(h) != 64 {
				t.Fatalf("inline hash %q", h)
			}
		}
		// Normalisation is idempotent and never grows the page.
		n := Normalize(b, nil)
		if len(n) > len(b) {
			t.Fatalf("normalised page grew: %d > %d", len(n), len(b))
		}
		if n2 := Normalize(n, nil); string(n2) != string(n) && utf8.Valid(b) && !strings.Contains(string(b), "\x00") {
			t.Fatalf("not idempotent:\n%q\n%q", n, n2)
		}
	})
}
