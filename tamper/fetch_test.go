package tamper

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestFetcherLimits: redirects are recorded, never followed; pages over
// max_bytes and slow servers fail instead of being compared partially.
func TestFetcherLimits(t *testing.T) {
	followed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/moved":
			http.Redirect(w, r, "https://evil.example.net/landing", http.StatusFound)
		case "/big":
			w.Write([]byte(strings.Repeat("x", 2048)))
		case "/slow":
			time.Sleep(time.Second)
		case "/landing":
			followed = true
		default:
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte(`<script src="https://evil.example.net/a.js"></script>`))
		}
	}))
	defer srv.Close()
	f := NewFetcher(500*time.Millisecond, 1024)
	ctx := context.Background()
	p, _, err := f.Fetch(ctx, &URL{URL: srv.URL + "/moved", Mode: "static"})
	if err != nil || p.Status != http.StatusFound || p.Location != "https://evil.example.net/landing" || followed {
		t.Errorf("redirect: %+v %v followed=%v", p, err, followed)
	}
	if _, _, err := f.Fetch(ctx, &URL{URL: srv.URL + "/big", Mode: "static"}); !errors.Is(err, errTooLarge) {
		t.Errorf("oversized page: %v", err)
	}
	if _, _, err := f.Fetch(ctx, &URL{URL: srv.URL + "/slow", Mode: "static"}); err == nil {
		t.Error("slow page did not time out")
	}
	p, _, err = f.Fetch(ctx, &URL{URL: srv.URL + "/", Mode: "static"})
	if err != nil || len(p.Analysis.Scripts) != 1 {
		t.Errorf("html page: %+v %v", p, err)
	}

	// Compared with a baseline taken before the redirect appeared.
	s := &Site{ID: "www", Tenant: "pref", AllowDomains: []string{"cdn.example.jp"}, URLs: []URL{{URL: srv.URL + "/moved", Mode: "static"}}}
	base := &Page{URL: srv.URL + "/moved", Status: 200, SHA256: "x", NormSHA256: "x"}
	cur, _, _ := f.Fetch(ctx, &s.URLs[0])
	var redirect *Change
	for _, c := range s.ComparePage(&s.URLs[0], base, &cur) {
		if c.Kind == KindRedirect {
			redirect = &c
		}
	}
	if redirect == nil || redirect.Severity != SevCritical || len(redirect.Targets) != 1 || redirect.Targets[0] != "https://evil.example.net/landing" {
		t.Errorf("redirect change %+v", redirect)
	}
}
