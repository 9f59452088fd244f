// Package queue is the relay's durable on-disk mail queue. A message is
// acknowledged to the sending MTA (SMTP 250) only after Put returns, and Put
// returns only after the message file, its envelope and the directory entry
// are on stable storage (fsync of both files and of the directory), so a
// crash or kill -9 after the 250 cannot lose it (RFC 5321 §6.1: the
// receiver "MUST NOT lose the message").
//
// Layout: DIR/<id>.eml is the message, DIR/<id>.json its envelope. The
// envelope is written last and renamed into place, so it is the commit
// mark: an .eml without .json is an unacknowledged leftover and is removed
// by Open.
package queue

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// Envelope is the delivery state of one queued message.
type Envelope struct {
	ID          string    `json:"id"`
	From        string    `json:"from"` // "" for a DSN (null reverse-path)
	To          []string  `json:"to"`
	MessageID   string    `json:"message_id,omitempty"`
	Size        int64     `json:"size"`
	Received    time.Time `json:"received"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	DSN         bool      `json:"dsn,omitempty"` // this message is a bounce; never bounced itself
	ClientIP    string    `json:"client_ip,omitempty"`
}

// Queue is a directory of messages waiting for delivery.
type Queue struct {
	dir string
	mu  sync.Mutex
	env map[string]*Envelope
	// busy marks messages a worker is delivering right now.
	busy map[string]bool
	wake chan struct{}
}

var idRE = regexp.MustCompile(`^[0-9]{14}-[0-9a-f]{16}$`)

// ValidID reports whether id is a queue id (guards paths built from CLI input).
func ValidID(id string) bool { return idRE.MatchString(id) }

// Open opens (creating) the queue in dir and loads its envelopes.
func Open(dir string) (*Queue, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	q := &Queue{dir: dir, env: map[string]*Envelope{}, busy: map[string]bool{}, wake: make(chan struct{}, 1)}
	if err := q.Rescan(); err != nil {
		return nil, err
	}
	return q, nil
}

// Dir returns the queue directory.
func (q *Queue) Dir() string { return q.dir }

// Wake is signalled when a message becomes due earlier than planned.
func (q *Queue) Wake() <-chan struct{} { return q.wake }

func (q *Queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Rescan reloads envelopes from disk (after `kyojin mailgate queue retry`
// or drop from another process), removing uncommitted leftovers. Messages
// being delivered keep their in-memory state.
func (q *Queue) Rescan() error {
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	have := map[string]bool{}
	for _, e := range ents {
		n := e.Name()
		if strings.HasSuffix(n, ".json") {
			have[strings.TrimSuffix(n, ".json")] = true
		}
	}
	loaded := map[string]*Envelope{}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".tmp-"):
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				os.Remove(filepath.Join(q.dir, n))
			}
		case strings.HasSuffix(n, ".eml"):
			id := strings.TrimSuffix(n, ".eml")
			if !have[id] {
				// Never acknowledged: the sender did not get 250 and retries.
				if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
					os.Remove(filepath.Join(q.dir, n))
				}
			}
		case strings.HasSuffix(n, ".json"):
			id := strings.TrimSuffix(n, ".json")
			env, err := q.read(id)
			if err != nil {
				continue
			}
			loaded[id] = env
		}
	}
	q.mu.Lock()
	for id := range q.busy {
		if cur, ok := q.env[id]; ok {
			loaded[id] = cur
		}
	}
	q.env = loaded
	q.mu.Unlock()
	q.signal()
	return nil
}

func (q *Queue) read(id string) (*Envelope, error) {
	b, err := os.ReadFile(filepath.Join(q.dir, id+".json"))
	if err != nil {
		return nil, err
	}
	var env Envelope
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("queue: envelope %s: %w", id, err)
	}
	if env.ID != id {
		return nil, fmt.Errorf("queue: envelope %s names %s", id, env.ID)
	}
	return &env, nil
}

// NewID returns a fresh, time-ordered queue id.
func NewID() string {
	var b [8]byte
	rand.Read(b[:])
	return time.Now().UTC().Format("20060102150405") + "-" + hex.EncodeToString(b[:])
}

// Put stores a message durably. write is called with the message file; it
// must write the whole message. On return without error the message is on
// stable storage.
func (q *Queue) Put(env *Envelope, write func(w io.Writer) (int64, error)) error {
	if env.ID == "" {
		env.ID = NewID()
	}
	if !ValidID(env.ID) {
		return fmt.Errorf("queue: invalid id %q", env.ID)
	}
	msgPath := filepath.Join(q.dir, env.ID+".eml")
	f, err := os.OpenFile(msgPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(msgPath)
		return fmt.Errorf("queue: writing message: %w", err)
	}
	env.Size = n
	if env.NextAttempt.IsZero() {
		env.NextAttempt = time.Now()
	}
	if err := q.writeEnvelope(env, true); err != nil {
		os.Remove(msgPath)
		return err
	}
	q.mu.Lock()
	cp := *env
	q.env[env.ID] = &cp
	q.mu.Unlock()
	q.signal()
	return nil
}

// writeEnvelope replaces DIR/<id>.json atomically; sync also flushes the
// directory so that the rename survives a crash.
func (q *Queue) writeEnvelope(env *Envelope, sync bool) error {
	b, err := json.MarshalIndent(env, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(q.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	_, err = tmp.Write(b)
	if err == nil && sync {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(q.dir, env.ID+".json"))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("queue: writing envelope: %w", err)
	}
	if sync {
		return syncDir(q.dir)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("queue: fsync directory: %w", err)
	}
	return nil
}

// Claim returns up to n due messages not being delivered and marks them busy.
func (q *Queue) Claim(now time.Time, n int) []*Envelope {
	q.mu.Lock()
	defer q.mu.Unlock()
	var due []*Envelope
	for id, e := range q.env {
		if !q.busy[id] && !e.NextAttempt.After(now) {
			due = append(due, e)
		}
	}
	slices.SortFunc(due, func(a, b *Envelope) int { return a.NextAttempt.Compare(b.NextAttempt) })
	if len(due) > n {
		due = due[:n]
	}
	out := make([]*Envelope, len(due))
	for i, e := range due {
		q.busy[e.ID] = true
		cp := *e
		cp.To = slices.Clone(e.To)
		out[i] = &cp
	}
	return out
}

// NextDue returns the earliest planned attempt of an idle message.
func (q *Queue) NextDue() (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t time.Time
	ok := false
	for id, e := range q.env {
		if q.busy[id] {
			continue
		}
		if !ok || e.NextAttempt.Before(t) {
			t, ok = e.NextAttempt, true
		}
	}
	return t, ok
}

// Message opens the message file of id.
func (q *Queue) Message(id string) (*os.File, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("queue: invalid id %q", id)
	}
	return os.Open(filepath.Join(q.dir, id+".eml"))
}

// Done removes a delivered (or bounced) message.
func (q *Queue) Done(id string) error {
	q.mu.Lock()
	delete(q.env, id)
	delete(q.busy, id)
	q.mu.Unlock()
	return q.remove(id)
}

func (q *Queue) remove(id string) error {
	err := os.Remove(filepath.Join(q.dir, id+".json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("queue: %w", err)
	}
	os.Remove(filepath.Join(q.dir, id+".eml"))
	return nil
}

// Defer records a failed attempt and releases the message.
func (q *Queue) Defer(env *Envelope) error {
	err := q.writeEnvelope(env, false)
	q.mu.Lock()
	if _, ok := q.env[env.ID]; ok {
		cp := *env
		q.env[env.ID] = &cp
	}
	delete(q.busy, env.ID)
	q.mu.Unlock()
	return err
}

// Len returns the number of queued messages.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.env)
}

// --- offline operations for `kyojin mailgate queue` (work on the files) ---

// List returns every committed envelope, oldest first.
func List(dir string) ([]*Envelope, error) {
	q := &Queue{dir: dir}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	var out []*Envelope
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ".json"); ok && ValidID(id) {
			if env, err := q.read(id); err == nil {
				out = append(out, env)
			}
		}
	}
	slices.SortFunc(out, func(a, b *Envelope) int { return a.Received.Compare(b.Received) })
	return out, nil
}

// Show returns the envelope and message path of id.
func Show(dir, id string) (*Envelope, string, error) {
	if !ValidID(id) {
		return nil, "", fmt.Errorf("queue: invalid id %q", id)
	}
	env, err := (&Queue{dir: dir}).read(id)
	if err != nil {
		return nil, "", err
	}
	return env, filepath.Join(dir, id+".eml"), nil
}

// Retry makes id due now (the running relay picks it up at its next rescan).
func Retry(dir, id string) error {
	env, _, err := Show(dir, id)
	if err != nil {
		return err
	}
	env.NextAttempt = time.Now()
	return (&Queue{dir: dir}).writeEnvelope(env, true)
}

// Drop deletes id from the queue without delivering it.
func Drop(dir, id string) error {
	if _, _, err := Show(dir, id); err != nil {
		return err
	}
	return (&Queue{dir: dir}).remove(id)
}
