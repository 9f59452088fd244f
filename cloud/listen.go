package cloud

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/logparse"
)

// Server runs the configured listeners into an Intake.
type Server struct {
	cfg *Config
	in  *Intake

	mu    sync.Mutex
	addrs map[string]net.Addr // bound addresses by listener name (for tests and logs)
	wg    sync.WaitGroup
	intel *intel.Hub // GET /v1/intel (intelfeed.go); nil: not served
}

// NewServer returns a Server for cfg.
func NewServer(cfg *Config, in *Intake) *Server {
	return &Server{cfg: cfg, in: in, addrs: map[string]net.Addr{}}
}

// Addr returns the bound address of a listener once Start returned.
func (s *Server) Addr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addrs[name]
}

// Start binds every listener and serves until ctx ends; Wait returns once
// all of them stopped.
func (s *Server) Start(ctx context.Context) error {
	for i := range s.cfg.Listeners {
		l := &s.cfg.Listeners[i]
		var err error
		switch l.Type {
		case "udp":
			err = s.startUDP(ctx, l)
		case "tcp":
			err = s.startStream(ctx, l, nil)
		case "tls":
			var tc *tls.Config
			if tc, err = serverTLS(l); err == nil {
				err = s.startStream(ctx, l, tc)
			}
		case "http":
			err = s.startHTTP(ctx, l)
		}
		if err != nil {
			return fmt.Errorf("cloud: listener %s: %w", l.Name, err)
		}
	}
	return nil
}

// Wait blocks until every listener stopped.
func (s *Server) Wait() { s.wg.Wait() }

func (s *Server) bound(name string, a net.Addr) {
	s.mu.Lock()
	s.addrs[name] = a
	s.mu.Unlock()
}

func addrOf(a net.Addr) netip.Addr {
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

// startUDP: one datagram is one message (RFC 5426 §3.1). UDP has no flow
// control, so a full queue drops and counts.
func (s *Server) startUDP(ctx context.Context, l *Listener) error {
	pc, err := net.ListenPacket("udp", l.Address)
	if err != nil {
		return err
	}
	s.bound(l.Name, pc.LocalAddr())
	s.wg.Add(2)
	go func() { defer s.wg.Done(); <-ctx.Done(); pc.Close() }()
	go func() {
		defer s.wg.Done()
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				s.in.log.Warn("cloud: udp read", "listener", l.Name, "err", err)
				continue
			}
			tenant, format, ok := s.cfg.Resolve(Peer{Listener: l.Name, Addr: addrOf(from)}, l.Format)
			if !ok {
				s.in.Unclaimed(l.Name)
				continue
			}
			s.in.TrySubmit(tenant, format, append([]byte(nil), buf[:n]...))
		}
	}()
	return nil
}

func serverTLS(l *Listener) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(l.Cert, l.Key)
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(l.ClientCA)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("client_ca holds no certificate")
	}
	// RFC 5425 §5.2: mutual authentication with certificates.
	return &tls.Config{Certificates: []tls.Certificate{cert}, ClientCAs: pool,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12}, nil
}

func (s *Server) startStream(ctx context.Context, l *Listener, tc *tls.Config) error {
	ln, err := net.Listen("tcp", l.Address)
	if err != nil {
		return err
	}
	s.bound(l.Name, ln.Addr())
	s.wg.Add(2)
	var conns sync.WaitGroup
	go func() { defer s.wg.Done(); <-ctx.Done(); ln.Close() }()
	go func() {
		defer s.wg.Done()
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
				continue
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				stop := context.AfterFunc(ctx, func() { c.Close() })
				defer stop()
				s.serveConn(ctx, l, c, tc)
			}()
		}
	}()
	return nil
}

func (s *Server) serveConn(ctx context.Context, l *Listener, c net.Conn, tc *tls.Config) {
	defer func() {
		if r := recover(); r != nil {
			s.in.log.Error("cloud: connection handler panic", "listener", l.Name, "panic", r)
		}
	}()
	peer := Peer{Listener: l.Name, Addr: addrOf(c.RemoteAddr())}
	if tc != nil {
		tl := tls.Server(c, tc)
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := tl.HandshakeContext(hctx)
		cancel()
		if err != nil {
			s.in.log.Warn("cloud: tls handshake failed", "listener", l.Name, "peer", c.RemoteAddr().String(), "err", err)
			return
		}
		st := tl.ConnectionState()
		leaf := st.PeerCertificates[0]
		sum := sha256.Sum256(leaf.Raw)
		peer.CertCN, peer.CertSHA256 = leaf.Subject.CommonName, hex.EncodeToString(sum[:])
		c = tl
	}
	tenant, format, ok := s.cfg.Resolve(peer, l.Format)
	if !ok {
		s.in.Unclaimed(l.Name)
		s.in.log.Warn("cloud: connection from an unconfigured source refused", "listener", l.Name, "peer", peer.Addr.String(), "cn", peer.CertCN)
		return
	}
	err := ReadFrameBatches(bufio.NewReaderSize(c, 64<<10), maxBatch, func(block []byte, frames [][]byte) error {
		return s.in.SubmitBlock(ctx, tenant, format, block, frames)
	})
	if errors.Is(err, ErrFraming) {
		s.in.Counter(tenant).Framing.Add(1)
	}
	if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		s.in.log.Warn("cloud: stream ended", "listener", l.Name, "tenant", tenant, "err", err)
	}
}

// ErrFraming marks a stream that cannot be split into messages any more.
var ErrFraming = errors.New("syslog framing error")

// ReadFrames splits a syslog stream into messages (RFC 6587 §3.4): a frame
// starting with a digit is octet-counted ("LEN SP MSG"), otherwise it ends
// at LF (non-transparent framing). Frames longer than logparse.MaxLine are
// cut to MaxLine+1 bytes (so the parser flags them) and the rest skipped.
// Each frame is a slice of its own, which fn may keep. fn's error stops
// reading.
func ReadFrames(r *bufio.Reader, fn func([]byte) error) error {
	for {
		frame, ok, err := appendFrame(r, nil)
		if ok {
			if ferr := fn(frame); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return err
		}
	}
}

// ReadFrameBatches is ReadFrames handing fn the frames in batches: the
// frames the reader had buffered at once, at most max. A batch is handed
// over as soon as the reader has nothing more buffered, so a lone line is
// never held back waiting for the next. The frames of a batch are slices
// of one block (block[start:end], capacity to the block's end), read into
// a fresh block per batch: fn may keep them, and a worker can make one
// string of the block instead of one per line (Intake.SubmitBatch).
func ReadFrameBatches(r *bufio.Reader, max int, fn func(block []byte, frames [][]byte) error) error {
	var block []byte
	var ends []int
	hand := func() error {
		frames := make([][]byte, len(ends))
		start := 0
		for i, e := range ends {
			frames[i] = block[start:e:len(block)]
			start = e
		}
		b := block
		block, ends = nil, ends[:0]
		return fn(b, frames)
	}
	for {
		if block == nil {
			// size the block by what the reader holds once it holds
			// something: growing it line by line costs more than the rest
			// of the framing
			_, _ = r.Peek(1)
			block = make([]byte, 0, min(r.Buffered()+512, maxBlock))
		}
		var ok bool
		var err error
		before := len(block)
		block, ok, err = appendFrame(r, block)
		if ok {
			ends = append(ends, len(block))
		} else {
			block = block[:before]
		}
		if len(ends) > 0 && (err != nil || len(ends) >= max || len(block) >= maxBlock-1024 || r.Buffered() == 0) {
			if ferr := hand(); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return err
		}
	}
}

// maxBlock bounds a batch's block (a longer frame still goes in whole):
// below 32 KiB the block is a small allocation, which is much cheaper.
const maxBlock = 30 << 10

// appendFrame reads the next frame and appends it to dst; ok is false
// when there was none (a blank line, or an error before any byte). On an
// error after part of a newline-framed frame, the part is the frame.
func appendFrame(r *bufio.Reader, dst []byte) (out []byte, ok bool, err error) {
	limit := logparse.MaxLine + 1
	if _, err := r.Peek(1); err != nil {
		return dst, false, err
	}
	if octetCounted(r) {
		lenStr, err := r.ReadSlice(' ')
		if err != nil {
			return dst, false, fmt.Errorf("%w: octet count: %w", ErrFraming, err)
		}
		n, err := strconv.Atoi(string(lenStr[:len(lenStr)-1]))
		if err != nil || n <= 0 || n > 1<<30 {
			return dst, false, fmt.Errorf("%w: bad octet count %q", ErrFraming, lenStr)
		}
		start := len(dst)
		dst = slices.Grow(dst, min(n, limit))[:start+min(n, limit)]
		if _, err := io.ReadFull(r, dst[start:]); err != nil {
			return dst[:start], false, err
		}
		if n > limit {
			if _, err := r.Discard(n - limit); err != nil {
				return dst, true, err
			}
		}
		return dst, true, nil
	}
	return appendLine(r, dst, limit)
}

// appendLine reads one LF-terminated frame onto dst, cut to limit bytes;
// ok is false for a blank line. On an error after part of a line, the
// part is the frame.
func appendLine(r *bufio.Reader, dst []byte, limit int) (out []byte, ok bool, err error) {
	start := len(dst)
	over := false
	for {
		chunk, err := r.ReadSlice('\n')
		if len(dst)-start+len(chunk) <= limit {
			dst = append(dst, chunk...)
		} else if !over {
			dst = append(dst, chunk[:limit-(len(dst)-start)]...)
			over = true
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return dst, len(dst) > start, err
		}
		break
	}
	return dst, len(bytes.TrimSpace(dst[start:])) > 0, nil
}

// readLine reads one LF-terminated frame and passes it to fn unless blank.
func readLine(r *bufio.Reader, limit int, fn func([]byte) error) error {
	line, ok, err := appendLine(r, nil, limit)
	if ok {
		if ferr := fn(line); ferr != nil {
			return ferr
		}
	}
	return err
}

// ReadLines calls fn for each newline-terminated line of r (the last may
// lack the newline); lines over logparse.MaxLine are cut to MaxLine+1 bytes
// so the parser flags them. It returns io.EOF at the end.
func ReadLines(r *bufio.Reader, fn func([]byte) error) error {
	for {
		if err := readLine(r, logparse.MaxLine+1, fn); err != nil {
			return err
		}
	}
}

// octetCounted looks ahead for "DIGITS SP" (at most 10 digits, no leading
// zero); anything else — including bare Squid lines starting with an epoch
// "1700000000.123 " — is newline framed.
//
// It looks only at what is buffered unless that is all digits so far: a
// short newline-framed line must not wait for more bytes to arrive.
func octetCounted(r *bufio.Reader) bool {
	for n := max(r.Buffered(), 1); ; n++ {
		b, _ := r.Peek(min(n, 11))
		if len(b) == 0 || b[0] < '1' || b[0] > '9' {
			return false
		}
		for i := 1; i < len(b); i++ {
			switch {
			case b[i] == ' ':
				return true
			case b[i] < '0' || b[i] > '9':
				return false
			}
		}
		if len(b) < n || n >= 11 {
			return false // the stream ended, or eleven digits
		}
	}
}

// MaxHTTPBody bounds one HTTP batch.
const MaxHTTPBody = 16 << 20

func (s *Server) startHTTP(ctx context.Context, l *Listener) error {
	ln, err := net.Listen("tcp", l.Address)
	if err != nil {
		return err
	}
	s.bound(l.Name, ln.Addr())
	mux := http.NewServeMux()
	mux.Handle("POST /v1/events", s.httpHandler(l))
	mux.Handle("GET /v1/intel", s.intelHandler(l))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: nil}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		defer s.wg.Done()
		var err error
		if l.Cert != "" {
			err = srv.ServeTLS(ln, l.Cert, l.Key)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.in.log.Error("cloud: http listener stopped", "listener", l.Name, "err", err)
		}
	}()
	return nil
}

// httpHandler accepts POST /v1/events with "Authorization: Bearer TOKEN".
// Body: NDJSON (each line one log line; objects are kept as JSON lines) or
// a JSON array of strings or objects. A batch the queue cannot take now is
// refused whole with 429; a batch that stalls midway answers 503 with
// X-Kyojin-Accepted so the sender resends only the rest.
func (s *Server) httpHandler(l *Listener) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rec := recover(); rec != nil {
				s.in.log.Error("cloud: http handler panic", "panic", rec)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || tok == "" {
			s.in.Unclaimed(l.Name)
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		tenant, format, ok := s.cfg.Resolve(Peer{Token: tok}, l.Format)
		if !ok || !s.tokenTenant(tok, tenant) {
			s.in.Unclaimed(l.Name)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxHTTPBody))
		if err != nil {
			http.Error(w, "body too large or unreadable", http.StatusRequestEntityTooLarge)
			return
		}
		lines, err := splitBatch(body)
		if err != nil {
			http.Error(w, "bad batch: "+err.Error(), http.StatusBadRequest)
			return
		}
		// a batch larger than the tenant's queue goes in once the queue is
		// empty, the rest as workers drain it (503 below if they stall)
		if s.in.Free(tenant) < min(len(lines), s.in.Capacity()) {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "queue full", http.StatusTooManyRequests)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		defer cancel()
		for i := 0; i < len(lines); i += maxBatch {
			if err := s.in.SubmitBatch(ctx, tenant, format, lines[i:min(i+maxBatch, len(lines))]); err != nil {
				w.Header().Set("X-Kyojin-Accepted", strconv.Itoa(i))
				w.Header().Set("Retry-After", "1")
				http.Error(w, "queue full", http.StatusServiceUnavailable)
				return
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"accepted":%d}`+"\n", len(lines))
	})
}

// tokenTenant makes sure the tenant was chosen by the token itself and not
// by a lower-ranked rule (HTTP carries no other identity).
func (s *Server) tokenTenant(tok, tenant string) bool {
	for _, t := range s.cfg.Tenants {
		for _, src := range t.Sources {
			if src.Token != "" && constantTimeEq(src.Token, tok) {
				return t.ID == tenant
			}
		}
	}
	return false
}

func splitBatch(body []byte) ([][]byte, error) {
	trim := strings.TrimSpace(string(body))
	if strings.HasPrefix(trim, "[") {
		var arr []json.RawMessage
		if err := json.Unmarshal(body, &arr); err != nil {
			return nil, err
		}
		out := make([][]byte, 0, len(arr))
		for _, m := range arr {
			var str string
			if json.Unmarshal(m, &str) == nil {
				out = append(out, []byte(str))
				continue
			}
			out = append(out, []byte(m))
		}
		return out, nil
	}
	var out [][]byte
	for line := range strings.SplitSeq(trim, "\n") {
		if line = strings.TrimRight(line, "\r"); strings.TrimSpace(line) != "" {
			out = append(out, []byte(line))
		}
	}
	return out, nil
}
