package tamper

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ObjectStore keeps baseline file content by SHA-256 (objects/ab/abcd…),
// outside the web root, for restore.
type ObjectStore struct{ Dir string }

// NewObjectStore returns the store of a baseline directory.
func NewObjectStore(baseline string) *ObjectStore {
	return &ObjectStore{Dir: filepath.Join(baseline, objectsDir)}
}

func (s *ObjectStore) path(sum string) string {
	return filepath.Join(s.Dir, sum[:2], sum)
}

type objectWriter struct {
	*os.File
	s    *ObjectStore
	done bool
}

func (s *ObjectStore) create() (*objectWriter, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	f, err := os.CreateTemp(s.Dir, ".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("objects: %w", err)
	}
	return &objectWriter{File: f, s: s}, nil
}

// commit names the written copy by its hash (already-present content is
// kept as is: same hash, same bytes).
func (w *objectWriter) commit(sum string) error {
	w.done = true
	tmp := w.Name()
	if err := w.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("objects: %w", err)
	}
	dst := w.s.path(sum)
	if _, err := os.Stat(dst); err == nil {
		return os.Remove(tmp)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("objects: %w", err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("objects: %w", err)
	}
	return nil
}

func (w *objectWriter) abort() {
	if !w.done {
		w.Close()
		os.Remove(w.Name())
	}
}

// ErrObject means a stored copy is missing or no longer matches its name.
var ErrObject = errors.New("baseline copy missing or altered")

// Read returns the content stored under sum after checking its hash: a
// copy altered in the store is never written back into a site.
func (s *ObjectStore) Read(sum string) ([]byte, error) {
	if len(sum) != 64 {
		return nil, ErrObject
	}
	f, err := os.Open(s.path(sum))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrObject, err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrObject, err)
	}
	got := sha256.Sum256(b)
	if hex.EncodeToString(got[:]) != sum {
		return nil, ErrObject
	}
	return b, nil
}

// VerifyObjects checks that every file of the baseline has an intact copy
// in the object store (restore depends on it) and returns the paths whose
// copy is missing or altered. Nothing to check when the baseline keeps no
// copies.
func (m *Monitor) VerifyObjects() []string {
	if !m.man.Objects {
		return nil
	}
	var bad []string
	checked := map[string]bool{}
	for _, r := range m.man.Roots {
		for _, e := range r.Entries {
			if e.Type != TypeFile {
				continue
			}
			ok, done := checked[e.SHA256]
			if !done {
				_, err := m.objects.Read(e.SHA256)
				ok = err == nil
				checked[e.SHA256] = ok
			}
			if !ok {
				bad = append(bad, filepath.Join(r.Path, filepath.FromSlash(e.Path)))
			}
		}
	}
	return bad
}
