// Package notifytest is a webhook receiver for tests of the packages that
// send notifications: a real HTTPS server (httptest TLS) that verifies each
// request's signature as a receiver must (notify.VerifySignature) and keeps
// the payloads.
package notifytest

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/notify"
)

// Secret is the HMAC key of the receiver's webhook (≥ 16 bytes).
const Secret = "notifytest-webhook-secret-0123456789"

// Receiver is a signed-webhook endpoint.
type Receiver struct {
	Srv    *httptest.Server
	CAFile string           // PEM of the server certificate, for ca_file
	Now    func() time.Time // the clock signatures are checked against

	mu     sync.Mutex
	got    []notify.WebhookPayload
	badSig int
}

// New starts a receiver, closed at the end of the test. now may be nil.
func New(t testing.TB, now func() time.Time) *Receiver {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	r := &Receiver{Now: now}
	r.Srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
		if err := notify.VerifySignature([]byte(Secret), req.Header.Get(notify.HeaderTimestamp), req.Header.Get(notify.HeaderSignature), body, r.Now(), 5*time.Minute); err != nil {
			r.mu.Lock()
			r.badSig++
			r.mu.Unlock()
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, p)
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Srv.Close)
	r.CAFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(r.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.Srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

// Webhook is the YAML of a webhooks: list item named name that posts to
// the receiver, its secret given inline.
func (r *Receiver) Webhook(name string) string {
	return fmt.Sprintf("  - name: %s\n    url: %s/hook\n    ca_file: %s\n    timeout: 5s\n    secret: {value: %q}\n", name, r.Srv.URL, r.CAFile, Secret)
}

// Got returns the payloads received with a valid signature, in order.
func (r *Receiver) Got() []notify.WebhookPayload {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]notify.WebhookPayload(nil), r.got...)
}

// BadSignatures counts the requests refused for their signature.
func (r *Receiver) BadSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.badSig
}

// Wait polls until cond holds for the payloads received or timeout passes,
// and returns them.
func (r *Receiver) Wait(timeout time.Duration, cond func([]notify.WebhookPayload) bool) ([]notify.WebhookPayload, bool) {
	deadline := time.Now().Add(timeout)
	for {
		got := r.Got()
		if cond(got) {
			return got, true
		}
		if time.Now().After(deadline) {
			return got, false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kinds lists the kinds of payloads.
func Kinds(ps []notify.WebhookPayload) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p.Kind)
	}
	return out
}
