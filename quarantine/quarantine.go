// Package quarantine keeps the originals of sanitized files, encrypted with
// AES-256-GCM, for a retention period, so that a CSIRT can examine what was
// let in (after 無害化) and an operator can release an original on request
// with a recorded reason.
//
// Layout of the directory:
//
//	items/<ref>.kq    the encrypted original (format below)
//	items/<ref>.json  metadata (name, size, sha256, verdict, times); not secret
//	release.log       JSON lines, one per release, append-only
//
// The .kq format is a chunked AEAD stream (the STREAM construction of
// Hoang, Reyhanitabar, Rogaway, Vizár 2015) so that originals of any size
// are encrypted without holding them in memory: a header "KYQ1" and a 7-byte
// random nonce prefix, then sealed chunks of 64 KiB plaintext. Each chunk's
// nonce is prefix || 32-bit counter || last-chunk flag, and the header plus
// the reference is the additional data, so chunks cannot be reordered,
// truncated, or moved to another item.
package quarantine

import (
	"bufio"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
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
	"time"

	"github.com/kyojin/kyojin/sanitize"
)

const (
	magic     = "KYQ1"
	prefixLen = 7
	chunkSize = 64 << 10
)

// Item is the metadata of one quarantined original.
type Item struct {
	Ref      string           `json:"ref"`
	RecordID string           `json:"record_id"`
	Name     string           `json:"name"`
	Size     int64            `json:"size"`
	SHA256   string           `json:"sha256"`
	Verdict  sanitize.Verdict `json:"verdict"`
	Reason   string           `json:"reason,omitempty"`
	Stored   time.Time        `json:"stored"`
	Expires  time.Time        `json:"expires"`
}

// Release is one line of the release log.
type Release struct {
	Ref      string    `json:"ref"`
	RecordID string    `json:"record_id"`
	Name     string    `json:"name"`
	SHA256   string    `json:"sha256"`
	Time     time.Time `json:"time"`
	Operator string    `json:"operator"`
	Reason   string    `json:"reason"`
	Dest     string    `json:"dest"`
}

// Store is a quarantine directory with its key.
type Store struct {
	dir       string
	aead      cipher.AEAD
	retention time.Duration
	now       func() time.Time
}

// Open prepares the store in dir (created with mode 0700 if absent).
func Open(dir string, key []byte, retention time.Duration) (*Store, error) {
	if len(key) != 32 {
		return nil, errors.New("quarantine: key must be 32 bytes (AES-256)")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "items"), 0o700); err != nil {
		return nil, fmt.Errorf("quarantine: create directory: %w", err)
	}
	return &Store{dir: dir, aead: aead, retention: retention, now: time.Now}, nil
}

// LoadKey reads the AES-256 key from a file or, when file is empty, from
// the environment variable env. The value is 64 hex digits or base64 of 32
// bytes (a file may also hold the 32 raw bytes). Error messages never
// contain the key material.
func LoadKey(file, env string) ([]byte, error) {
	var raw []byte
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("quarantine: read key file: %w", err)
		}
		if len(b) == 32 {
			return b, nil
		}
		raw = b
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return nil, fmt.Errorf("quarantine: environment variable %s is not set", env)
		}
		raw = []byte(v)
	default:
		return nil, errors.New("quarantine: no key source configured")
	}
	s := strings.TrimSpace(string(raw))
	if k, err := hex.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	if k, err := base64.StdEncoding.DecodeString(s); err == nil && len(k) == 32 {
		return k, nil
	}
	return nil, errors.New("quarantine: the key must be 64 hex digits or base64 of 32 bytes")
}

var refPattern = regexp.MustCompile(`^q-[0-9]{8}-[0-9a-f]{16}$`)

func (s *Store) paths(ref string) (data, meta string, err error) {
	if !refPattern.MatchString(ref) {
		return "", "", fmt.Errorf("quarantine: invalid reference %q", ref)
	}
	base := filepath.Join(s.dir, "items", ref)
	return base + ".kq", base + ".json", nil
}

// Put encrypts r into the store and returns its reference. It implements
// sanitize.Vault.
func (s *Store) Put(ctx context.Context, r io.Reader, meta sanitize.VaultMeta) (string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	now := s.now().UTC()
	ref := "q-" + now.Format("20060102") + "-" + hex.EncodeToString(rnd[:])
	dataPath, metaPath, _ := s.paths(ref)
	tmp, err := os.CreateTemp(filepath.Join(s.dir, "items"), ".put-*")
	if err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := s.seal(ctx, tmp, io.TeeReader(r, h), ref)
	if err == nil {
		// A caller (the mail relay) may acknowledge a message right after
		// this returns: the original must survive a crash from then on.
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", fmt.Errorf("quarantine: store: %w", err)
	}
	item := Item{
		Ref: ref, RecordID: meta.RecordID, Name: meta.Name, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)),
		Verdict: meta.Verdict, Reason: meta.Reason, Stored: now, Expires: now.Add(s.retention),
	}
	if meta.SHA256 != "" && meta.SHA256 != item.SHA256 {
		return "", errors.New("quarantine: the original changed while it was stored")
	}
	mb, _ := json.MarshalIndent(item, "", "  ")
	if err := writeFileSync(metaPath, mb); err != nil {
		return "", fmt.Errorf("quarantine: write metadata: %w", err)
	}
	if err := os.Rename(tmp.Name(), dataPath); err != nil {
		os.Remove(metaPath)
		return "", fmt.Errorf("quarantine: %w", err)
	}
	if err := syncDir(filepath.Dir(dataPath)); err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	return ref, nil
}

func (s *Store) nonce(prefix []byte, counter uint32, last bool) []byte {
	n := make([]byte, 12)
	copy(n, prefix)
	binary.BigEndian.PutUint32(n[prefixLen:], counter)
	if last {
		n[11] = 1
	}
	return n
}

func (s *Store) seal(ctx context.Context, w io.Writer, r io.Reader, ref string) (int64, error) {
	prefix := make([]byte, prefixLen)
	rand.Read(prefix)
	header := append([]byte(magic), prefix...)
	if _, err := w.Write(header); err != nil {
		return 0, err
	}
	ad := append(slices.Clone(header), ref...)
	br := bufio.NewReaderSize(r, chunkSize)
	buf := make([]byte, chunkSize)
	out := make([]byte, 0, chunkSize+s.aead.Overhead())
	var total int64
	for counter := uint32(0); ; counter++ {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := io.ReadFull(br, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return total, err
		}
		total += int64(n)
		_, perr := br.Peek(1)
		last := perr != nil
		if counter == ^uint32(0) && !last {
			return total, errors.New("original too large")
		}
		out = s.aead.Seal(out[:0], s.nonce(prefix, counter, last), buf[:n], ad)
		if _, err := w.Write(out); err != nil {
			return total, err
		}
		if last {
			return total, nil
		}
	}
}

func (s *Store) open(w io.Writer, r io.Reader, ref string) error {
	header := make([]byte, len(magic)+prefixLen)
	if _, err := io.ReadFull(r, header); err != nil || string(header[:len(magic)]) != magic {
		return errors.New("quarantine: not a quarantine file")
	}
	ad := append(slices.Clone(header), ref...)
	prefix := header[len(magic):]
	br := bufio.NewReaderSize(r, chunkSize+s.aead.Overhead())
	buf := make([]byte, chunkSize+s.aead.Overhead())
	var plain []byte
	for counter := uint32(0); ; counter++ {
		n, err := io.ReadFull(br, buf)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return err
		}
		_, perr := br.Peek(1)
		last := perr != nil
		plain, err = s.aead.Open(plain[:0], s.nonce(prefix, counter, last), buf[:n], ad)
		if err != nil {
			return errors.New("quarantine: authentication failed (wrong key or damaged file)")
		}
		if _, err := w.Write(plain); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

// Get returns the metadata of one item.
func (s *Store) Get(ref string) (*Item, error) {
	_, metaPath, err := s.paths(ref)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(metaPath)
	if err != nil {
		return nil, fmt.Errorf("quarantine: %s: %w", ref, err)
	}
	var it Item
	if err := json.Unmarshal(b, &it); err != nil {
		return nil, fmt.Errorf("quarantine: %s: bad metadata: %w", ref, err)
	}
	return &it, nil
}

// List returns every item, oldest first.
func (s *Store) List() ([]*Item, error) {
	matches, err := filepath.Glob(filepath.Join(s.dir, "items", "q-*.json"))
	if err != nil {
		return nil, err
	}
	var out []*Item
	for _, m := range matches {
		it, err := s.Get(strings.TrimSuffix(filepath.Base(m), ".json"))
		if err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b *Item) int { return a.Stored.Compare(b.Stored) })
	return out, nil
}

// Extract decrypts an item into w and verifies its SHA-256.
func (s *Store) Extract(ref string, w io.Writer) (*Item, error) {
	it, err := s.Get(ref)
	if err != nil {
		return nil, err
	}
	dataPath, _, _ := s.paths(ref)
	f, err := os.Open(dataPath)
	if err != nil {
		return nil, fmt.Errorf("quarantine: %s: %w", ref, err)
	}
	defer f.Close()
	h := sha256.New()
	if err := s.open(io.MultiWriter(w, h), f, ref); err != nil {
		return nil, err
	}
	if hex.EncodeToString(h.Sum(nil)) != it.SHA256 {
		return nil, errors.New("quarantine: SHA-256 mismatch after decryption")
	}
	return it, nil
}

// Release writes the original of ref to dest (which must not exist) and
// appends a record to the release log. A reason is required: releasing an
// unsanitized original into LGWAN is an exception that must be accounted for.
func (s *Store) Release(ref, dest, operator, reason string) (*Release, error) {
	if strings.TrimSpace(reason) == "" {
		return nil, errors.New("quarantine: a reason is required to release")
	}
	f, err := os.OpenFile(dest, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("quarantine: %w", err)
	}
	it, err := s.Extract(ref, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dest)
		return nil, err
	}
	rel := &Release{Ref: ref, RecordID: it.RecordID, Name: it.Name, SHA256: it.SHA256, Time: s.now().UTC(),
		Operator: operator, Reason: reason, Dest: dest}
	line, _ := json.Marshal(rel)
	lf, err := os.OpenFile(filepath.Join(s.dir, "release.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		os.Remove(dest)
		return nil, fmt.Errorf("quarantine: release log: %w", err)
	}
	_, err = lf.Write(append(line, '\n'))
	if cerr := lf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dest)
		return nil, fmt.Errorf("quarantine: release log: %w", err)
	}
	return rel, nil
}

// Releases reads the release log.
func (s *Store) Releases() ([]Release, error) {
	b, err := os.ReadFile(filepath.Join(s.dir, "release.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Release
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r Release
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("quarantine: release log: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Purge deletes items whose retention has expired (all items with force) and
// returns what it deleted.
func (s *Store) Purge(force bool) ([]*Item, error) {
	items, err := s.List()
	if err != nil {
		return nil, err
	}
	now := s.now()
	var gone []*Item
	for _, it := range items {
		if !force && now.Before(it.Expires) {
			continue
		}
		dataPath, metaPath, _ := s.paths(it.Ref)
		if err := os.Remove(dataPath); err != nil && !errors.Is(err, os.ErrNotExist) {
			return gone, fmt.Errorf("quarantine: purge %s: %w", it.Ref, err)
		}
		if err := os.Remove(metaPath); err != nil {
			return gone, fmt.Errorf("quarantine: purge %s: %w", it.Ref, err)
		}
		gone = append(gone, it)
	}
	return gone, nil
}

// writeFileSync writes data and flushes it to stable storage.
func writeFileSync(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir makes renames and creations in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
