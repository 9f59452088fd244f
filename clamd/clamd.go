// Package clamd is a small client for the ClamAV daemon: PING and zINSTREAM
// (the stream is sent in length-prefixed chunks, ended by a zero-length
// chunk, as clamd(8) documents), over a unix socket or TCP, with timeouts.
package clamd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultChunkSize is the INSTREAM chunk size; clamd accepts any size up to
// its StreamMaxLength in total.
const DefaultChunkSize = 64 << 10

// Client talks to one clamd. The zero value is not usable; use New.
type Client struct {
	network, address string
	// Timeout bounds each whole operation when the context has no earlier deadline.
	Timeout   time.Duration
	ChunkSize int
}

// New parses addr: "unix:/path", "tcp:host:port", an absolute path (unix
// socket) or "host:port" (TCP).
func New(addr string, timeout time.Duration) (*Client, error) {
	c := &Client{Timeout: timeout, ChunkSize: DefaultChunkSize}
	switch {
	case strings.HasPrefix(addr, "unix:"):
		c.network, c.address = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "tcp:"):
		c.network, c.address = "tcp", strings.TrimPrefix(addr, "tcp:")
	case strings.HasPrefix(addr, "/"):
		c.network, c.address = "unix", addr
	case strings.Contains(addr, ":"):
		c.network, c.address = "tcp", addr
	default:
		return nil, fmt.Errorf("clamd: address %q is neither unix:/path nor host:port", addr)
	}
	if c.address == "" {
		return nil, fmt.Errorf("clamd: empty address in %q", addr)
	}
	return c, nil
}

// ErrScan is returned when clamd answers with an error (e.g. the stream is
// over StreamMaxLength); the content was not scanned.
var ErrScan = errors.New("clamd: scan error")

func (c *Client) dial(ctx context.Context) (net.Conn, error) {
	dctx := ctx
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		dctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	var d net.Dialer
	conn, err := d.DialContext(dctx, c.network, c.address)
	if err != nil {
		return nil, fmt.Errorf("clamd: connect: %w", err)
	}
	deadline, ok := ctx.Deadline()
	if c.Timeout > 0 && (!ok || time.Now().Add(c.Timeout).Before(deadline)) {
		deadline, ok = time.Now().Add(c.Timeout), true
	}
	if ok {
		conn.SetDeadline(deadline)
	}
	// Closing the connection is how a cancelled context interrupts I/O.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	return &stopConn{Conn: conn, stop: stop}, nil
}

type stopConn struct {
	net.Conn
	stop func() bool
}

func (s *stopConn) Close() error { s.stop(); return s.Conn.Close() }

// Ping checks that clamd answers PONG.
func (c *Client) Ping(ctx context.Context) error {
	conn, err := c.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("zPING\x00")); err != nil {
		return fmt.Errorf("clamd: ping: %w", err)
	}
	reply, err := readReply(conn)
	if err != nil {
		return fmt.Errorf("clamd: ping: %w", err)
	}
	if reply != "PONG" {
		return fmt.Errorf("clamd: ping: unexpected reply %q", reply)
	}
	return nil
}

// Scan streams r to clamd. It returns the signature name when clamd reports
// FOUND, "" when the stream is clean, and an error otherwise.
func (c *Client) Scan(ctx context.Context, r io.Reader) (string, error) {
	conn, err := c.dial(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if err := c.send(conn, r); err != nil {
		// clamd closes the stream early when it is over StreamMaxLength;
		// its reply then says why.
		if reply, rerr := readReply(conn); rerr == nil && reply != "" {
			return parseScanReply(reply)
		}
		return "", err
	}
	reply, err := readReply(conn)
	if err != nil {
		return "", fmt.Errorf("clamd: read reply: %w", err)
	}
	return parseScanReply(reply)
}

func (c *Client) send(conn net.Conn, r io.Reader) error {
	w := bufio.NewWriterSize(conn, c.ChunkSize+4)
	if _, err := w.WriteString("zINSTREAM\x00"); err != nil {
		return fmt.Errorf("clamd: send: %w", err)
	}
	size := c.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	buf := make([]byte, size)
	var hdr [4]byte
	for {
		n, rerr := io.ReadFull(r, buf)
		if n > 0 {
			binary.BigEndian.PutUint32(hdr[:], uint32(n))
			w.Write(hdr[:])
			if _, err := w.Write(buf[:n]); err != nil {
				return fmt.Errorf("clamd: send: %w", err)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return fmt.Errorf("clamd: read input: %w", rerr)
		}
	}
	w.Write([]byte{0, 0, 0, 0})
	if err := w.Flush(); err != nil {
		return fmt.Errorf("clamd: send: %w", err)
	}
	return nil
}

// readReply reads one NUL-terminated reply (z-prefixed commands).
func readReply(r io.Reader) (string, error) {
	b, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadBytes(0)
	if err != nil && len(b) == 0 {
		return "", err
	}
	return string(bytes.TrimRight(b, "\x00\n")), nil
}

// parseScanReply interprets "stream: OK", "stream: NAME FOUND" and "... ERROR".
func parseScanReply(reply string) (string, error) {
	body := reply
	if i := strings.Index(reply, ": "); i >= 0 {
		body = reply[i+2:]
	}
	switch {
	case body == "OK":
		return "", nil
	case strings.HasSuffix(body, " FOUND"):
		// An empty signature name must still read as infected (fail closed).
		name := strings.TrimSpace(strings.TrimSuffix(body, " FOUND"))
		if name == "" {
			name = "(unnamed)"
		}
		return name, nil
	case strings.HasSuffix(body, " ERROR"):
		return "", fmt.Errorf("%w: %s", ErrScan, strings.TrimSuffix(body, " ERROR"))
	}
	return "", fmt.Errorf("%w: unexpected reply %q", ErrScan, reply)
}
