package notify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/kyojin/kyojin/mailgate/postfixtest"
)

// selfSigned writes a certificate for 127.0.0.1 and localhost (and extra
// IPs) and its key as PEM files readable by the postfix user.
func selfSigned(t testing.TB, ips ...net.IP) (certFile, keyFile string, cert tls.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: append([]net.IP{net.IPv4(127, 0, 0, 1)}, ips...),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := os.MkdirTemp("/tmp", "kyojin-notify-tls-")
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
	os.WriteFile(certFile, certPEM, 0o644)
	os.WriteFile(keyFile, keyPEM, 0o644)
	cert, err = tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, cert
}

func mailConfig(t testing.TB, addr, smtpExtra, routeExtra string) *Config {
	t.Helper()
	y := fmt.Sprintf(`outbox:
  dir: %s
  retry_base: 1m
smtp:
  address: %s
  from: kyojin-soc@pref.example.lg.jp
  helo: soc.pref.example.lg.jp
  timeout: 10s
%sroutes:
  - name: csirt
    mail: [desk@csirt.test, lead@csirt.test]
%s`, t.TempDir(), addr, smtpExtra, routeExtra)
	c, diags := ParseConfig("mail.yaml", []byte(y))
	if diags.HasErrors() {
		var b bytes.Buffer
		diags.Write(&b, "en")
		t.Fatalf("%s\n%s", b.String(), y)
	}
	return c
}

// waitDelivered waits until Postfix stored n messages in the maildir.
func waitDelivered(t *testing.T, in *postfixtest.Instance, n int) map[string]int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ids := in.MessageIDs()
		if len(ids) >= n {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("postfix delivered %d of %d:\n%s", len(ids), n, in.Log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkMail parses a delivered message like a mail client would.
func checkMail(t *testing.T, raw []byte, want Rendered) *mail.Message {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var dec mime.WordDecoder
	subj, err := dec.DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subj != want.Subject {
		t.Errorf("subject %q (%v), want %q", subj, err, want.Subject)
	}
	for _, line := range strings.Split(string(raw[:bytes.Index(raw, []byte("\n\n"))]), "\n") {
		if len(line) > 998 || strings.HasPrefix(line, "Subject:") && !strings.Contains(line, "=?UTF-8?B?") {
			t.Errorf("header line %q", line)
		}
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if mt, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type")); mt != "text/plain" || !strings.EqualFold(params["charset"], "utf-8") {
		t.Errorf("Content-Type %q", msg.Header.Get("Content-Type"))
	}
	if msg.Header.Get("MIME-Version") != "1.0" || msg.Header.Get("Auto-Submitted") != "auto-generated" || msg.Header.Get("Content-Transfer-Encoding") != "base64" {
		t.Errorf("headers %v", msg.Header)
	}
	body, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, msg.Body))
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	if got := strings.ReplaceAll(string(body), "\r\n", "\n"); got != want.Body {
		t.Errorf("body\n%s\nwant\n%s", got, want.Body)
	}
	return msg
}

// TestMailThroughPostfix: a real Postfix receives the notification; the
// message reads back with the Japanese subject and body intact.
func TestMailThroughPostfix(t *testing.T) {
	in := postfixtest.Start(t, postfixtest.Options{Name: "notify", Domains: []string{"csirt.test"}})
	c := mailConfig(t, in.Addr, "", "")
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	m := sample(KindAlert)
	if n, err := d.Enqueue(t.Context(), m); n != 2 || err != nil {
		t.Fatalf("enqueue %d %v", n, err)
	}
	if n := d.Process(t.Context()); n != 2 {
		l, _ := ListOutbox(c.Outbox.Dir)
		t.Fatalf("delivered %d: %s\n%s", n, brief(l.Pending), in.Log())
	}
	ids := waitDelivered(t, in, 2)
	want, _ := Render(m, "ja")
	for id := range ids {
		if !strings.HasSuffix(id, "@pref.example.lg.jp>") {
			t.Errorf("Message-ID %s", id)
		}
		msg := checkMail(t, in.Delivered(id), want)
		if to := msg.Header.Get("To"); to != "desk@csirt.test" && to != "lead@csirt.test" {
			t.Errorf("To %q", to)
		}
		if msg.Header.Get("X-Kyojin-Kind") != "alert" || msg.Header.Get("X-Kyojin-Tenant") != "kakuu-city" {
			t.Errorf("kyojin headers %v", msg.Header)
		}
	}
	if !strings.Contains(want.Body, "令和8年11月22日") {
		t.Error("body without 和暦")
	}
}

// TestMailSTARTTLSPostfix: Postfix that requires TLS; the certificate is
// verified against ca_file; without it, nothing is sent and the delivery
// stays pending.
func TestMailSTARTTLSPostfix(t *testing.T) {
	certFile, keyFile, _ := selfSigned(t)
	in := postfixtest.Start(t, postfixtest.Options{Name: "notifytls", Domains: []string{"csirt.test"}, Extra: []string{
		"smtpd_tls_security_level = encrypt", "smtpd_tls_cert_file = " + certFile, "smtpd_tls_key_file = " + keyFile,
		"smtpd_tls_received_header = yes"},
		Master: []string{"tlsmgr unix - - n 1000? 1 tlsmgr"}})
	// Untrusted certificate: refused by us, retried later.
	c := mailConfig(t, in.Addr, "", "")
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	m := sample(KindIncidentOpened)
	d.Enqueue(t.Context(), m)
	if d.Process(t.Context()) != 0 {
		t.Fatal("delivered over an unverified certificate")
	}
	l, _ := ListOutbox(c.Outbox.Dir)
	if len(l.Pending) != 2 || !strings.Contains(l.Pending[0].LastError, "certificate") {
		t.Fatalf("pending %s", brief(l.Pending))
	}
	// Trusted: delivered over TLS.
	c = mailConfig(t, in.Addr, "  ca_file: "+certFile+"\n", "")
	d = newDispatcher(t, c, &clock{t: time.Now()}, nil)
	d.Enqueue(t.Context(), m)
	if n := d.Process(t.Context()); n != 2 {
		t.Fatalf("delivered %d\n%s", n, in.Log())
	}
	want, _ := Render(m, "ja")
	for id := range waitDelivered(t, in, 2) {
		raw := in.Delivered(id)
		checkMail(t, raw, want)
		if !bytes.Contains(raw, []byte("(using TLSv1.")) {
			t.Errorf("not received over TLS:\n%s", raw[:bytes.Index(raw, []byte("\n\n"))])
		}
	}
}

// smtpServer is a real SMTP server (go-smtp) for what a private Postfix
// cannot show without a SASL daemon: AUTH PLAIN, and a server that is not
// on loopback.
type smtpServer struct {
	mu       sync.Mutex
	authUser []string
	authPass []string
	data     [][]byte
	addr     string
}

type smtpSession struct{ s *smtpServer }

func (ss *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }
func (ss *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		ss.s.mu.Lock()
		defer ss.s.mu.Unlock()
		ss.s.authUser = append(ss.s.authUser, user)
		ss.s.authPass = append(ss.s.authPass, pass)
		if pass != smtpPassword {
			return errors.New("bad password")
		}
		return nil
	}), nil
}
func (ss *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (ss *smtpSession) Data(r io.Reader) error {
	b, _ := io.ReadAll(r)
	ss.s.mu.Lock()
	ss.s.data = append(ss.s.data, b)
	ss.s.mu.Unlock()
	return nil
}
func (ss *smtpSession) Reset()        {}
func (ss *smtpSession) Logout() error { return nil }

func startSMTP(t *testing.T, host string, cert *tls.Certificate) *smtpServer {
	return startSMTPMode(t, host, cert, false)
}

// startSMTPMode with implicit set speaks TLS from the first byte (port 465
// style, RFC 8314).
func startSMTPMode(t *testing.T, host string, cert *tls.Certificate, implicit bool) *smtpServer {
	s := &smtpServer{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s}, nil }))
	srv.Domain = "relay.test"
	srv.AllowInsecureAuth = true // let a careless client try: ours must not
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		t.Skipf("cannot listen on %s: %v", host, err)
	}
	if implicit {
		l = tls.NewListener(l, srv.TLSConfig)
	}
	s.addr = l.Addr().String()
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return s
}

func TestMailAuthPlainOverTLSOnly(t *testing.T) {
	t.Setenv("KYOJIN_TEST_SMTP_PASSWORD", smtpPassword)
	certFile, _, cert := selfSigned(t)
	auth := "  username: kyojin\n  password: {env: KYOJIN_TEST_SMTP_PASSWORD}\n"
	// STARTTLS offered: authenticated over TLS, message accepted.
	s := startSMTP(t, "127.0.0.1", &cert)
	c := mailConfig(t, s.addr, auth+"  ca_file: "+certFile+"\n", "")
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	d.Enqueue(t.Context(), sample(KindAlert))
	if n := d.Process(t.Context()); n != 2 {
		l, _ := ListOutbox(c.Outbox.Dir)
		t.Fatalf("delivered %d: %s", n, brief(append(l.Pending, l.Dead...)))
	}
	if len(s.authUser) != 2 || s.authUser[0] != "kyojin" || s.authPass[0] != smtpPassword || len(s.data) != 2 {
		t.Errorf("server saw auth %v, %d messages", s.authUser, len(s.data))
	}
	// A loopback server without STARTTLS: the password is never sent.
	plain := startSMTP(t, "127.0.0.1", nil)
	c = mailConfig(t, plain.addr, auth, "")
	d = newDispatcher(t, c, &clock{t: time.Now()}, nil)
	d.Enqueue(t.Context(), sample(KindAlert))
	d.Process(t.Context())
	if len(plain.authPass) != 0 || len(plain.data) != 0 {
		t.Errorf("credentials or mail sent in clear: %v", plain.authUser)
	}
	l, _ := ListOutbox(c.Outbox.Dir)
	if len(l.Dead) != 2 || !strings.Contains(l.Dead[0].LastError, "without TLS") {
		t.Errorf("dead %s", brief(l.Dead))
	}
}

// TestMailRefusesPlaintextRemote: a server that is not on loopback and
// does not offer STARTTLS gets nothing.
func TestMailRefusesPlaintextRemote(t *testing.T) {
	var host string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			host = ipn.IP.String()
			break
		}
	}
	if host == "" {
		t.Skip("no non-loopback IPv4 address on this machine")
	}
	s := startSMTP(t, host, nil)
	c := mailConfig(t, s.addr, "", "")
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	d.Enqueue(t.Context(), sample(KindAlert))
	if d.Process(t.Context()) != 0 || len(s.data) != 0 {
		t.Fatal("mail sent without TLS to a remote server")
	}
	l, _ := ListOutbox(c.Outbox.Dir)
	if len(l.Pending) != 2 || l.Pending[0].LastError != "server does not offer STARTTLS" {
		t.Errorf("pending %s", brief(l.Pending))
	}
	// With STARTTLS on the same address, it goes.
	certFile, _, cert := selfSigned(t, net.ParseIP(host))
	s2 := startSMTP(t, host, &cert)
	c = mailConfig(t, s2.addr, "  ca_file: "+certFile+"\n", "")
	d = newDispatcher(t, c, &clock{t: time.Now()}, nil)
	d.Enqueue(t.Context(), sample(KindAlert))
	if n := d.Process(t.Context()); n != 2 || len(s2.data) != 2 {
		l, _ := ListOutbox(c.Outbox.Dir)
		t.Fatalf("delivered %d: %s", n, brief(l.Pending))
	}
}

func TestSubjectEncoding(t *testing.T) {
	it := &Item{ID: "x", Kind: KindTest, Rendered: Rendered{Lang: "ja", Subject: strings.Repeat("長い件名", 30) + "\r\nBcc: x@y", Body: "本文\n"}}
	raw := buildMail("a@b.example", "c@d.example", it, when)
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header.Get("Bcc") != "" {
		t.Fatal("header injected")
	}
	var dec mime.WordDecoder
	s, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
	if !strings.HasPrefix(s, "長い件名長い件名") || strings.ContainsAny(s, "\r\n") {
		t.Errorf("subject %q", s)
	}
	for _, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 78 {
			t.Errorf("line of %d characters: %q", len(line), line)
		}
	}
}

func TestMailImplicitTLS(t *testing.T) {
	t.Setenv("KYOJIN_TEST_SMTP_PASSWORD", smtpPassword)
	certFile, _, cert := selfSigned(t)
	s := startSMTPMode(t, "127.0.0.1", &cert, true)
	c := mailConfig(t, s.addr, "  tls: tls\n  ca_file: "+certFile+"\n  username: kyojin\n  password: {env: KYOJIN_TEST_SMTP_PASSWORD}\n", "")
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	d.Enqueue(t.Context(), sample(KindTest))
	if n := d.Process(t.Context()); n != 2 || len(s.data) != 2 || len(s.authPass) != 2 {
		l, _ := ListOutbox(c.Outbox.Dir)
		t.Fatalf("delivered %d: %s", n, brief(append(l.Pending, l.Dead...)))
	}
}

// TestLadderByMail: an unacknowledged incident reaches the desk, then the
// lead, by real mail, each in Japanese.
func TestLadderByMail(t *testing.T) {
	in := postfixtest.Start(t, postfixtest.Options{Name: "notifyladder", Domains: []string{"csirt.test"}})
	c := mailConfig(t, in.Addr, "", `  - {name: desk, explicit: true, mail: [desk@csirt.test]}
  - {name: lead, explicit: true, mail: [lead@csirt.test]}
ladders:
  - name: incident
    steps:
      - {after: 0s, level: CSIRT窓口, route: desk}
      - {after: 30m, level: CSIRT責任者, route: lead}
`)
	clk := &clock{t: time.Now()}
	d := newDispatcher(t, c, clk, AckerFunc(func(context.Context, Ref) (bool, error) { return false, nil }))
	m := sample(KindIncidentOpened)
	m.Ref = Ref{Kind: "incident", ID: "INC-9", Tenant: "kakuu-city"}
	if err := d.Escalate(t.Context(), "incident", m); err != nil {
		t.Fatal(err)
	}
	d.Process(t.Context())
	clk.Advance(30 * time.Minute)
	d.Process(t.Context())
	var dec mime.WordDecoder
	subjects := map[string]string{}
	for id := range waitDelivered(t, in, 2) {
		msg, err := mail.ReadMessage(bytes.NewReader(in.Delivered(id)))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := dec.DecodeHeader(msg.Header.Get("Subject"))
		subjects[msg.Header.Get("To")] = s
	}
	if !strings.Contains(subjects["desk@csirt.test"], "[エスカレーション] CSIRT窓口へ") || !strings.Contains(subjects["lead@csirt.test"], "[エスカレーション] CSIRT責任者へ") {
		t.Errorf("subjects %v", subjects)
	}
}
