package mailgate

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kyojin/kyojin/mailgate/queue"
)

// deliverer moves queued messages to the downstream server: a pool of
// workers, each keeping its connection open between messages.
type deliverer struct {
	r    *Relay
	jobs chan *queue.Envelope
}

func newDeliverer(r *Relay) *deliverer {
	return &deliverer{r: r, jobs: make(chan *queue.Envelope)}
}

func (d *deliverer) run(ctx context.Context) {
	n := d.r.cfg.Queue.Workers
	for range n {
		go d.worker(ctx)
	}
	rescan := time.NewTicker(d.r.cfg.Queue.Rescan.D())
	defer rescan.Stop()
	for {
		batch := d.r.Queue.Claim(time.Now(), n*4)
		for _, env := range batch {
			select {
			case d.jobs <- env:
			case <-ctx.Done():
				return
			}
		}
		if len(batch) > 0 {
			continue
		}
		wait := time.Second
		if t, ok := d.r.Queue.NextDue(); ok {
			wait = min(max(time.Until(t), 10*time.Millisecond), time.Second)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-d.r.Queue.Wake():
		case <-rescan.C:
			d.r.Queue.Rescan()
		case <-timer.C:
		}
		timer.Stop()
	}
}

func (d *deliverer) worker(ctx context.Context) {
	var c *smtp.Client
	defer func() {
		if c != nil {
			c.Quit()
		}
	}()
	idle := time.NewTimer(time.Hour)
	for {
		idle.Reset(30 * time.Second)
		select {
		case <-ctx.Done():
			return
		case <-idle.C:
			// Do not hold an idle connection open on the downstream.
			if c != nil {
				c.Quit()
				c = nil
			}
			continue
		case env := <-d.jobs:
			c = d.deliver(ctx, c, env)
		}
	}
}

// rcptError is a per-recipient refusal.
type rcptError struct {
	rcpt string
	err  error
}

// deliver sends one message and records the outcome; it returns the
// connection for reuse (nil when it should not be reused).
func (d *deliverer) deliver(ctx context.Context, c *smtp.Client, env *queue.Envelope) *smtp.Client {
	r := d.r
	env.Attempts++
	start := time.Now()
	addr := r.cfg.Downstream.Address
	if env.DSN {
		addr = r.cfg.Queue.DSNRelay
		c = nil // DSNs go elsewhere: a fresh connection, not kept
	}
	if c != nil {
		if err := c.Reset(); err != nil {
			c.Close()
			c = nil
		}
	}
	if c == nil {
		var err error
		if c, err = d.dial(addr); err != nil {
			d.failed(env, nil, err, start)
			return nil
		}
	}
	perm, temp, err := d.send(c, env)
	if errors.Is(err, os.ErrNotExist) {
		// Dropped (kyojin mailgate queue drop) while waiting.
		r.Queue.Done(env.ID)
		return c
	}
	if err != nil {
		c.Close()
		d.failed(env, nil, err, start)
		return nil
	}
	if len(perm)+len(temp) == 0 {
		r.Queue.Done(env.ID)
		r.Metrics.Delivery.WithLabelValues("delivered").Inc()
		r.audit.Write(&AuditRecord{Time: time.Now(), Event: "delivered", QueueID: env.ID, MessageID: env.MessageID, From: env.From, To: env.To,
			Attempts: env.Attempts, Millis: map[string]int64{"delivery": time.Since(start).Milliseconds()}})
	} else {
		d.failed(env, append(perm, temp...), nil, start)
	}
	if env.DSN {
		c.Quit()
		return nil
	}
	return c
}

func (d *deliverer) dial(addr string) (*smtp.Client, error) {
	ds := d.r.cfg.Downstream
	timeout := ds.Timeout.D()
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	conn.SetDeadline(time.Now().Add(timeout))
	var c *smtp.Client
	tlsCfg, err := d.tlsConfig(addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	direct := addr == ds.Address
	switch {
	case ds.TLS == "tls" && direct:
		tc := tls.Client(conn, tlsCfg)
		if ds.Protocol == "lmtp" {
			c = smtp.NewClientLMTP(tc)
		} else {
			c = smtp.NewClient(tc)
		}
	case ds.TLS == "starttls" && direct:
		// Fails when the server does not offer STARTTLS: required by the
		// configuration, so never a silent downgrade.
		if c, err = smtp.NewClientStartTLS(conn, tlsCfg); err != nil {
			conn.Close()
			return nil, fmt.Errorf("downstream STARTTLS: %w", err)
		}
	case ds.Protocol == "lmtp" && direct:
		c = smtp.NewClientLMTP(conn)
	default:
		c = smtp.NewClient(conn)
	}
	c.CommandTimeout = timeout
	c.SubmissionTimeout = timeout
	if ds.TLS != "starttls" || !direct {
		if err := c.Hello(d.r.cfg.Hostname); err != nil {
			c.Close()
			return nil, err
		}
	}
	conn.SetDeadline(time.Time{})
	return c, nil
}

func (d *deliverer) tlsConfig(addr string) (*tls.Config, error) {
	ds := d.r.cfg.Downstream
	name := ds.ServerName
	if name == "" {
		name, _, _ = net.SplitHostPort(addr)
	}
	cfg := &tls.Config{ServerName: name, MinVersion: tls.VersionTLS12}
	if ds.CAFile != "" {
		pem, err := os.ReadFile(ds.CAFile)
		if err != nil {
			return nil, fmt.Errorf("downstream ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("downstream ca_file holds no certificate")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// send runs one transaction; per-recipient refusals come back split into
// permanent and temporary ones, err is a failure of the whole attempt.
func (d *deliverer) send(c *smtp.Client, env *queue.Envelope) (perm, temp []rcptError, err error) {
	f, err := d.r.Queue.Message(env.ID)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if err := c.Mail(env.From, nil); err != nil {
		return nil, nil, err
	}
	var ok []string
	for _, to := range env.To {
		if err := c.Rcpt(to, nil); err != nil {
			if isPermanent(err) {
				perm = append(perm, rcptError{to, err})
			} else {
				temp = append(temp, rcptError{to, err})
			}
			continue
		}
		ok = append(ok, to)
	}
	if len(ok) == 0 {
		return perm, temp, nil
	}
	w, err := c.Data()
	if err != nil {
		return nil, nil, err
	}
	if _, err := io.Copy(w, f); err != nil {
		w.Close()
		return nil, nil, err
	}
	if d.r.cfg.Downstream.Protocol == "lmtp" && !env.DSN {
		_, err := w.CloseWithLMTPResponse()
		var le smtp.LMTPDataError
		if errors.As(err, &le) {
			for to, e := range le {
				if isPermanent(e) {
					perm = append(perm, rcptError{to, e})
				} else {
					temp = append(temp, rcptError{to, e})
				}
			}
			return perm, temp, nil
		}
		return perm, temp, err
	}
	if err := w.Close(); err != nil {
		if isPermanent(err) {
			for _, to := range ok {
				perm = append(perm, rcptError{to, err})
			}
			return perm, temp, nil
		}
		return nil, nil, err
	}
	return perm, temp, nil
}

func isPermanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

// failed handles a failed attempt: permanent refusals and expired messages
// are bounced (DSN), the rest is retried with exponential backoff.
func (d *deliverer) failed(env *queue.Envelope, rcpts []rcptError, whole error, start time.Time) {
	r := d.r
	expired := time.Since(env.Received) > r.cfg.Queue.MaxAge.D()
	var bounce []rcptError
	var retry []string
	if whole != nil {
		env.LastError = whole.Error()
		for _, to := range env.To {
			if expired || isPermanent(whole) {
				bounce = append(bounce, rcptError{to, whole})
			} else {
				retry = append(retry, to)
			}
		}
	} else {
		for _, re := range rcpts {
			env.LastError = re.err.Error()
			if expired || isPermanent(re.err) {
				bounce = append(bounce, re)
			} else {
				retry = append(retry, re.rcpt)
			}
		}
	}
	r.log.Warn("delivery failed", "qid", env.ID, "attempt", env.Attempts, "err", env.LastError, "bounce", len(bounce), "retry", len(retry))
	if len(bounce) > 0 {
		r.Metrics.Delivery.WithLabelValues("bounced").Inc()
		d.bounce(env, bounce)
	}
	if len(retry) == 0 {
		r.Queue.Done(env.ID)
		return
	}
	r.Metrics.Delivery.WithLabelValues("deferred").Inc()
	env.To = retry
	env.NextAttempt = time.Now().Add(backoff(r.cfg.Queue.RetryBase.D(), r.cfg.Queue.RetryMax.D(), env.Attempts))
	r.audit.Write(&AuditRecord{Time: time.Now(), Event: "deferred", QueueID: env.ID, MessageID: env.MessageID, From: env.From, To: retry,
		Attempts: env.Attempts, Reason: env.LastError, Millis: map[string]int64{"delivery": time.Since(start).Milliseconds()}})
	if err := r.Queue.Defer(env); err != nil {
		r.log.Error("queue defer", "qid", env.ID, "err", err)
	}
}

// backoff doubles from base up to max, with ±10 % jitter so that a
// downstream outage does not end in a thundering herd.
func backoff(base, maxD time.Duration, attempts int) time.Duration {
	d := base
	for i := 1; i < attempts && d < maxD; i++ {
		d *= 2
	}
	d = min(d, maxD)
	return d + time.Duration((rand.Float64()-0.5)*0.2*float64(d))
}

// bounce queues a DSN to the sender (RFC 3464) unless the message is
// itself a DSN or has a null sender (RFC 5321 §6.1: never bounce a bounce).
func (d *deliverer) bounce(env *queue.Envelope, rcpts []rcptError) {
	r := d.r
	rec := &AuditRecord{Time: time.Now(), Event: "bounced", QueueID: env.ID, MessageID: env.MessageID, From: env.From, Attempts: env.Attempts}
	for _, re := range rcpts {
		rec.To = append(rec.To, re.rcpt)
	}
	rec.Reason = rcpts[0].err.Error()
	defer r.audit.Write(rec)
	if env.DSN || env.From == "" {
		rec.Reply = "no DSN: null sender"
		return
	}
	if r.cfg.Queue.DSNRelay == "" {
		rec.Reply = "no DSN: queue.dsn_relay not configured"
		return
	}
	f, err := r.Queue.Message(env.ID)
	if err != nil {
		r.log.Error("dsn: original", "err", err)
		return
	}
	defer f.Close()
	dsn := &queue.Envelope{From: "", To: []string{env.From}, Received: time.Now(), DSN: true}
	err = r.Queue.Put(dsn, func(w io.Writer) (int64, error) { return writeDSN(w, r.cfg.Hostname, env, rcpts, f) })
	if err != nil {
		r.log.Error("dsn: queue", "err", err)
		return
	}
	rec.Reply = "DSN queued as " + dsn.ID
}

// writeDSN writes a multipart/report delivery status notification
// (RFC 3464, RFC 6522) with the original header (not the body).
func writeDSN(w io.Writer, host string, env *queue.Envelope, rcpts []rcptError, orig io.Reader) (int64, error) {
	cw := &counter{w: w}
	b := "kyojin-dsn-" + queue.NewID()
	now := time.Now().Format(time.RFC1123Z)
	fmt.Fprintf(cw, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\nTo: <%s>\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: %s\r\nMessage-Id: <%s@%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n", host, env.From, now, queue.NewID(), host)
	fmt.Fprintf(cw, "Content-Type: multipart/report; report-type=delivery-status; boundary=\"%s\"\r\n\r\n", b)
	fmt.Fprintf(cw, "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nYour message could not be delivered to the following recipients:\r\n", b)
	for _, re := range rcpts {
		fmt.Fprintf(cw, "  <%s>\r\n", re.rcpt)
	}
	fmt.Fprintf(cw, "\r\n--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; %s\r\nArrival-Date: %s\r\n", b, host, env.Received.Format(time.RFC1123Z))
	for _, re := range rcpts {
		status, code := "5.0.0", "550"
		var se *smtp.SMTPError
		if errors.As(re.err, &se) {
			code = fmt.Sprint(se.Code)
			if se.EnhancedCode[0] == 5 {
				status = fmt.Sprintf("%d.%d.%d", se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
			}
		} else {
			status = "4.4.7" // expired: delivery time expired (RFC 3463)
		}
		diag := strings.Map(func(r rune) rune {
			if r < ' ' || r > '~' {
				return ' '
			}
			return r
		}, re.err.Error())
		fmt.Fprintf(cw, "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: %s\r\nDiagnostic-Code: smtp; %s %s\r\n", re.rcpt, status, code, diag)
	}
	fmt.Fprintf(cw, "\r\n--%s\r\nContent-Type: text/rfc822-headers\r\n\r\n", b)
	// Only the header of the (sanitized) original: the body stays here.
	buf := make([]byte, 64<<10)
	n, _ := io.ReadFull(orig, buf)
	hdr := buf[:n]
	if i := strings.Index(string(hdr), "\r\n\r\n"); i >= 0 {
		hdr = hdr[:i+2]
	}
	cw.Write(hdr)
	fmt.Fprintf(cw, "\r\n--%s--\r\n", b)
	return cw.n, cw.err
}

type counter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *counter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}
