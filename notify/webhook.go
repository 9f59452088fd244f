package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook request. The signature is
// "v1=" + hex(HMAC-SHA256(secret, timestamp + "." + body)); receivers check
// it with VerifySignature (docs/notify.md shows it in a few lines of any
// language).
const (
	HeaderTimestamp = "Kyojin-Timestamp" // Unix seconds of this attempt
	HeaderSignature = "Kyojin-Signature"
	HeaderDelivery  = "Kyojin-Delivery" // outbox ID, the same on every retry
)

// maxResponse is how much of a receiver's answer is read (then dropped):
// enough to reuse the connection, never enough to hurt.
const maxResponse = 64 << 10

// WebhookPayload is the JSON body of a webhook request.
type WebhookPayload struct {
	ID       string         `json:"id"`
	Kind     Kind           `json:"kind"`
	Tenant   string         `json:"tenant"`
	Severity Severity       `json:"severity"`
	Title    string         `json:"title"`
	Time     time.Time      `json:"time"`
	Link     string         `json:"link,omitempty"`
	Ref      *Ref           `json:"ref,omitempty"`
	Data     map[string]any `json:"data,omitempty"`
	Subject  string         `json:"subject,omitempty"` // rendered, when include_text
	Text     string         `json:"text,omitempty"`
	Lang     string         `json:"lang,omitempty"`
}

type hook struct {
	cfg    *WebhookConfig
	secret []byte
	client *http.Client
}

func newHook(c *WebhookConfig) (*hook, error) {
	sec, err := c.Secret.Resolve()
	if err != nil {
		return nil, fmt.Errorf("notify: webhook %s secret: %w", c.Name, err)
	}
	if len(sec) < 16 {
		return nil, fmt.Errorf("notify: webhook %s secret is shorter than 16 bytes", c.Name)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := loadPool(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("notify: webhook %s ca_file: %w", c.Name, err)
		}
		tc.RootCAs = pool
	}
	tr := &http.Transport{TLSClientConfig: tc, MaxIdleConnsPerHost: 8, IdleConnTimeout: time.Minute,
		TLSHandshakeTimeout: c.Timeout.D(), ResponseHeaderTimeout: c.Timeout.D(), ForceAttemptHTTP2: true}
	return &hook{cfg: c, secret: []byte(sec), client: &http.Client{
		Transport: tr,
		Timeout:   c.Timeout.D(),
		// A redirect could carry the signed notification to another host;
		// receivers must be configured with their final URL.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// Sign computes the signature header value for body sent at ts.
func Sign(secret []byte, ts time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(ts.Unix(), 10)
	return timestamp, "v1=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Errors of VerifySignature.
var (
	ErrBadSignature = errors.New("notify: bad webhook signature")
	ErrStale        = errors.New("notify: webhook timestamp outside the tolerance")
)

// VerifySignature is what a receiver runs: it checks the headers of a
// request against its body, in constant time, and refuses timestamps more
// than tolerance away from now (replays).
func VerifySignature(secret []byte, timestamp, signature string, body []byte, now time.Time, tolerance time.Duration) error {
	if len(timestamp) == 0 || len(timestamp) > 12 {
		return ErrBadSignature
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || sec < 0 {
		return ErrBadSignature
	}
	ts := time.Unix(sec, 0)
	if ts.Before(now.Add(-tolerance)) || ts.After(now.Add(tolerance)) {
		return ErrStale
	}
	got, ok := strings.CutPrefix(signature, "v1=")
	if !ok {
		return ErrBadSignature
	}
	if len(got) != 2*sha256.Size { // before decoding: hex.Decode writes len/2 bytes
		return ErrBadSignature
	}
	want := make([]byte, sha256.Size)
	if _, err := hex.Decode(want, []byte(got)); err != nil {
		return ErrBadSignature
	}
	// The MAC covers the header exactly as received, as a receiver in any
	// language computes it.
	if !hmac.Equal(want, mac(secret, timestamp, body)) {
		return ErrBadSignature
	}
	return nil
}

func (h *hook) send(ctx context.Context, it *Item, now time.Time) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(it.Payload))
	if err != nil {
		return &permanentError{err}
	}
	ts, sig := Sign(h.secret, now, it.Payload)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "kyojin-notify/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, sig)
	req.Header.Set(HeaderDelivery, it.ID)
	resp, err := h.client.Do(req)
	if err != nil {
		// url.Error includes the URL, which may embed a token: keep only
		// the cause.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			if inner := ue.Unwrap(); inner != nil {
				err = inner
			}
		}
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests,
		resp.StatusCode == http.StatusServiceUnavailable:
		err := fmt.Errorf("HTTP %d", resp.StatusCode)
		// RFC 9110 §10.2.3: a receiver asking for time gets it (in seconds;
		// dates are ignored), within retry_max.
		if secs, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && secs > 0 {
			return &retryAfterError{err: err, after: time.Duration(min(secs, 86400)) * time.Second}
		}
		return err
	case resp.StatusCode >= 300 && resp.StatusCode < 400, resp.StatusCode == http.StatusBadRequest,
		resp.StatusCode == http.StatusRequestEntityTooLarge, resp.StatusCode == http.StatusUnprocessableEntity:
		// A redirect or a refused payload does not heal by itself. Other
		// 4xx (401 after a secret rotation, 404 during a redeployment) are
		// retried until give_up_after, so a fixed receiver still gets it.
		return &permanentError{fmt.Errorf("HTTP %d", resp.StatusCode)}
	}
	return fmt.Errorf("HTTP %d", resp.StatusCode)
}

// retryAfterError carries a receiver's Retry-After.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }
