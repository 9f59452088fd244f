package mailgate

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/kyojin/kyojin/mailgate/mailsan"
)

// AuditRecord is one line of the audit log (JSON lines): what came in, what
// was done and why. Guideline clause 3(2): 無害化 must be traceable.
type AuditRecord struct {
	Time      time.Time        `json:"time"`
	Event     string           `json:"event"` // received, rejected, delivered, deferred, bounced, dropped
	QueueID   string           `json:"queue_id,omitempty"`
	MessageID string           `json:"message_id,omitempty"`
	ClientIP  string           `json:"client_ip,omitempty"`
	Helo      string           `json:"helo,omitempty"`
	TLS       bool             `json:"tls,omitempty"`
	From      string           `json:"from"`
	To        []string         `json:"to"`
	Auth      *AuthResult      `json:"auth,omitempty"`
	Actions   []string         `json:"actions,omitempty"`
	Parts     []*mailsan.Part  `json:"parts,omitempty"`
	Original  string           `json:"original,omitempty"`
	SizeIn    int64            `json:"size_in,omitempty"`
	SizeOut   int64            `json:"size_out,omitempty"`
	Reply     string           `json:"reply,omitempty"`
	Reason    string           `json:"reason,omitempty"`
	Attempts  int              `json:"attempts,omitempty"`
	Millis    map[string]int64 `json:"ms,omitempty"` // timings: auth, sanitize, queue, total
}

// Audit appends records to a file; writes are serialised.
type Audit struct {
	mu sync.Mutex
	f  *os.File
}

// OpenAudit opens (appending) path; "" gives an audit that drops records.
func OpenAudit(path string) (*Audit, error) {
	if path == "" {
		return &Audit{}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	return &Audit{f: f}, nil
}

// Write appends one record.
func (a *Audit) Write(r *AuditRecord) error {
	if a == nil || a.f == nil {
		return nil
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	_, err = a.f.Write(append(b, '\n'))
	return err
}

// Close closes the file.
func (a *Audit) Close() error {
	if a == nil || a.f == nil {
		return nil
	}
	return a.f.Close()
}
