package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"net/textproto"
	"os"
	"strings"
	"time"
	"unicode/utf8"
)

// mailer submits notifications to the configured SMTP server.
type mailer struct {
	cfg      *SMTPConfig
	host     string
	password string
	tls      *tls.Config
	helo     string
}

func newMailer(c *SMTPConfig) (*mailer, error) {
	host, _, _ := net.SplitHostPort(c.Address)
	m := &mailer{cfg: c, host: host, helo: c.HELO}
	if m.helo == "" {
		m.helo, _ = os.Hostname()
		if m.helo == "" || strings.ContainsAny(m.helo, " \r\n") {
			m.helo = "localhost"
		}
	}
	pw, err := c.Password.Resolve()
	if err != nil {
		return nil, fmt.Errorf("notify: smtp password: %w", err)
	}
	m.password = pw
	m.tls = &tls.Config{ServerName: c.ServerName, MinVersion: tls.VersionTLS12}
	if m.tls.ServerName == "" {
		m.tls.ServerName = host
	}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("notify: smtp ca_file: %w", err)
		}
		m.tls.RootCAs = pool
	}
	return m, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, errors.New("no PEM certificate")
	}
	return pool, nil
}

// permanentError marks a failure that retrying cannot fix (a 5xx reply,
// a 4xx HTTP status); the delivery goes straight to the dead letters.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func isPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// send delivers one message to one recipient. The Message-ID is derived
// from the outbox ID so that a retry after a lost reply is recognisable.
func (m *mailer) send(ctx context.Context, it *Item, now time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout.D())
	defer cancel()
	msg := buildMail(m.cfg.From, it.Target, it, now)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.cfg.Address)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if m.cfg.TLS == "tls" {
		tc := tls.Client(conn, m.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		conn = tc
	}
	c, err := smtp.NewClient(conn, m.host)
	if err != nil {
		return smtpErr(err)
	}
	defer c.Close()
	if err := c.Hello(m.helo); err != nil {
		return smtpErr(err)
	}
	if m.cfg.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(m.tls); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		} else if !isLoopback(m.host) {
			// Clause 6.1 (通信の暗号化): never fall back to plaintext on
			// the wire; a server that stops offering STARTTLS may be a
			// downgrade attack.
			return errors.New("server does not offer STARTTLS")
		}
	}
	if m.cfg.Username != "" {
		if err := c.Auth(&plainAuth{user: m.cfg.Username, pass: m.password}); err != nil {
			return smtpErr(err)
		}
	}
	if err := c.Mail(m.cfg.From); err != nil {
		return smtpErr(err)
	}
	if err := c.Rcpt(it.Target); err != nil {
		return smtpErr(err)
	}
	w, err := c.Data()
	if err != nil {
		return smtpErr(err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return smtpErr(err)
	}
	c.Quit() // the message is accepted; a failed QUIT does not matter
	return nil
}

func smtpErr(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return &permanentError{err}
	}
	return err
}

// plainAuth is SASL PLAIN (RFC 4616) that refuses to run without TLS, even
// on loopback (net/smtp's PlainAuth allows localhost in clear).
type plainAuth struct{ user, pass string }

func (a *plainAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	if !s.TLS {
		return "", nil, &permanentError{errors.New("refusing AUTH PLAIN without TLS")}
	}
	ok := false
	for _, m := range s.Auth {
		ok = ok || m == "PLAIN"
	}
	if !ok {
		return "", nil, &permanentError{errors.New("server does not offer AUTH PLAIN")}
	}
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a *plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// buildMail renders a MIME message: UTF-8 text, the subject as RFC 2047
// encoded-words, the body base64 so that any relay carries it unchanged.
func buildMail(from, to string, it *Item, now time.Time) []byte {
	var b bytes.Buffer
	domain := from[strings.LastIndexByte(from, '@')+1:]
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", from)
	h("To", to)
	// oneLine already removed CR/LF; encoding also covers ASCII-only text.
	h("Subject", encodeSubject(oneLine(it.Rendered.Subject, 200)))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+it.ID+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "base64")
	h("Content-Language", it.Rendered.Lang)
	h("Auto-Submitted", "auto-generated") // RFC 3834: no auto-replies
	h("X-Kyojin-Kind", string(it.Kind))
	h("X-Kyojin-Severity", it.Severity.String())
	if validName(it.Tenant) {
		h("X-Kyojin-Tenant", it.Tenant)
	}
	b.WriteString("\r\n")
	body := strings.ReplaceAll(strings.ReplaceAll(it.Rendered.Body, "\r\n", "\n"), "\n", "\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(body))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return b.Bytes()
}

// encodeSubject writes the subject as RFC 2047 B encoded-words of at most
// 36 bytes of UTF-8 each (never splitting a character), one per folded
// line, so that every header line stays under 78 characters (RFC 5322
// §2.1.1) whatever the text.
func encodeSubject(s string) string {
	var words []string
	for len(s) > 0 {
		n := 0
		for n < len(s) {
			_, size := utf8.DecodeRuneInString(s[n:])
			if n+size > 36 {
				break
			}
			n += size
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(s[:n]))+"?=")
		s = s[n:]
	}
	return strings.Join(words, "\r\n ")
}
