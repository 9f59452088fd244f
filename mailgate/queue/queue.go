// Package queue is the relay's durable on-disk mail queue. A message is
// acknowledged to the sending MTA (SMTP 250) only after Put returns, and Put
// returns only after the message file, its envelope and the directory entry
// are on stable storage (fsync of both files and of the directory), so a
// crash or kill -9 after the 250 cannot lose it (RFC 5321 §6.1: the
// receiver "MUST NOT lose the message").
//
// Layout: DIR/<id>.msg holds the envelope as its first line (JSON) and
// the message after it. It is written as a temporary file, fsynced and
// renamed into place; the directory fsync that makes the rename durable is
// shared by all messages committed at the same moment (group commit), so
// a message costs one file fsync plus a share of one directory fsync —
// the same order as Postfix. Later state (attempts, next attempt, last
// error) goes to DIR/<id>.json without fsync: losing it in a crash only
// makes a retry come early.
package queue

import (
	"bufio"
	"bytes"
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
	// While a rescan reads the directory, Put and Done record what they
	// change so that the merge neither forgets a new message nor revives
	// a delivered one.
	scanning bool
	added    map[string]*Envelope
	removed  map[string]bool
	ds       dirSyncer
}

// dirSyncer coalesces directory fsyncs: a caller returns once an fsync
// that STARTED after its call has completed.
type dirSyncer struct {
	mu      sync.Mutex
	cond    *sync.Cond
	req     uint64
	done    uint64
	running bool
	err     error
}

func (d *dirSyncer) sync(dir string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cond == nil {
		d.cond = sync.NewCond(&d.mu)
	}
	d.req++
	my := d.req
	for d.done < my {
		if d.running {
			d.cond.Wait()
			continue
		}
		d.running = true
		target := d.req
		d.mu.Unlock()
		err := syncDir(dir)
		d.mu.Lock()
		d.running, d.done, d.err = false, target, err
		d.cond.Broadcast()
	}
	return d.err
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
	q.mu.Lock()
	q.scanning, q.added, q.removed = true, map[string]*Envelope{}, map[string]bool{}
	q.mu.Unlock()
	defer func() {
		q.mu.Lock()
		q.scanning, q.added, q.removed = false, nil, nil
		q.mu.Unlock()
	}()
	ents, err := os.ReadDir(q.dir)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	have := map[string]bool{}
	for _, e := range ents {
		if id, ok := strings.CutSuffix(e.Name(), ".msg"); ok {
			have[id] = true
		}
	}
	loaded := map[string]*Envelope{}
	for _, e := range ents {
		n := e.Name()
		switch {
		case strings.HasPrefix(n, ".tmp-"):
			// Never committed: the sender did not get 250 and retries.
			if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Minute {
				os.Remove(filepath.Join(q.dir, n))
			}
		case strings.HasSuffix(n, ".json"):
			if id := strings.TrimSuffix(n, ".json"); !have[id] {
				os.Remove(filepath.Join(q.dir, n)) // state of a delivered message
			}
		case strings.HasSuffix(n, ".msg"):
			id := strings.TrimSuffix(n, ".msg")
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
	for id, e := range q.added {
		loaded[id] = e
	}
	for id := range q.removed {
		delete(loaded, id)
	}
	q.env = loaded
	q.mu.Unlock()
	q.signal()
	return nil
}

func (q *Queue) read(id string) (*Envelope, error) {
	if b, err := os.ReadFile(filepath.Join(q.dir, id+".json")); err == nil {
		var env Envelope
		if json.Unmarshal(b, &env) == nil && env.ID == id {
			return &env, nil
		}
	}
	f, err := os.Open(filepath.Join(q.dir, id+".msg"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	line, err := bufio.NewReaderSize(f, 4096).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("queue: %s: no envelope line", id)
	}
	var env Envelope
	if err := json.Unmarshal(line, &env); err != nil {
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
	if env.NextAttempt.IsZero() {
		env.NextAttempt = time.Now()
	}
	tmp, err := os.CreateTemp(q.dir, ".tmp-*")
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("queue: writing message: %w", err)
	}
	// The envelope line is written with the final size after the message,
	// so leave room: write the message first into the file at an offset.
	line, _ := json.Marshal(env)
	pad := len(line) + 64 // room for the size digits
	if _, err := tmp.Seek(int64(pad), io.SeekStart); err != nil {
		return fail(err)
	}
	n, err := write(tmp)
	if err != nil {
		return fail(err)
	}
	env.Size = n
	line, _ = json.Marshal(env)
	if len(line)+1 > pad {
		return fail(errors.New("envelope grew"))
	}
	// Pad with spaces (valid JSON whitespace) up to the newline.
	hdr := append(line, bytes.Repeat([]byte{' '}, pad-len(line)-1)...)
	hdr = append(hdr, '\n')
	if _, err := tmp.WriteAt(hdr, 0); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("queue: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(q.dir, env.ID+".msg")); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("queue: %w", err)
	}
	if err := q.ds.sync(q.dir); err != nil {
		os.Remove(filepath.Join(q.dir, env.ID+".msg"))
		return err
	}
	q.mu.Lock()
	cp := *env
	q.env[env.ID] = &cp
	if q.scanning {
		q.added[env.ID] = &cp
	}
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

// Message opens the message of id (without the envelope line).
func (q *Queue) Message(id string) (io.ReadCloser, error) {
	return openMessage(q.dir, id)
}

func openMessage(dir, id string) (io.ReadCloser, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("queue: invalid id %q", id)
	}
	f, err := os.Open(filepath.Join(dir, id+".msg"))
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 4096)
	line, err := br.ReadSlice('\n')
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("queue: %s: no envelope line", id)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	off := int64(len(line))
	return struct {
		io.Reader
		io.Closer
	}{io.NewSectionReader(f, off, st.Size()-off), f}, nil
}

// Done removes a delivered (or bounced) message.
func (q *Queue) Done(id string) error {
	q.mu.Lock()
	delete(q.env, id)
	delete(q.busy, id)
	if q.scanning {
		q.removed[id] = true
	}
	q.mu.Unlock()
	return q.remove(id)
}

func (q *Queue) remove(id string) error {
	err := os.Remove(filepath.Join(q.dir, id+".msg"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("queue: %w", err)
	}
	os.Remove(filepath.Join(q.dir, id+".json"))
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
		if id, ok := strings.CutSuffix(e.Name(), ".msg"); ok && ValidID(id) {
			if env, err := q.read(id); err == nil {
				out = append(out, env)
			}
		}
	}
	slices.SortFunc(out, func(a, b *Envelope) int { return a.Received.Compare(b.Received) })
	return out, nil
}

// Show returns the envelope and the message of id; the caller closes it.
func Show(dir, id string) (*Envelope, io.ReadCloser, error) {
	if !ValidID(id) {
		return nil, nil, fmt.Errorf("queue: invalid id %q", id)
	}
	env, err := (&Queue{dir: dir}).read(id)
	if err != nil {
		return nil, nil, err
	}
	m, err := openMessage(dir, id)
	if err != nil {
		return nil, nil, err
	}
	return env, m, nil
}

// Retry makes id due now (the running relay picks it up at its next rescan).
func Retry(dir, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("queue: invalid id %q", id)
	}
	env, err := (&Queue{dir: dir}).read(id)
	if err != nil {
		return err
	}
	env.NextAttempt = time.Now()
	return (&Queue{dir: dir}).writeEnvelope(env, true)
}

// Drop deletes id from the queue without delivering it.
func Drop(dir, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("queue: invalid id %q", id)
	}
	if _, err := (&Queue{dir: dir}).read(id); err != nil {
		return err
	}
	return (&Queue{dir: dir}).remove(id)
}
