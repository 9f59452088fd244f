package notify

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The outbox is a directory of small JSON files, one per delivery (one
// recipient or one webhook), each written to tmp/, fsynced and renamed into
// place, and the directory fsynced, before Enqueue returns:
//
//	pending/ID.json   waiting for its next attempt
//	dead/ID.json      given up (visible with `kyojin notify outbox`)
//	held/ROUTE/ID.json  gathered for the route's next digest
//	ladder/KEY.json   escalation ladders in progress
//
// Files rather than a table in the console's database: the notifier must
// keep working when the database it reports about is the thing that failed,
// it needs no migration number of the shared store, and an operator can
// read or move a stuck file with ordinary tools. The write pattern is that
// of mailgate/queue.

// Item is one delivery in the outbox.
type Item struct {
	ID          string    `json:"id"`
	Created     time.Time `json:"created"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error,omitempty"`
	Dead        time.Time `json:"dead,omitzero"`
	Route       string    `json:"route"`
	Channel     string    `json:"channel"` // "mail" or "webhook"
	Target      string    `json:"target"`  // recipient address or webhook name
	Kind        Kind      `json:"kind"`
	Tenant      string    `json:"tenant"`
	Severity    Severity  `json:"severity"`
	Rendered    Rendered  `json:"rendered"`
	// Payload is the webhook body, fixed at enqueue time so that every
	// attempt carries the same bytes.
	Payload json.RawMessage `json:"payload,omitempty"`

	file string // the pending/ file holding it (its own or a batch file)
}

const (
	dirPending = "pending"
	dirDead    = "dead"
	dirHeld    = "held"
	dirLadder  = "ladder"
	dirTmp     = "tmp"
)

func newID(now time.Time) string {
	var b [8]byte
	rand.Read(b[:])
	return now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:])
}

func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return s[0] != '.'
}

func openOutbox(dir string) error {
	for _, d := range []string{dirPending, dirDead, dirHeld, dirLadder, dirTmp} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			return fmt.Errorf("notify: outbox: %w", err)
		}
	}
	// Leftovers of writes interrupted by a crash were never acknowledged to
	// anyone; the caller got an error or no answer.
	ents, _ := os.ReadDir(filepath.Join(dir, dirTmp))
	for _, e := range ents {
		os.Remove(filepath.Join(dir, dirTmp, e.Name()))
	}
	return nil
}

// writeDurable writes v as JSON to dir/sub/name atomically and durably.
func writeDurable(dir, sub, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Join(dir, dirTmp), "w-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	target := filepath.Join(dir, sub)
	if err == nil {
		err = os.Rename(tmp.Name(), filepath.Join(target, name))
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(target)
}

// batchPrefix names a file holding a JSON array of entries written by one
// commit (EnqueueBatch, a notification with several destinations): one
// fsync for all of them. An entry that needs a new state later (retry,
// dead) moves to its own file; the batch file goes when none is left in it.
const batchPrefix = "B-"

// lockDir takes an exclusive, non-blocking flock on dir/lock.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("notify: outbox lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("notify: outbox %s is in use by another dispatcher: %w", dir, err)
	}
	return f, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// move renames dir/from/name to dir/to/name durably.
func move(dir, from, to, name string) error {
	if err := os.Rename(filepath.Join(dir, from, name), filepath.Join(dir, to, name)); err != nil {
		return err
	}
	return syncDir(filepath.Join(dir, to))
}

// readJSONDir reads every entry of dir, with the file each came from;
// batch files contribute all their entries.
func readJSONDir[T any](dir string) ([]T, []string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	var out []T
	var names []string
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, nil, err
		}
		if strings.HasPrefix(e.Name(), batchPrefix) {
			var vs []T
			if err := json.Unmarshal(b, &vs); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", e.Name(), err)
			}
			for _, v := range vs {
				out = append(out, v)
				names = append(names, e.Name())
			}
			continue
		}
		var v T
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out = append(out, v)
		names = append(names, e.Name())
	}
	return out, names, nil
}

// readPending reads pending deliveries. An entry found both in a batch
// file and in its own file (a crash between writing the latter and
// releasing the former) is taken from its own file, which is newer.
func readPending(dir string) ([]*Item, error) {
	items, files, err := readJSONDir[Item](filepath.Join(dir, dirPending))
	if err != nil {
		return nil, err
	}
	byID := map[string]*Item{}
	var order []string
	for i := range items {
		it := &items[i]
		it.file = files[i]
		prev, seen := byID[it.ID]
		if !seen {
			order = append(order, it.ID)
		}
		if !seen || strings.HasPrefix(prev.file, batchPrefix) {
			byID[it.ID] = it
		}
	}
	out := make([]*Item, 0, len(order))
	for _, id := range order {
		out = append(out, byID[id])
	}
	return out, nil
}

// Listing is what `kyojin notify outbox` shows.
type Listing struct {
	Pending []Item
	Dead    []Item
	Held    map[string]int // route → notifications waiting for its digest
	Ladders []LadderState
}

// ListOutbox reads an outbox directory without changing it.
func ListOutbox(dir string) (*Listing, error) {
	if _, err := os.Stat(filepath.Join(dir, dirPending)); errors.Is(err, os.ErrNotExist) {
		return &Listing{Held: map[string]int{}}, nil
	}
	l := &Listing{Held: map[string]int{}}
	var err error
	pending, err := readPending(dir)
	if err != nil {
		return nil, fmt.Errorf("notify: outbox: %w", err)
	}
	for _, it := range pending {
		l.Pending = append(l.Pending, *it)
	}
	if l.Dead, _, err = readJSONDir[Item](filepath.Join(dir, dirDead)); err != nil {
		return nil, fmt.Errorf("notify: outbox: %w", err)
	}
	if l.Ladders, _, err = readJSONDir[LadderState](filepath.Join(dir, dirLadder)); err != nil {
		return nil, fmt.Errorf("notify: outbox: %w", err)
	}
	routes, _ := os.ReadDir(filepath.Join(dir, dirHeld))
	for _, r := range routes {
		held, _, _ := readJSONDir[heldEntry](filepath.Join(dir, dirHeld, r.Name()))
		if len(held) > 0 {
			l.Held[r.Name()] = len(held)
		}
	}
	byCreated := func(a, b Item) int { return a.Created.Compare(b.Created) }
	slices.SortFunc(l.Pending, byCreated)
	slices.SortFunc(l.Dead, byCreated)
	return l, nil
}

// Requeue moves a dead delivery back to pending for an immediate attempt
// (after the cause was fixed).
func Requeue(dir, id string) error {
	if !validName(id) {
		return fmt.Errorf("notify: invalid id")
	}
	b, err := os.ReadFile(filepath.Join(dir, dirDead, id+".json"))
	if err != nil {
		return fmt.Errorf("notify: requeue: %w", err)
	}
	var it Item
	if err := json.Unmarshal(b, &it); err != nil {
		return fmt.Errorf("notify: requeue: %w", err)
	}
	it.Dead, it.Attempts, it.NextAttempt = time.Time{}, 0, time.Time{}
	it.Created = time.Now()
	if err := writeDurable(dir, dirPending, id+".json", &it); err != nil {
		return fmt.Errorf("notify: requeue: %w", err)
	}
	return os.Remove(filepath.Join(dir, dirDead, id+".json"))
}
