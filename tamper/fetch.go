package tamper

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Fetcher gets published pages the way a visitor would, but never follows
// a redirect: the redirect itself is what is compared.
type Fetcher struct {
	Client   *http.Client
	MaxBytes int64
}

// NewFetcher returns a fetcher with a per-request timeout and body limit.
func NewFetcher(timeout time.Duration, maxBytes int64) *Fetcher {
	return &Fetcher{
		Client: &http.Client{
			Timeout:       timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		MaxBytes: maxBytes,
	}
}

// errTooLarge is a page over the size limit: compared as a change, never
// silently truncated.
var errTooLarge = errors.New("page larger than max_bytes")

// Fetch gets one URL and returns its page record and body.
func (f *Fetcher) Fetch(ctx context.Context, u *URL) (Page, []byte, error) {
	p := Page{URL: u.URL, Mode: u.Mode}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.URL, nil)
	if err != nil {
		return p, nil, err
	}
	req.Header.Set("User-Agent", "kyojin-tamper/1")
	resp, err := f.Client.Do(req)
	if err != nil {
		return p, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.MaxBytes+1))
	if err != nil {
		return p, nil, fmt.Errorf("read body: %w", err)
	}
	if int64(len(body)) > f.MaxBytes {
		return p, nil, errTooLarge
	}
	p.Status = resp.StatusCode
	p.Location = resp.Header.Get("Location")
	sum := sha256.Sum256(body)
	p.SHA256 = hex.EncodeToString(sum[:])
	norm := sha256.Sum256(Normalize(body, u.volatile))
	p.NormSHA256 = hex.EncodeToString(norm[:])
	if isHTML(resp.Header.Get("Content-Type"), body) {
		base, _ := url.Parse(u.URL)
		if p.Analysis, err = analyzeSafe(body, base); err != nil {
			return p, nil, err
		}
	}
	return p, body, nil
}

// analyzeSafe turns a panic on hostile markup into an error (the page is
// then raised as fetch-failed, not skipped).
func analyzeSafe(body []byte, base *url.URL) (a Analysis, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("html analysis: %v", r)
		}
	}()
	return Analyze(body, base), nil
}

func isHTML(ct string, body []byte) bool {
	if ct != "" {
		return strings.Contains(strings.ToLower(ct), "html")
	}
	return strings.Contains(strings.ToLower(http.DetectContentType(body)), "html")
}

// allowList is the site's allowlist plus the hosts of its own URLs.
func (s *Site) allowList() []string {
	out := slices.Clone(s.AllowDomains)
	for _, u := range s.URLs {
		if pu, err := url.Parse(u.URL); err == nil {
			out = append(out, strings.ToLower(pu.Hostname()))
		}
	}
	return out
}

// disallowed returns the targets in cur, not in base, outside allow.
func disallowed(cur, base, allow []string) []string {
	var out []string
	for _, t := range cur {
		if !slices.Contains(base, t) && !Allowed(t, allow) {
			out = append(out, t)
		}
	}
	return out
}

// ComparePage lists the changes between a page's baseline and a fetch.
func (s *Site) ComparePage(u *URL, base, cur *Page) []Change {
	allow := s.allowList()
	var out []Change
	add := func(kind, sev, ja, en string, targets []string) {
		out = append(out, Change{Tenant: s.Tenant, Site: s.ID, Kind: kind, Severity: sev, Detector: "fetch",
			URL: u.URL, Details: ja, DetailsEN: en, Targets: targets})
	}
	if cur.Status != base.Status || cur.Location != base.Location {
		var loc []string
		if cur.Location != "" {
			if pu, err := url.Parse(u.URL); err == nil {
				if l, err := pu.Parse(cur.Location); err == nil {
					loc = []string{l.String()}
				}
			}
		}
		if bad := disallowed(loc, nil, allow); len(bad) > 0 {
			add(KindRedirect, SevCritical, fmt.Sprintf("HTTP %d で許可外ドメインへ転送されます: %s", cur.Status, strings.Join(bad, ", ")),
				fmt.Sprintf("HTTP %d redirects outside the allowlist: %s", cur.Status, strings.Join(bad, ", ")), bad)
		} else {
			add(KindPageStatus, SevMedium, fmt.Sprintf("応答が %d %s から %d %s に変わりました", base.Status, base.Location, cur.Status, cur.Location),
				fmt.Sprintf("response changed from %d %s to %d %s", base.Status, base.Location, cur.Status, cur.Location), nil)
		}
	}
	if bad := disallowed(cur.Analysis.Scripts, base.Analysis.Scripts, allow); len(bad) > 0 {
		add(KindScript, SevCritical, "許可外ドメインのスクリプトが埋め込まれています: "+strings.Join(bad, ", "),
			"script injected from outside the allowlist: "+strings.Join(bad, ", "), bad)
	}
	if bad := disallowed(cur.Analysis.Frames, base.Analysis.Frames, allow); len(bad) > 0 {
		add(KindFrame, SevCritical, "許可外ドメインの iframe が埋め込まれています: "+strings.Join(bad, ", "),
			"frame injected from outside the allowlist: "+strings.Join(bad, ", "), bad)
	}
	if bad := disallowed(cur.Analysis.Redirects, base.Analysis.Redirects, allow); len(bad) > 0 {
		add(KindRedirect, SevCritical, "許可外ドメインへのリダイレクトがあります: "+strings.Join(bad, ", "),
			"redirect outside the allowlist: "+strings.Join(bad, ", "), bad)
	}
	var newInline int
	for _, h := range cur.Analysis.Inline {
		if !slices.Contains(base.Analysis.Inline, h) {
			newInline++
		}
	}
	if newInline > 0 {
		add(KindInlineScript, SevHigh, fmt.Sprintf("ベースラインにないインラインスクリプトが %d 個あります", newInline),
			fmt.Sprintf("%d inline script(s) not in the baseline", newInline), nil)
	}
	changed := cur.SHA256 != base.SHA256
	if u.Mode == "dynamic" {
		changed = cur.NormSHA256 != base.NormSHA256
	}
	if changed {
		sev := SevHigh
		if u.Mode == "dynamic" {
			sev = SevMedium
		}
		add(KindPageModified, sev, "ページの内容がベースラインと異なります ("+u.Mode+")", "page differs from the baseline ("+u.Mode+")", nil)
	}
	return out
}

// BaselineWarnings lists targets outside the allowlist already present
// when the baseline is taken: they are accepted into it, so say so.
func (s *Site) BaselineWarnings(p *Page) []string {
	allow := s.allowList()
	var out []string
	for _, l := range [][]string{p.Analysis.Scripts, p.Analysis.Frames, p.Analysis.Redirects} {
		out = append(out, disallowed(l, nil, allow)...)
	}
	return out
}
