// Package notifytest gives tests of notify's users a real HTTPS webhook
// receiver that checks each request's HMAC signature as a chat or
// ticketing system would (docs/notify.md).
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

// Secret is the webhook key the receiver verifies (≥ 16 bytes).
const Secret = "0123456789abcdef-notifytest-key"

// Receiver is a TLS webhook endpoint stopped when the test ends.
type Receiver struct {
	URL    string // base URL; post to URL + "/hook"
	CAFile string // PEM of its certificate, for the webhook's ca_file
	srv    *httptest.Server
	mu     sync.Mutex
	got    []notify.WebhookPayload
	bad    int
}

// Start starts a receiver.
func Start(t testing.TB) *Receiver {
	t.Helper()
	r := &Receiver{}
	r.srv = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	r.URL = r.srv.URL
	r.CAFile = filepath.Join(t.TempDir(), "receiver-ca.pem")
	if err := os.WriteFile(r.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	r.mu.Lock()
	defer r.mu.Unlock()
	err := notify.VerifySignature([]byte(Secret), req.Header.Get(notify.HeaderTimestamp), req.Header.Get(notify.HeaderSignature), body, time.Now(), 5*time.Minute)
	var p notify.WebhookPayload
	if err == nil {
		err = json.Unmarshal(body, &p)
	}
	if err != nil {
		r.bad++
		http.Error(w, "refused", http.StatusUnauthorized)
		return
	}
	r.got = append(r.got, p)
	w.WriteHeader(http.StatusNoContent)
}

// WebhookYAML is a notify webhooks: list item named name sending to the
// receiver, its key in secretFile (written here).
func (r *Receiver) WebhookYAML(t testing.TB, name, secretFile string) string {
	t.Helper()
	if err := os.WriteFile(secretFile, []byte(Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("  - {name: %s, url: %s/hook, ca_file: %s, timeout: 5s, secret: {file: %s}}\n", name, r.URL, r.CAFile, secretFile)
}

// Payloads returns the verified payloads of kind and the number of
// requests refused (bad signature or body).
func (r *Receiver) Payloads(kind notify.Kind) (out []notify.WebhookPayload, refused int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range r.got {
		if p.Kind == kind {
			out = append(out, p)
		}
	}
	return out, r.bad
}

// WaitFor waits up to 20 s for n payloads of kind and returns those
// received; refused requests fail the test.
func (r *Receiver) WaitFor(t testing.TB, kind notify.Kind, n int) []notify.WebhookPayload {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got, bad := r.Payloads(kind)
		if len(got) >= n || time.Now().After(deadline) {
			if bad > 0 {
				t.Errorf("%d webhook requests refused (signature or body)", bad)
			}
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}
