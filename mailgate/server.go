package mailgate

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kyojin/kyojin/clamd"
	"github.com/kyojin/kyojin/mailgate/mailsan"
	"github.com/kyojin/kyojin/mailgate/queue"
	"github.com/kyojin/kyojin/quarantine"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/std"
)

// Options carries what tests replace: the DNS and the clock.
type Options struct {
	Log      *slog.Logger
	Resolver Resolver // nil: from auth.dns_server
}

// Relay is the running mail gateway.
type Relay struct {
	cfg     *Config
	log     *slog.Logger
	san     *mailsan.Sanitizer
	auth    *Authenticator
	vault   sanitize.Vault
	Queue   *queue.Queue
	audit   *Audit
	Metrics *Metrics
	spool   string
	domains map[string]bool

	mu      sync.Mutex
	conns   map[string]int
	total   int
	hourly  map[string]int
	hourKey int64

	servers []*smtp.Server
	addrs   []net.Addr
}

// New builds a relay from a checked configuration: the sanitization
// engine (with clamd and the quarantine of its policy), the queue, the
// audit log and the metrics.
func New(cfg *Config, opt Options) (*Relay, error) {
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	pol := sanitize.DefaultPolicy()
	if cfg.Sanitize != "" {
		p, err := sanitize.LoadPolicy(cfg.Sanitize)
		if err != nil {
			return nil, err
		}
		pol = p
	}
	q, err := queue.Open(cfg.Queue.Dir)
	if err != nil {
		return nil, err
	}
	spool := filepath.Join(cfg.Queue.Dir, "spool")
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	ecfg := sanitize.Config{Policy: pol, Handlers: std.Handlers(spool), Inspectors: std.Inspectors(spool), Log: log, TempDir: spool}
	var vault sanitize.Vault
	if pol.Quarantine.Enabled {
		key, err := quarantine.LoadKey(pol.Quarantine.KeyFile, pol.Quarantine.KeyEnv)
		if err != nil {
			return nil, err
		}
		st, err := quarantine.Open(pol.Quarantine.Dir, key, pol.Quarantine.Retention)
		if err != nil {
			return nil, err
		}
		vault = st
		ecfg.Vault = st
	}
	var scanner sanitize.Scanner
	if pol.Clamd.Enabled {
		c, err := clamd.New(pol.Clamd.Address, pol.Clamd.Timeout)
		if err != nil {
			return nil, err
		}
		ecfg.Scanner, scanner = c, c
	}
	eng, err := sanitize.New(ecfg)
	if err != nil {
		return nil, err
	}
	mp := cfg.MailsanPolicy()
	if vault == nil {
		for _, a := range []mailsan.Action{mp.Attachments, mp.TNEF, mp.Encrypted, mp.Signatures, mp.Calendar, mp.EncryptedArchive, mp.Forwarded} {
			if a == mailsan.ActQuarantine {
				return nil, errors.New("mail policy uses quarantine but the sanitize policy disables the quarantine")
			}
		}
		mp.KeepOriginal = false
	}
	audit, err := OpenAudit(cfg.AuditLog)
	if err != nil {
		return nil, err
	}
	r := &Relay{
		cfg: cfg, log: log, vault: vault, Queue: q, audit: audit, spool: spool,
		san: &mailsan.Sanitizer{Policy: mp, Engine: eng, Vault: vault, Log: log, TempDir: spool,
			Scanner: scanner, ScanOptional: !pol.Clamd.Required},
		domains: map[string]bool{}, conns: map[string]int{}, hourly: map[string]int{},
	}
	for _, d := range cfg.Domains {
		r.domains[strings.ToLower(d)] = true
	}
	if cfg.Auth.Enabled {
		res := opt.Resolver
		if res == nil {
			res = NewResolver(cfg.Auth.DNSServer)
		}
		r.auth = &Authenticator{Resolver: res, Hostname: cfg.Hostname, Timeout: cfg.Auth.DNSTimeout.D(), Log: log}
	}
	r.Metrics = newMetrics(func() float64 { return float64(q.Len()) })
	return r, nil
}

// Addrs returns the bound SMTP addresses (after Start).
func (r *Relay) Addrs() []net.Addr { return r.addrs }

// Start binds the listeners and starts serving and delivering. It returns
// once everything listens; ctx ends it all.
func (r *Relay) Start(ctx context.Context) error {
	for _, lc := range r.cfg.Listeners {
		s := smtp.NewServer(smtp.BackendFunc(r.newSession))
		s.Domain = r.cfg.Hostname
		s.ReadTimeout = r.cfg.Limits.CommandTimeout.D()
		s.WriteTimeout = r.cfg.Limits.CommandTimeout.D()
		s.MaxMessageBytes = r.cfg.Limits.MaxMessageBytes
		s.MaxRecipients = r.cfg.Limits.MaxRecipients
		s.MaxLineLength = 4096
		s.EnableSMTPUTF8 = true
		s.ErrorLog = slogLogger{r.log}
		if lc.TLSCert != "" {
			cert, err := tls.LoadX509KeyPair(lc.TLSCert, lc.TLSKey)
			if err != nil {
				return fmt.Errorf("listener %s: %w", lc.Address, err)
			}
			s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		l, err := net.Listen("tcp", lc.Address)
		if err != nil {
			return fmt.Errorf("listener: %w", err)
		}
		r.addrs = append(r.addrs, l.Addr())
		r.servers = append(r.servers, s)
		go s.Serve(&limitListener{Listener: l, r: r})
		r.log.Info("mailgate listening", "addr", l.Addr().String(), "starttls", s.TLSConfig != nil)
	}
	if a := r.cfg.Metrics.Address; a != "" {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("metrics listener: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(r.Metrics.Reg, promhttp.HandlerOpts{}))
		hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(l)
		go func() { <-ctx.Done(); hs.Close() }()
	}
	d := newDeliverer(r)
	go d.run(ctx)
	go func() {
		<-ctx.Done()
		for _, s := range r.servers {
			s.Close()
		}
		r.audit.Close()
	}()
	return nil
}

type slogLogger struct{ l *slog.Logger }

func (s slogLogger) Printf(f string, v ...any) { s.l.Debug("smtp", "msg", fmt.Sprintf(f, v...)) }
func (s slogLogger) Println(v ...any)          { s.l.Debug("smtp", "msg", fmt.Sprint(v...)) }

// limitListener enforces the connection limits before the greeting
// (RFC 5321 §3.8: a 421 reply and close).
type limitListener struct {
	net.Listener
	r *Relay
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := hostOf(c.RemoteAddr())
		if l.r.connOpen(ip) {
			l.r.Metrics.Connections.WithLabelValues("accepted").Inc()
			return &trackedConn{Conn: c, release: func() { l.r.connClose(ip) }}, nil
		}
		l.r.Metrics.Connections.WithLabelValues("limited").Inc()
		l.r.log.Warn("connection limit", "ip", ip)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "421 4.7.0 Too many connections, try again later\r\n")
		c.Close()
	}
}

type trackedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *trackedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}

func hostOf(a net.Addr) string {
	h, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return h
}

func (r *Relay) connOpen(ip string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.total >= r.cfg.Limits.MaxConnections || r.conns[ip] >= r.cfg.Limits.MaxConnectionsPerIP {
		return false
	}
	r.total++
	r.conns[ip]++
	return true
}

func (r *Relay) connClose(ip string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total--
	if r.conns[ip]--; r.conns[ip] <= 0 {
		delete(r.conns, ip)
	}
}

// allowMessage counts a message against the per-IP hourly budget.
func (r *Relay) allowMessage(ip string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h := time.Now().Unix() / 3600; h != r.hourKey {
		r.hourKey, r.hourly = h, map[string]int{}
	}
	if r.hourly[ip] >= r.cfg.Limits.MaxMessagesPerIPHour {
		return false
	}
	r.hourly[ip]++
	return true
}

// Generic replies: the peer learns the class of the problem, never the
// details (those go to the log and the audit record).
var (
	errRelayDenied = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied"}
	errBadAddress  = &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	errRate        = &smtp.SMTPError{Code: 450, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "Too many messages, try again later"}
	errMalformed   = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message content rejected"}
	errPolicy      = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message refused by policy"}
	errDMARC       = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Message rejected by sender domain policy"}
	errLoop        = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 4, 6}, Message: "Routing loop detected"}
	errSlow        = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "Data transfer too slow"}
	errTemp        = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Temporary local problem, try again later"}
)

type session struct {
	r    *Relay
	c    *smtp.Conn
	ip   string
	from string
	to   []string
}

func (r *Relay) newSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{r: r, c: c, ip: hostOf(c.Conn().RemoteAddr())}, nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.r.allowMessage(s.ip) {
		s.r.log.Warn("message rate limit", "ip", s.ip)
		return errRate
	}
	s.from, s.to = from, nil
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	// Source routes and the %-hack are relay tricks (RFC 5321 §3.6.1).
	if strings.Count(to, "@") != 1 || strings.ContainsAny(to, "%!:,\"\\ ") {
		return errBadAddress
	}
	if !s.r.domains[domainOf(to)] {
		s.r.log.Info("relay denied", "ip", s.ip, "rcpt", to)
		return errRelayDenied
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(rd io.Reader) error {
	start := time.Now()
	rec := &AuditRecord{Time: start, Event: "received", ClientIP: s.ip, Helo: s.c.Hostname(), From: s.from, To: s.to, Millis: map[string]int64{}}
	_, rec.TLS = s.c.TLSConnectionState()
	err := s.r.accept(s, rd, rec, start)
	rec.Millis["total"] = time.Since(start).Milliseconds()
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			rec.Reply = fmt.Sprintf("%d %d.%d.%d", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2])
		}
		if rec.Event == "received" {
			rec.Event = "rejected"
		}
	} else if rec.Reply == "" {
		rec.Reply = "250 2.0.0"
	}
	if aerr := s.r.audit.Write(rec); aerr != nil {
		s.r.log.Error("audit", "err", aerr)
	}
	return err
}

// accept runs spool → authentication → sanitization → durable queue. It
// returns nil (250) only after the sanitized message is fsynced.
func (r *Relay) accept(s *session, rd io.Reader, rec *AuditRecord, start time.Time) error {
	defer func() { r.Metrics.Accept.Observe(time.Since(start).Seconds()) }()
	f, err := os.CreateTemp(r.spool, "in-*")
	if err != nil {
		r.log.Error("spool", "err", err)
		r.Metrics.Messages.WithLabelValues("temp_error").Inc()
		return errTemp
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// The SMTP library arms the read deadline once per command line, so
	// during DATA the deadline set here bounds the whole transfer: a client
	// trickling one line a minute cannot hold the connection for ever.
	s.c.Conn().SetReadDeadline(start.Add(r.cfg.Limits.DataTimeout.D()))
	size, err := io.Copy(f, rd)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		r.log.Warn("DATA too slow", "ip", s.ip)
		r.Metrics.Messages.WithLabelValues("timeout").Inc()
		return errSlow
	}
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			r.Metrics.Messages.WithLabelValues("too_large").Inc()
			return se // 552 from go-smtp
		}
		r.Metrics.Messages.WithLabelValues("temp_error").Inc()
		return errTemp
	}
	rec.SizeIn = size
	r.Metrics.Bytes.WithLabelValues("in").Add(float64(size))
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Limits.DataTimeout.D())
	defer cancel()

	ip := net.ParseIP(s.ip)
	var extra [][2]string
	tlsWord := "ESMTP"
	if rec.TLS {
		tlsWord = "ESMTPS"
	}
	qid := queue.NewID()
	rec.QueueID = qid
	extra = append(extra, [2]string{"Received", fmt.Sprintf("from %s ([%s]) by %s (kyojin mailgate) with %s id %s; %s",
		sanitizeToken(s.c.Hostname()), s.ip, r.cfg.Hostname, tlsWord, qid, time.Now().Format(time.RFC1123Z))})
	if r.auth != nil {
		t := time.Now()
		ar := r.auth.Check(ctx, ip, s.c.Hostname(), s.from, io.NewSectionReader(f, 0, size))
		rec.Millis["auth"] = time.Since(t).Milliseconds()
		rec.Auth = ar
		r.Metrics.AuthResults.WithLabelValues("spf", string(ar.SPF)).Inc()
		r.Metrics.AuthResults.WithLabelValues("dmarc", ar.DMARC).Inc()
		extra = append(extra, [2]string{"Authentication-Results", ar.Header})
		if ar.DMARC == "fail" {
			act := "none"
			switch ar.DMARCPolicy {
			case "reject":
				act = r.cfg.Auth.OnReject
			case "quarantine":
				act = r.cfg.Auth.OnQuarantine
			}
			switch act {
			case "reject":
				r.Metrics.Messages.WithLabelValues("rejected_dmarc").Inc()
				rec.Reason = "dmarc fail, policy " + ar.DMARCPolicy
				return errDMARC
			case "quarantine":
				if r.vault == nil {
					return errDMARC
				}
				ref, err := r.vault.Put(ctx, io.NewSectionReader(f, 0, size), sanitize.VaultMeta{RecordID: qid, Name: "message.eml", Size: size, Verdict: sanitize.VerdictHeld, Reason: "dmarc"})
				if err != nil {
					r.log.Error("dmarc quarantine", "err", err)
					return errTemp
				}
				rec.Event, rec.Original, rec.Reason = "quarantined", ref, "dmarc fail, policy "+ar.DMARCPolicy
				r.Metrics.Messages.WithLabelValues("quarantined_dmarc").Inc()
				return nil // accepted; kept, not delivered
			case "tag":
				extra = append(extra, [2]string{"X-Kyojin-Warning", "DMARC fail (possible spoofing / なりすましの疑い)"})
			}
		}
	}

	t := time.Now()
	var res *mailsan.Result
	env := &queue.Envelope{ID: qid, From: s.from, To: append([]string(nil), s.to...), Received: start, ClientIP: s.ip}
	err = r.Queue.Put(env, func(w io.Writer) (int64, error) {
		var err error
		if res, err = r.san.Sanitize(ctx, f, size, extra, w); err != nil {
			return 0, err
		}
		return res.SizeOut, nil
	})
	rec.Millis["sanitize_queue"] = time.Since(t).Milliseconds()
	if res != nil {
		rec.MessageID, rec.Actions, rec.Parts, rec.Original, rec.SizeOut = res.MessageID, res.Actions, res.Parts, res.Original, res.SizeOut
		for _, a := range res.Actions {
			r.Metrics.Actions.WithLabelValues(strings.SplitN(a, "=", 2)[0]).Inc()
		}
	}
	switch {
	case err == nil:
		r.Metrics.Messages.WithLabelValues("queued").Inc()
		r.Metrics.Bytes.WithLabelValues("out").Add(float64(env.Size))
		return nil
	case errors.Is(err, mailsan.ErrVirus):
		rec.Reason = err.Error()
		r.Metrics.Messages.WithLabelValues("rejected_virus").Inc()
		r.log.Warn("virus", "qid", qid, "ip", s.ip, "err", err)
		return errPolicy
	case errors.Is(err, mailsan.ErrLoop):
		rec.Reason = err.Error()
		r.Metrics.Messages.WithLabelValues("rejected_loop").Inc()
		return errLoop
	case errors.Is(err, mailsan.ErrMalformed):
		rec.Reason = err.Error()
		r.Metrics.Messages.WithLabelValues("rejected_malformed").Inc()
		r.log.Info("message rejected", "qid", qid, "ip", s.ip, "err", err)
		return errMalformed
	case errors.Is(err, mailsan.ErrPolicy):
		rec.Reason = err.Error()
		r.Metrics.Messages.WithLabelValues("rejected_policy").Inc()
		r.log.Info("message refused", "qid", qid, "ip", s.ip, "err", err)
		return errPolicy
	default:
		rec.Reason = "temporary failure"
		r.Metrics.Messages.WithLabelValues("temp_error").Inc()
		r.log.Error("message not queued", "qid", qid, "ip", s.ip, "err", err)
		return errTemp
	}
}

func sanitizeToken(s string) string {
	return strings.Map(func(r rune) rune {
		if r > ' ' && r < 0x7f && r != '(' && r != ')' && r != ';' {
			return r
		}
		return -1
	}, s)
}
