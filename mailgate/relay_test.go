package mailgate

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
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kyojin/kyojin/clamd/clamdtest"
	"github.com/kyojin/kyojin/internal/testdaemon"
	"github.com/kyojin/kyojin/mailgate/queue"
)

// staticResolver serves DNS from a table. The tests run without Internet
// DNS, so SPF/DKIM/DMARC records are served from here; production uses
// net.Resolver (optionally pinned to auth.dns_server).
type staticResolver struct {
	txt map[string][]string
	ip  map[string][]net.IPAddr
}

var errNX = &net.DNSError{Err: "no such host", IsNotFound: true}

func (s *staticResolver) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := s.txt[strings.TrimSuffix(strings.ToLower(name), ".")]; ok {
		return v, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}
func (s *staticResolver) LookupMX(context.Context, string) ([]*net.MX, error) { return nil, errNX }
func (s *staticResolver) LookupIPAddr(_ context.Context, h string) ([]net.IPAddr, error) {
	if v, ok := s.ip[h]; ok {
		return v, nil
	}
	return nil, errNX
}
func (s *staticResolver) LookupAddr(context.Context, string) ([]string, error) { return nil, errNX }

// sink is a downstream SMTP server that stores what it receives. It can
// refuse recipients permanently (local part "gone") or fail temporarily
// for the first tempFails transactions.
type sink struct {
	lmtp      bool
	mu        sync.Mutex
	msgs      []sinkMsg
	tempFails int
	addr      string
	srv       *smtp.Server
}

type sinkMsg struct {
	from string
	to   []string
	data []byte
}

func startSink(t *testing.T) *sink { return startSinkProto(t, false) }

func startSinkProto(t *testing.T, lmtp bool) *sink {
	t.Helper()
	s := &sink{lmtp: lmtp}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	s.srv.Domain = "lgwan.test"
	s.srv.LMTP = lmtp
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = l.Addr().String()
	go s.srv.Serve(l)
	t.Cleanup(func() { s.srv.Close() })
	return s
}

func (s *sink) messages() []sinkMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sinkMsg(nil), s.msgs...)
}

func (s *sink) wait(t *testing.T, n int) []sinkMsg {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := s.messages(); len(m) >= n {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("downstream got %d messages, want %d", len(s.messages()), n)
	return nil
}

type sinkSession struct {
	s    *sink
	from string
	to   []string
}

func (ss *sinkSession) Reset()        { ss.from, ss.to = "", nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(f string, _ *smtp.MailOptions) error {
	ss.from = f
	return nil
}
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if strings.HasPrefix(to, "gone@") {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	ss.to = append(ss.to, to)
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.s.mu.Lock()
	defer ss.s.mu.Unlock()
	if ss.s.tempFails > 0 {
		ss.s.tempFails--
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	ss.s.msgs = append(ss.s.msgs, sinkMsg{ss.from, ss.to, b})
	return nil
}

// selfSigned writes a certificate and key for STARTTLS.
func selfSigned(t testing.TB, dir string) (string, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mx.test"}, DNSNames: []string{"mx.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	cert, keyf := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, keyf
}

// testConfig writes a sanitize policy (clamd off, quarantine on) and a
// relay configuration into dir.
func testConfig(t testing.TB, dir, downstream, extra string) string {
	return testConfigClamd(t, dir, downstream, extra, "")
}

// testConfigClamd enables clamd at clamdAddr when it is not "".
func testConfigClamd(t testing.TB, dir, downstream, extra, clamdAddr string) string {
	t.Helper()
	cert, key := selfSigned(t, dir)
	os.WriteFile(filepath.Join(dir, "qkey"), bytes.Repeat([]byte{9}, 32), 0o600)
	pol := string(mustRead(t, "../sanitize/default-policy.yaml"))
	if clamdAddr == "" {
		pol = strings.Replace(pol, "clamd:\n  enabled: true", "clamd:\n  enabled: false", 1)
	} else {
		pol = strings.Replace(pol, "address: unix:/run/clamav/clamd.ctl", "address: "+clamdAddr, 1)
	}
	pol = strings.Replace(pol, "dir: /var/lib/kyojin/quarantine", "dir: "+filepath.Join(dir, "quarantine"), 1)
	pol = strings.Replace(pol, "key_env: KYOJIN_QUARANTINE_KEY", "key_file: "+filepath.Join(dir, "qkey"), 1)
	os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(pol), 0o600)
	cfg := fmt.Sprintf(`hostname: mx.test
listeners:
  - address: 127.0.0.1:0
    tls_cert: %s
    tls_key: %s
domains: [city.lg.jp]
limits:
  max_message_bytes: 1048576
  max_recipients: 3
  max_connections_per_ip: 5
  command_timeout: 10s
auth:
  enabled: true
downstream:
  address: %s
queue:
  dir: %s
  workers: 2
  retry_base: 100ms
  retry_max: 1s
sanitize_policy: %s
audit_log: %s
%s`, cert, key, downstream, filepath.Join(dir, "queue"), filepath.Join(dir, "policy.yaml"), filepath.Join(dir, "audit.jsonl"), extra)
	p := filepath.Join(dir, "mailgate.yaml")
	os.WriteFile(p, []byte(cfg), 0o600)
	return p
}

func mustRead(t testing.TB, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testDNS() *staticResolver {
	return &staticResolver{txt: map[string][]string{
		"good.example":        {"v=spf1 ip4:127.0.0.0/8 -all"},
		"_dmarc.good.example": {"v=DMARC1; p=reject"},
		"bank.example":        {"v=spf1 ip4:192.0.2.1 -all"},
		"_dmarc.bank.example": {"v=DMARC1; p=reject"},
		"shop.example":        {"v=spf1 ip4:192.0.2.1 -all"},
		"_dmarc.shop.example": {"v=DMARC1; p=quarantine"},
	}}
}

// startRelay runs a relay against downstream and returns its address.
func startRelay(t testing.TB, downstream, extra string) (*Relay, string, string) {
	return startRelayWith(t, downstream, extra, nil)
}

// startRelayWith lets the caller adjust the configuration before Start.
func startRelayWith(t testing.TB, downstream, extra string, mutate func(*Config)) (*Relay, string, string) {
	t.Helper()
	dir := t.TempDir()
	cfg, diags := LoadConfig(testConfig(t, dir, downstream, extra))
	if cfg == nil {
		t.Fatalf("config: %v", diags.Err())
	}
	if mutate != nil {
		mutate(cfg)
	}
	r, err := New(cfg, Options{Resolver: testDNS()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return r, r.Addrs()[0].String(), dir
}

func msg(from, id, body string) string {
	return "From: " + from + "\r\nTo: kakari@city.lg.jp\r\nSubject: test\r\nMessage-ID: <" + id + ">\r\nDate: Mon, 02 Nov 2026 10:00:00 +0900\r\n" + body
}

// dialogue steps: a line to send ("" = only read) and the reply code prefix expected.
type step struct{ send, want string }

func TestDialogue(t *testing.T) {
	ds := startSink(t)
	_, addr, _ := startRelay(t, ds.addr, "")
	good := msg("a@good.example", "d1@good.example", "Content-Type: text/plain\r\n\r\nhello\r\n") + "."
	tests := []struct {
		name  string
		steps []step
	}{
		{"ehlo-extensions", []step{{"EHLO client.test", "250"}}},
		{"open-relay-denied", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"RCPT TO:<victim@gmail.example>", "550 5.7.1"}, {"RCPT TO:<x@sub.city.lg.jp>", "550 5.7.1"}}},
		{"percent-hack", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"RCPT TO:<victim%gmail.example@city.lg.jp>", "553 5.1.3"}, {"RCPT TO:<@relay.example:v@gmail.example>", "550 5.7.1"},
			// RFC 5321 §3.6.1: a source route is ignored; what is left is a local recipient.
			{"RCPT TO:<@relay.example:v@city.lg.jp>", "250"}}},
		{"no-rcpt-data", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"DATA", "502"}}},
		{"too-many-rcpts", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"RCPT TO:<a@city.lg.jp>", "250"}, {"RCPT TO:<b@city.lg.jp>", "250"}, {"RCPT TO:<c@city.lg.jp>", "250"}, {"RCPT TO:<d@city.lg.jp>", "452"}}},
		{"size-declared", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example> SIZE=99999999", "552"}}},
		{"accepted", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"RCPT TO:<kakari@city.lg.jp>", "250"}, {"DATA", "354"}, {good, "250 2.0.0"}}},
		{"malformed-rejected", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"RCPT TO:<kakari@city.lg.jp>", "250"}, {"DATA", "354"},
			{msg("a@good.example", "d2@x", "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody\r\n--x--\r\n") + ".", "554 5.6.0"}}},
		{"dmarc-reject", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@bank.example>", "250"}, {"RCPT TO:<kakari@city.lg.jp>", "250"}, {"DATA", "354"},
			{msg("support@bank.example", "d3@x", "\r\nplease log in\r\n") + ".", "550 5.7.1"}}},
		{"dmarc-quarantine-accepted", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@shop.example>", "250"}, {"RCPT TO:<kakari@city.lg.jp>", "250"}, {"DATA", "354"},
			{msg("sale@shop.example", "d4@x", "\r\nsale\r\n") + ".", "250"}}},
		{"mail-loop", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"RCPT TO:<kakari@city.lg.jp>", "250"}, {"DATA", "354"},
			{strings.Repeat("Received: from x by y; Mon, 02 Nov 2026 10:00:00 +0900\r\n", 60) + msg("a@good.example", "loop@x", "\r\nloop\r\n") + ".", "554 5.4.6"}}},
		{"header-only-8bit-garbage", []step{{"EHLO c", "250"}, {"MAIL FROM:<a@good.example>", "250"}, {"RCPT TO:<kakari@city.lg.jp>", "250"}, {"DATA", "354"},
			{"Subject: \xff\xfe\x80\x81\r\nFrom: a@good.example\r\n\r\n\x00\x01\xff garbage\r\n.", "250"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := textproto.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, _, err := c.ReadResponse(220); err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.steps {
				c.PrintfLine("%s", s.send)
				code, text, _ := c.ReadResponse(0)
				got := fmt.Sprintf("%d %s", code, text)
				if !strings.HasPrefix(got, s.want) {
					t.Fatalf("%q → %q, want %q", s.send, got, s.want)
				}
				if strings.HasPrefix(s.send, "EHLO") && tc.name == "ehlo-extensions" {
					for _, ext := range []string{"STARTTLS", "SIZE 1048576", "8BITMIME", "SMTPUTF8", "PIPELINING", "ENHANCEDSTATUSCODES"} {
						if !strings.Contains(text, ext) {
							t.Errorf("EHLO lacks %s:\n%s", ext, text)
						}
					}
				}
				if code >= 500 && strings.Contains(strings.ToLower(text), "dmarc") {
					t.Errorf("reply leaks details: %q", text)
				}
			}
		})
	}
	// Exactly the two accepted, deliverable messages arrived (accepted and
	// the 8-bit garbage one, sanitized); the DMARC-quarantined one is kept,
	// not delivered.
	got := ds.wait(t, 2)
	time.Sleep(300 * time.Millisecond)
	if n := len(ds.messages()); n != 2 {
		t.Fatalf("downstream got %d messages, want 2", n)
	}
	m := string(got[0].data) + string(got[1].data)
	for _, want := range []string{"X-Kyojin-Sanitized:", "Authentication-Results: mx.test; spf=pass", "dmarc=pass", "header.from=good.example", "Received: from c ([127.0.0.1]) by mx.test"} {
		if !strings.Contains(m, want) {
			t.Errorf("delivered message lacks %q:\n%s", want, m)
		}
	}
}

// TestPipeliningAndStartTLS: a real client library with STARTTLS and a
// pipelined transaction.
func TestPipeliningAndStartTLS(t *testing.T) {
	ds := startSink(t)
	_, addr, _ := startRelay(t, ds.addr, "")
	c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true}) // self-signed test certificate
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("a@good.example", []string{"kakari@city.lg.jp"}, strings.NewReader(msg("a@good.example", "tls@x", "\r\nover tls\r\n"))); err != nil {
		t.Fatal(err)
	}
	c.Quit()
	// Pipelined: every command in one write.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tp := textproto.NewConn(conn)
	tp.ReadResponse(220)
	io.WriteString(conn, "EHLO p\r\nMAIL FROM:<a@good.example>\r\nRCPT TO:<kakari@city.lg.jp>\r\nRCPT TO:<x@city.lg.jp>\r\nDATA\r\n")
	for _, want := range []int{250, 250, 250, 250, 354} {
		if code, text, _ := tp.ReadResponse(0); code != want {
			t.Fatalf("pipelined reply %d %s, want %d", code, text, want)
		}
	}
	io.WriteString(conn, msg("a@good.example", "pipe@x", "\r\npipelined\r\n")+".\r\nQUIT\r\n")
	if code, text, _ := tp.ReadResponse(0); code != 250 {
		t.Fatalf("DATA end %d %s", code, text)
	}
	got := ds.wait(t, 2)
	var received []string
	for _, m := range got {
		received = append(received, strings.Join(m.to, ","))
	}
	if !strings.Contains(strings.Join(received, " "), "kakari@city.lg.jp,x@city.lg.jp") {
		t.Fatalf("recipients %v", received)
	}
	if all := string(got[0].data) + string(got[1].data); !strings.Contains(strings.ReplaceAll(all, "\r\n ", " "), "with ESMTPS") {
		t.Log(all)
		t.Error("no ESMTPS in Received")
	}
}

func TestConnectionAndRateLimits(t *testing.T) {
	ds := startSink(t)
	_, addr, _ := startRelay(t, ds.addr, "")
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		textproto.NewConn(c).ReadResponse(220)
	}
	c, _ := net.Dial("tcp", addr)
	line, _ := textproto.NewConn(c).ReadLine()
	c.Close()
	if !strings.HasPrefix(line, "421 4.7.0") {
		t.Fatalf("6th connection got %q, want 421", line)
	}
}

func TestMessageRateLimit(t *testing.T) {
	ds := startSink(t)
	_, addr, _ := startRelay(t, ds.addr, "")
	_ = addr
	r2, addr2, _ := startRelay(t, ds.addr, "")
	r2.cfg.Limits.MaxMessagesPerIPHour = 2
	c, err := smtp.Dial(addr2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		err := c.SendMail("a@good.example", []string{"k@city.lg.jp"}, strings.NewReader(msg("a@good.example", fmt.Sprintf("r%d@x", i), "\r\nx\r\n")))
		var se *smtp.SMTPError
		if i < 2 && err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if i == 2 && (!errors.As(err, &se) || se.Code != 450) {
			t.Fatalf("third message: %v, want 450", err)
		}
	}
}

// TestRetryAndDSN: a temporary downstream failure is retried; a permanent
// recipient refusal produces a DSN to the sender through dsn_relay.
func TestRetryAndDSN(t *testing.T) {
	ds := startSink(t)
	ds.tempFails = 2
	bounces := startSink(t)
	_, addr, dir := startRelay(t, ds.addr, "")
	_ = dir
	r, addr2, dir2 := startRelay(t, ds.addr, "")
	r.cfg.Queue.DSNRelay = bounces.addr
	_ = addr2
	if err := sendPlain(addr, "a@good.example", []string{"kakari@city.lg.jp"}, strings.NewReader(msg("a@good.example", "retry@x", "\r\nretry me\r\n"))); err != nil {
		t.Fatal(err)
	}
	got := ds.wait(t, 1)
	if !strings.Contains(string(got[0].data), "Message-Id: <retry@x>") {
		t.Fatalf("retried message missing:\n%s", got[0].data)
	}
	if err := sendPlain(addr2, "sender@good.example", []string{"gone@city.lg.jp"}, strings.NewReader(msg("sender@good.example", "bounce@x", "\r\nbounce me\r\n"))); err != nil {
		t.Fatal(err)
	}
	b := bounces.wait(t, 1)
	if b[0].from != "" || b[0].to[0] != "sender@good.example" || !strings.Contains(string(b[0].data), "Status: 5.1.1") || !strings.Contains(string(b[0].data), "report-type=delivery-status") {
		t.Fatalf("DSN: from=%q to=%v\n%s", b[0].from, b[0].to, b[0].data)
	}
	if strings.Contains(string(b[0].data), "bounce me") {
		t.Error("DSN carries the body")
	}
	// The DSN's own "delivered" record is written once its SMTP transaction
	// has ended, which can be just after the sink saw the message.
	var audit string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		audit = string(mustRead(t, filepath.Join(dir2, "audit.jsonl")))
		if strings.Contains(audit, `"event":"delivered"`) || time.Now().After(deadline) {
			break
		}
	}
	for _, ev := range []string{`"event":"received"`, `"event":"bounced"`, `"event":"delivered"`} {
		if !strings.Contains(audit, ev) {
			t.Errorf("audit lacks %s:\n%s", ev, audit)
		}
	}
}

// sendPlain sends one message without STARTTLS.
func sendPlain(addr, from string, to []string, r io.Reader) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SendMail(from, to, r); err != nil {
		return err
	}
	return c.Quit()
}

// TestOversizeAndMetrics: a 50 MB message over the size limit gets 552
// 5.3.4 without harming the relay; the metrics listener counts it.
func TestOversizeAndMetrics(t *testing.T) {
	ds := startSink(t)
	mport := freePort(t)
	_, addr, _ := startRelay(t, ds.addr, fmt.Sprintf("metrics:\n  address: 127.0.0.1:%d\n", mport))
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	big := msg("a@good.example", "big@x", "\r\n") + strings.Repeat(strings.Repeat("x", 998)+"\r\n", 50<<10)
	err = c.SendMail("a@good.example", []string{"k@city.lg.jp"}, strings.NewReader(big))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 552 || se.EnhancedCode != (smtp.EnhancedCode{5, 3, 4}) {
		t.Fatalf("50 MB message: %v, want 552 5.3.4", err)
	}
	if err := sendPlain(addr, "a@good.example", []string{"k@city.lg.jp"}, strings.NewReader(msg("a@good.example", "small@x", "\r\nsmall\r\n"))); err != nil {
		t.Fatalf("relay unusable after the big message: %v", err)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", mport))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`kyojin_mailgate_messages_total{result="too_large"} 1`, `kyojin_mailgate_messages_total{result="queued"} 1`, "kyojin_mailgate_accept_seconds_bucket"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// freePort is shared with the other daemon tests (internal/testdaemon).
func freePort(t testing.TB) int { return testdaemon.FreeTCPPort(t) }

// TestLMTPDownstream: delivery over LMTP with a per-recipient refusal.
func TestLMTPDownstream(t *testing.T) {
	ds := startSinkProto(t, true)
	bounces := startSink(t)
	_, addr, _ := startRelayWith(t, ds.addr, "", func(c *Config) {
		c.Downstream.Protocol = "lmtp"
		c.Queue.DSNRelay = bounces.addr
	})
	if err := sendPlain(addr, "s@good.example", []string{"k@city.lg.jp", "gone@city.lg.jp"}, strings.NewReader(msg("s@good.example", "lmtp@x", "\r\nvia lmtp\r\n"))); err != nil {
		t.Fatal(err)
	}
	got := ds.wait(t, 1)
	if len(got[0].to) != 1 || got[0].to[0] != "k@city.lg.jp" {
		t.Fatalf("LMTP recipients %v", got[0].to)
	}
	b := bounces.wait(t, 1)
	if !strings.Contains(string(b[0].data), "Final-Recipient: rfc822; gone@city.lg.jp") {
		t.Fatalf("DSN:\n%s", b[0].data)
	}
}

// TestSlowData: a client trickling DATA past limits.data_timeout gets 451.
func TestSlowData(t *testing.T) {
	ds := startSink(t)
	_, addr, _ := startRelayWith(t, ds.addr, "", func(c *Config) { c.Limits.DataTimeout = Duration(500 * time.Millisecond) })
	c, err := textproto.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ReadResponse(220)
	for _, l := range []string{"EHLO s", "MAIL FROM:<a@good.example>", "RCPT TO:<k@city.lg.jp>", "DATA"} {
		c.PrintfLine("%s", l)
		c.ReadResponse(0)
	}
	for range 8 {
		c.PrintfLine("Subject: slow")
		time.Sleep(100 * time.Millisecond)
	}
	c.PrintfLine("")
	c.PrintfLine("body")
	c.PrintfLine(".")
	code, text, _ := c.ReadResponse(0)
	if code != 451 {
		t.Fatalf("slow DATA: %d %s, want 451", code, text)
	}
}

// TestVirusWithRealClamd: with clamd enabled (a real clamd with a test
// signature database), a message carrying EICAR in an attachment is
// refused with a generic 550; a clean one passes.
func TestVirusWithRealClamd(t *testing.T) {
	addr := clamdtest.Start(t)
	ds := startSink(t)
	dir := t.TempDir()
	cfg, diags := LoadConfig(testConfigClamd(t, dir, ds.addr, "", addr))
	if cfg == nil {
		t.Fatal(diags.Err())
	}
	r, err := New(cfg, Options{Resolver: testDNS()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	relay := r.Addrs()[0].String()
	virus := msg("a@good.example", "v@x", "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nsee\r\n--M\r\nContent-Type: text/plain; name=\"a.txt\"\r\nContent-Disposition: attachment; filename=\"a.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"+
		base64.StdEncoding.EncodeToString(clamdtest.EICAR())+"\r\n--M--\r\n")
	err = sendPlain(relay, "a@good.example", []string{"k@city.lg.jp"}, strings.NewReader(virus))
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 550 || strings.Contains(strings.ToLower(se.Message), "eicar") {
		t.Fatalf("virus message: %v, want a generic 550", err)
	}
	if err := sendPlain(relay, "a@good.example", []string{"k@city.lg.jp"}, strings.NewReader(msg("a@good.example", "clean@x", "\r\nclean\r\n"))); err != nil {
		t.Fatal(err)
	}
	ds.wait(t, 1)
	if !strings.Contains(string(mustRead(t, filepath.Join(dir, "audit.jsonl"))), clamdtest.SignatureName) {
		t.Error("audit record lacks the signature name")
	}
}

// TestQueueRetryWhileRunning: with the downstream down the message stays
// queued with its error and a long backoff; `queue retry` (from another
// process, through the files) makes the running relay deliver it at its
// next rescan once the downstream is back.
func TestQueueRetryWhileRunning(t *testing.T) {
	port := freePort(t)
	down := fmt.Sprintf("127.0.0.1:%d", port)
	r, addr, dir := startRelayWith(t, down, "", func(c *Config) {
		c.Queue.RetryBase, c.Queue.RetryMax, c.Queue.Rescan = Duration(time.Hour), Duration(time.Hour), Duration(200*time.Millisecond)
		c.Downstream.Timeout = Duration(time.Second)
	})
	_ = r
	if err := sendPlain(addr, "a@good.example", []string{"k@city.lg.jp"}, strings.NewReader(msg("a@good.example", "q@x", "\r\nqueued\r\n"))); err != nil {
		t.Fatal(err)
	}
	qdir := filepath.Join(dir, "queue")
	var envs []*queue.Envelope
	deadline := time.Now().Add(10 * time.Second)
	for {
		envs, _ = queue.List(qdir)
		if len(envs) == 1 && envs[0].Attempts >= 1 && envs[0].LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %+v", envs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Downstream comes back on the same port.
	s := &sink{}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }))
	l, err := net.Listen("tcp", down)
	if err != nil {
		t.Fatal(err)
	}
	go s.srv.Serve(l)
	defer s.srv.Close()
	time.Sleep(500 * time.Millisecond)
	if len(s.messages()) != 0 {
		t.Fatal("delivered before retry: backoff ignored")
	}
	if err := queue.Retry(qdir, envs[0].ID); err != nil {
		t.Fatal(err)
	}
	s.wait(t, 1)
	deadline = time.Now().Add(5 * time.Second)
	for {
		if envs, _ := queue.List(qdir); len(envs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("delivered message still queued")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
