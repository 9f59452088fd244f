package mailgate

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
)

// TestAuthenticate covers SPF, DKIM (a real Ed25519 signature made here)
// and DMARC alignment with DNS served from a static table (see
// staticResolver for why).
func TestAuthenticate(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	dns := testDNS()
	dns.txt["sel._domainkey.signed.example"] = []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
	dns.txt["_dmarc.signed.example"] = []string{"v=DMARC1; p=reject"}
	dns.txt["_dmarc.example.lg.jp"] = []string{"v=DMARC1; p=quarantine; sp=reject"}
	raw := "From: news@signed.example\r\nTo: k@city.lg.jp\r\nSubject: signed\r\n\r\nbody\r\n"
	var signed bytes.Buffer
	if err := dkim.Sign(&signed, strings.NewReader(raw), &dkim.SignOptions{Domain: "signed.example", Selector: "sel", Signer: priv}); err != nil {
		t.Fatal(err)
	}
	a := &Authenticator{Resolver: dns, Hostname: "mx.test", Timeout: 5 * time.Second, Log: slog.New(slog.DiscardHandler)}
	local, other := net.ParseIP("127.0.0.1"), net.ParseIP("198.51.100.7")
	tests := []struct {
		name, mailFrom, msg string
		ip                  net.IP
		spf, dkim, dmarc    string
		policy              string
	}{
		{"spf-aligned", "a@good.example", "From: x@good.example\r\n\r\nb\r\n", local, "pass", "", "pass", "reject"},
		{"spf-fail-dmarc-reject", "a@bank.example", "From: x@bank.example\r\n\r\nb\r\n", other, "fail", "", "fail", "reject"},
		{"dkim-aligned-spf-none", "bounce@unrelated.example", signed.String(), other, "none", "pass", "pass", "reject"},
		{"dkim-broken", "bounce@unrelated.example", strings.Replace(signed.String(), "body", "b0dy", 1), other, "none", "fail", "fail", "reject"},
		{"subdomain-policy", "a@city.example.lg.jp", "From: x@city.example.lg.jp\r\n\r\nb\r\n", other, "none", "", "fail", "reject"},
		{"no-dmarc-record", "a@good.example", "From: x@nodmarc.example\r\n\r\nb\r\n", local, "pass", "", "none", ""},
		{"two-from-addresses", "a@good.example", "From: x@good.example, y@bank.example\r\n\r\nb\r\n", local, "pass", "", "permerror", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := a.Check(context.Background(), tc.ip, "helo.example", tc.mailFrom, strings.NewReader(tc.msg))
			dk := ""
			if len(res.DKIM) > 0 {
				dk = res.DKIM[0].Result
			}
			if string(res.SPF) != tc.spf || dk != tc.dkim || res.DMARC != tc.dmarc || res.DMARCPolicy != tc.policy {
				t.Fatalf("got spf=%s dkim=%s dmarc=%s policy=%s, want %s %s %s %s", res.SPF, dk, res.DMARC, res.DMARCPolicy, tc.spf, tc.dkim, tc.dmarc, tc.policy)
			}
			if !strings.HasPrefix(res.Header, "mx.test;") || !strings.Contains(res.Header, "dmarc="+tc.dmarc) {
				t.Fatalf("Authentication-Results %q", res.Header)
			}
		})
	}
}

// TestAuthenticateRealDNS checks the production resolver path against
// real published records when the machine has Internet DNS (skipped in
// the closed test network).
func TestAuthenticateRealDNS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if _, err := net.DefaultResolver.LookupTXT(ctx, "_dmarc.gmail.com"); err != nil {
		t.Skipf("no Internet DNS here (%v)", err)
	}
	a := &Authenticator{Resolver: NewResolver(""), Hostname: "mx.test", Timeout: 10 * time.Second, Log: slog.New(slog.DiscardHandler)}
	// 192.0.2.1 (TEST-NET-1) is never authorised to send for gmail.com.
	res := a.Check(context.Background(), net.ParseIP("192.0.2.1"), "helo.example", "someone@gmail.com", strings.NewReader("From: someone@gmail.com\r\n\r\nb\r\n"))
	if res.SPF == "pass" || res.SPF == "temperror" || res.DMARC != "fail" || res.DMARCPolicy == "" {
		t.Fatalf("real DNS: spf=%s dmarc=%s policy=%s", res.SPF, res.DMARC, res.DMARCPolicy)
	}
}
