package intel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Store keeps the prefecture's indicators. FileStore is the embedded one;
// a database can implement the same two methods.
type Store interface {
	// Load returns every indicator stored, expired ones included.
	Load(ctx context.Context) ([]Indicator, error)
	// Append adds indicators durably; a later indicator with the same Key
	// replaces an earlier one.
	Append(ctx context.Context, inds []Indicator) error
}

// FileStore is a JSON-lines file, appended to and synced; loading keeps the
// last line of each Key.
type FileStore struct {
	Path  string
	mu    sync.Mutex
	stamp [2]int64 // size and mtime seen by Changed
}

// Load implements Store. A missing file is an empty store; a damaged line
// (for example a torn last write) is skipped, not fatal.
func (s *FileStore) Load(ctx context.Context) ([]Indicator, error) {
	data, err := os.ReadFile(s.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	byKey := map[string]int{}
	var out []Indicator
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var in Indicator
		if json.Unmarshal(sc.Bytes(), &in) != nil || in.Check() != nil {
			continue
		}
		if i, ok := byKey[in.Key()]; ok {
			out[i] = in
			continue
		}
		byKey[in.Key()] = len(out)
		out = append(out, in)
	}
	return out, ctx.Err()
}

// Path is where a security cloud keeps its indicators under its store
// directory; every process of the cloud (intake, console, CLI) opens the
// same file, and appends are single writes to a file opened O_APPEND.
func Path(store string) string { return filepath.Join(store, "intel", "indicators.jsonl") }

// Changed reports whether the file changed since the last call (size or
// modification time), so a reader can reload only then.
func (s *FileStore) Changed() bool {
	st, err := os.Stat(s.Path)
	var stamp [2]int64
	if err == nil {
		stamp = [2]int64{st.Size(), st.ModTime().UnixNano()}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := stamp != s.stamp
	s.stamp = stamp
	return changed
}

// Append implements Store.
func (s *FileStore) Append(_ context.Context, inds []Indicator) error {
	var buf bytes.Buffer
	for i := range inds {
		b, err := json.Marshal(&inds[i])
		if err != nil {
			return err
		}
		buf.Write(b)
		buf.WriteByte('\n')
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o750); err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	f, err := os.OpenFile(s.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	if err != nil {
		return fmt.Errorf("intel: %w", err)
	}
	_, err = f.Write(buf.Bytes())
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// Hub is the prefecture-wide indicator set shared by every tenant.
// Matching reads an immutable Index through an atomic pointer, so the
// intake never waits for a publication.
type Hub struct {
	store Store
	log   *slog.Logger
	now   func() time.Time

	mu  sync.Mutex // serialises Publish and Reload
	all []Indicator
	idx atomic.Pointer[Index]
}

// NewHub loads the store. now may be nil (time.Now).
func NewHub(ctx context.Context, store Store, log *slog.Logger, now func() time.Time) (*Hub, error) {
	if now == nil {
		now = time.Now
	}
	h := &Hub{store: store, log: log, now: now}
	if err := h.Reload(ctx); err != nil {
		return nil, err
	}
	return h, nil
}

// Reload re-reads the store (indicators added by another process, for
// example kyojin cloud intel add while kyojin cloud serve runs) and drops
// expired indicators from the index.
func (h *Hub) Reload(ctx context.Context) error {
	all, err := h.store.Load(ctx)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.all = all
	h.idx.Store(NewIndex(all, h.now()))
	return nil
}

// Index is the current index (never nil).
func (h *Hub) Index() *Index { return h.idx.Load() }

// List returns the indicators (expired ones when all is true), newest first.
func (h *Hub) List(all bool) []Indicator {
	h.mu.Lock()
	defer h.mu.Unlock()
	now := h.now()
	var out []Indicator
	for _, in := range h.all {
		if all || !in.Expired(now) {
			out = append(out, in)
		}
	}
	slices.SortStableFunc(out, func(a, b Indicator) int { return b.Added.Compare(a.Added) })
	return out
}

// Publish shares indicators with every tenant of the prefecture: from
// fromTenant (the tenant whose incident or analysis produced them), credited
// to publisher. Each indicator is normalised and checked; Tenant and
// Publisher are set from the arguments (they cannot be forged per
// indicator), Added is now, and an indicator without an expiry gets
// DefaultTTL. The batch is stored durably before it is matched; on any
// invalid indicator nothing is published and the error names each one.
// Safe for concurrent use.
//
// Called by the incident workflow (an indicator raised in one
// municipality's incident reaches all municipalities) and by
// kyojin cloud intel add/import.
func (h *Hub) Publish(ctx context.Context, fromTenant, publisher string, inds []Indicator) error {
	if strings.TrimSpace(fromTenant) == "" || strings.TrimSpace(publisher) == "" {
		return errors.New("intel: publish needs the source tenant and the publisher")
	}
	now := h.now().UTC()
	batch := make([]Indicator, len(inds))
	var errs []error
	for i, in := range inds {
		in.Tenant, in.Publisher, in.Added = fromTenant, publisher, now
		if in.Expires.IsZero() {
			in.Expires = now.Add(DefaultTTL)
		}
		if err := in.Check(); err != nil {
			errs = append(errs, fmt.Errorf("indicator %d (%q): %w", i+1, truncate(in.Value, 100), err))
			continue
		}
		if in.Expired(now) {
			errs = append(errs, fmt.Errorf("indicator %d (%q): already expired", i+1, in.Value))
			continue
		}
		if strings.TrimSpace(in.Reason) == "" {
			errs = append(errs, fmt.Errorf("indicator %d (%q): a reason is required", i+1, in.Value))
			continue
		}
		batch[i] = in
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if len(batch) == 0 {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.store.Append(ctx, batch); err != nil {
		return fmt.Errorf("intel: storing indicators: %w", err)
	}
	h.merge(batch, now)
	if h.log != nil {
		h.log.Info("intel: indicators published", "tenant", fromTenant, "publisher", publisher, "count", len(batch))
	}
	return nil
}

// merge puts batch into the set (replacing same keys) and swaps the index;
// h.mu is held.
func (h *Hub) merge(batch []Indicator, now time.Time) {
	byKey := map[string]int{}
	for i := range h.all {
		byKey[h.all[i].Key()] = i
	}
	all := slices.Clone(h.all)
	for _, in := range batch {
		if i, ok := byKey[in.Key()]; ok {
			all[i] = in
		} else {
			byKey[in.Key()] = len(all)
			all = append(all, in)
		}
	}
	h.all = all
	h.idx.Store(NewIndex(all, now))
}

// Revoke withdraws a published indicator before its expiry (a false
// positive): the record is stored again expiring now, with who revoked it
// and why, so it stops matching for every tenant and stays listed with
// List(true). It reports whether the value was published.
func (h *Hub) Revoke(ctx context.Context, tenant, by, value, reason string) (bool, error) {
	k, v, err := Normalize("", value)
	if err != nil {
		return false, err
	}
	now := h.now().UTC()
	h.mu.Lock()
	defer h.mu.Unlock()
	i := slices.IndexFunc(h.all, func(in Indicator) bool { return in.Kind == k && in.Value == v })
	if i < 0 {
		return false, nil
	}
	in := h.all[i]
	in.Expires = now
	in.Reason = truncate(strings.TrimSpace(in.Reason+" / revoked by "+by+" ("+tenant+"): "+reason), 1024)
	if err := h.store.Append(ctx, []Indicator{in}); err != nil {
		return false, fmt.Errorf("intel: storing the revocation: %w", err)
	}
	h.merge([]Indicator{in}, now)
	if h.log != nil {
		h.log.Info("intel: indicator revoked", "tenant", tenant, "by", by, "kind", k, "value", v)
	}
	return true, nil
}
