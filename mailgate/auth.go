package mailgate

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/mail"
	"strings"
	"time"

	"blitiri.com.ar/go/spf"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-msgauth/dmarc"
	"golang.org/x/net/publicsuffix"
)

// Resolver is the DNS the authentication checks use. *net.Resolver
// satisfies it; tests serve a static table (no Internet DNS here), and
// production points a net.Resolver at the configured server.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// NewResolver returns the system resolver, or one that asks server
// (host:port) only.
func NewResolver(server string) Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}

// AuthResult is the sender authentication outcome of one message.
type AuthResult struct {
	SPF         spf.Result `json:"spf"`
	MailFrom    string     `json:"smtp_mailfrom,omitempty"`
	DKIM        []DKIMSig  `json:"dkim,omitempty"`
	FromDomain  string     `json:"header_from_domain,omitempty"`
	DMARC       string     `json:"dmarc"` // pass, fail, none, temperror, permerror
	DMARCPolicy string     `json:"dmarc_policy,omitempty"`
	Header      string     `json:"-"` // Authentication-Results value
}

// DKIMSig is one verified (or failed) signature.
type DKIMSig struct {
	Domain string `json:"d"`
	Result string `json:"result"`
}

// Authenticator checks SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489).
type Authenticator struct {
	Resolver Resolver
	Hostname string // authserv-id in Authentication-Results
	Timeout  time.Duration
	Log      *slog.Logger
}

// Check authenticates a message whose header and body are in r.
func (a *Authenticator) Check(ctx context.Context, ip net.IP, helo, mailFrom string, r io.Reader) *AuthResult {
	ctx, cancel := context.WithTimeout(ctx, a.Timeout)
	defer cancel()
	res := &AuthResult{MailFrom: mailFrom}
	spfDomain := domainOf(mailFrom)
	if spfDomain == "" {
		spfDomain = helo // RFC 7208 §2.4: null reverse-path → HELO identity
	}
	sender := mailFrom
	if sender == "" {
		sender = "postmaster@" + helo
	}
	var err error
	res.SPF, err = spf.CheckHostWithSender(ip, helo, sender, spf.WithContext(ctx), spf.WithResolver(a.Resolver))
	if err != nil {
		a.Log.Debug("spf", "ip", ip.String(), "domain", spfDomain, "result", res.SPF, "err", err)
	}

	lookupTXT := func(name string) ([]string, error) { return a.Resolver.LookupTXT(ctx, name) }
	br := bufio.NewReaderSize(r, 64<<10)
	// DKIM reads the header itself; peek enough to find From as well.
	hdrBytes, _ := br.Peek(br.Size())
	vs, err := dkim.VerifyWithOptions(br, &dkim.VerifyOptions{LookupTXT: lookupTXT, MaxVerifications: 5})
	if err != nil && !errors.Is(err, dkim.ErrTooManySignatures) {
		a.Log.Debug("dkim", "err", err)
	}
	for _, v := range vs {
		r := "pass"
		switch {
		case v.Err == nil:
		case dkim.IsTempFail(v.Err):
			r = "temperror"
		case dkim.IsPermFail(v.Err):
			r = "permerror"
		default:
			r = "fail"
		}
		res.DKIM = append(res.DKIM, DKIMSig{Domain: v.Domain, Result: r})
	}

	h, _ := textproto.ReadHeader(bufio.NewReader(strings.NewReader(string(hdrBytes))))
	res.FromDomain = fromDomain(h.Get("From"))
	a.dmarc(res, spfDomain, lookupTXT)

	results := []authres.Result{&authres.SPFResult{Value: authres.ResultValue(res.SPF), From: mailFrom, Helo: helo}}
	if len(res.DKIM) == 0 {
		results = append(results, &authres.DKIMResult{Value: authres.ResultNone})
	}
	for _, d := range res.DKIM {
		results = append(results, &authres.DKIMResult{Value: authres.ResultValue(d.Result), Domain: d.Domain})
	}
	results = append(results, &authres.DMARCResult{Value: authres.ResultValue(res.DMARC), From: res.FromDomain})
	res.Header = authres.Format(a.Hostname, results)
	return res
}

// dmarc evaluates RFC 7489 §6.6: pass when SPF or DKIM passes for a domain
// aligned with the From domain.
func (a *Authenticator) dmarc(res *AuthResult, spfDomain string, lookupTXT func(string) ([]string, error)) {
	if res.FromDomain == "" {
		res.DMARC = "permerror" // no usable From: (RFC 7489 §6.6.1)
		return
	}
	org := orgDomain(res.FromDomain)
	rec, err := dmarc.LookupWithOptions(res.FromDomain, &dmarc.LookupOptions{LookupTXT: lookupTXT})
	sub := false
	if errors.Is(err, dmarc.ErrNoPolicy) && org != res.FromDomain {
		rec, err = dmarc.LookupWithOptions(org, &dmarc.LookupOptions{LookupTXT: lookupTXT})
		sub = true
	}
	switch {
	case errors.Is(err, dmarc.ErrNoPolicy):
		res.DMARC = "none"
		return
	case err != nil && dmarc.IsTempFail(err):
		res.DMARC = "temperror"
		return
	case err != nil:
		res.DMARC = "permerror"
		return
	}
	pol := rec.Policy
	if sub && rec.SubdomainPolicy != "" {
		pol = rec.SubdomainPolicy
	}
	res.DMARCPolicy = string(pol)
	aligned := func(d string, mode dmarc.AlignmentMode) bool {
		if mode == dmarc.AlignmentStrict {
			return strings.EqualFold(d, res.FromDomain)
		}
		return d != "" && strings.EqualFold(orgDomain(d), org)
	}
	if res.SPF == spf.Pass && aligned(spfDomain, rec.SPFAlignment) {
		res.DMARC = "pass"
		return
	}
	for _, d := range res.DKIM {
		if d.Result == "pass" && aligned(d.Domain, rec.DKIMAlignment) {
			res.DMARC = "pass"
			return
		}
	}
	res.DMARC = "fail"
}

func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(strings.TrimSuffix(addr[i+1:], "."))
	}
	return ""
}

// fromDomain is the RFC5322.From domain; several or none → "".
func fromDomain(v string) string {
	list, err := mail.ParseAddressList(v)
	if err != nil || len(list) != 1 {
		return ""
	}
	return domainOf(list[0].Address)
}

// orgDomain is the organizational domain (RFC 7489 §3.2) via the public
// suffix list: city.example.lg.jp → example.lg.jp.
func orgDomain(d string) string {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	if o, err := publicsuffix.EffectiveTLDPlusOne(d); err == nil {
		return o
	}
	return d
}
