package tamper

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"
	"time"
)

// Restore actions recorded in restore.jsonl and in Change.Restored.
const (
	ActRestored    = "restored"    // baseline content written back
	ActChmod       = "chmod"       // baseline mode set back
	ActRecreated   = "recreated"   // directory or symlink made again
	ActQuarantined = "quarantined" // added file moved out of the web root
	ActRemovedLink = "removed-link"
)

// restore puts one path back to its baseline state. Every write goes
// through the os.Root of the web root: no symlink planted by an attacker
// can redirect it outside. Content comes from the object store and is
// checked against its hash first. An empty action means nothing to do.
func (m *Monitor) restore(ri int, d Delta) (string, error) {
	r := m.roots[ri]
	switch {
	case d.Kind == Added:
		if !m.Site.QuarantineAdded || d.New == nil {
			return "", nil
		}
		return m.quarantine(r, m.man.Roots[ri].Path, d.New)
	case d.Old == nil:
		return "", nil
	}
	old := d.Old
	if d.New != nil && d.New.Type != old.Type {
		// Something else stands where the baseline had this path: move it
		// aside as evidence first (files and links; a directory is left
		// for a person to inspect).
		if d.New.Type == TypeDir {
			return "", errors.New("a directory replaced the baselined path; restore by hand")
		}
		if _, err := m.quarantine(r, m.man.Roots[ri].Path, d.New); err != nil {
			return "", err
		}
	}
	switch old.Type {
	case TypeFile:
		if d.Kind == ModeOnly {
			if err := r.Chmod(old.Path, fs.FileMode(old.Mode)); err != nil {
				return "", err
			}
			return ActChmod, nil
		}
		if !m.man.Objects {
			return "", errors.New("the baseline keeps no copies (make it with restore: true)")
		}
		data, err := m.objects.Read(old.SHA256)
		if err != nil {
			return "", err
		}
		return ActRestored, writeInRoot(r, old.Path, data, fs.FileMode(old.Mode))
	case TypeDir:
		if d.New == nil || d.New.Type != TypeDir {
			if err := r.Mkdir(old.Path, fs.FileMode(old.Mode)); err != nil && !errors.Is(err, fs.ErrExist) {
				return "", err
			}
		}
		if err := r.Chmod(old.Path, fs.FileMode(old.Mode)); err != nil {
			return "", err
		}
		if d.New == nil || d.New.Type != TypeDir {
			return ActRecreated, nil
		}
		return ActChmod, nil
	case TypeSymlink:
		if d.New != nil && d.New.Type == TypeSymlink {
			if err := r.Remove(old.Path); err != nil {
				return "", err
			}
		}
		if err := r.Symlink(old.Target, old.Path); err != nil {
			return "", err
		}
		return ActRecreated, nil
	}
	return "", nil
}

// writeInRoot replaces rel atomically: a temporary file in the same
// directory, the original mode, fsync, rename.
func writeInRoot(r *os.Root, rel string, data []byte, mode fs.FileMode) error {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := path.Join(path.Dir(rel), ".kyojin-restore-"+hex.EncodeToString(rnd[:]))
	f, err := r.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode) // exact bits, whatever the umask
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.Rename(tmp, rel)
	}
	if err != nil {
		r.Remove(tmp)
		return fmt.Errorf("restore %s: %w", rel, err)
	}
	return nil
}

// quarantine moves an added file (or link, or empty directory) out of the
// web root into the baseline's quarantine directory, with a JSON record
// beside it: evidence is kept, never deleted.
func (m *Monitor) quarantine(r *os.Root, root string, e *Entry) (string, error) {
	qdir := filepath.Join(m.Site.Baseline, quarantineDir)
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	stamp := time.Now().UTC().Format("20060102T150405.000000000Z")
	name := stamp + "-" + filepath.Base(e.Path)
	rec := map[string]any{"time": stamp, "tenant": m.Site.Tenant, "site": m.Site.ID, "root": root, "path": e.Path, "entry": e}
	action := ActQuarantined
	switch e.Type {
	case TypeFile:
		src, err := r.OpenFile(e.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return "", fmt.Errorf("quarantine: %w", err)
		}
		dst, err := os.OpenFile(filepath.Join(qdir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			src.Close()
			return "", fmt.Errorf("quarantine: %w", err)
		}
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(dst, h), src)
		src.Close()
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("quarantine: %w", err)
		}
		rec["sha256"], rec["file"] = hex.EncodeToString(h.Sum(nil)), name
	case TypeSymlink:
		action = ActRemovedLink // the target, kept in the record, is the evidence
	case TypeDir:
		// Reached after its content was moved (deepest first); an entry
		// that could not be moved keeps the directory in place.
	default:
		return "", fmt.Errorf("quarantine: refusing to move a %s", e.Type)
	}
	if err := r.Remove(e.Path); err != nil {
		return "", fmt.Errorf("quarantine: remove from web root: %w", err)
	}
	b, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(qdir, name+".json"), append(b, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("quarantine record: %w", err)
	}
	return action, nil
}

// record appends one restore attempt to restore.jsonl in the baseline dir.
func (m *Monitor) record(c *Change, d Delta, action string, err error) {
	if action == "" && err == nil {
		return
	}
	rec := map[string]any{"time": time.Now().UTC(), "tenant": m.Site.Tenant, "site": m.Site.ID, "path": c.Path, "kind": c.Kind, "action": action}
	if d.Old != nil {
		rec["sha256"] = d.Old.SHA256
	}
	if err != nil {
		rec["error"] = err.Error()
	}
	b, _ := json.Marshal(rec)
	f, ferr := os.OpenFile(filepath.Join(m.Site.Baseline, restoreLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if ferr == nil {
		_, ferr = f.Write(append(b, '\n'))
		if cerr := f.Close(); ferr == nil {
			ferr = cerr
		}
	}
	if ferr != nil {
		m.Log.Error("tamper: restore log", "site", m.Site.Name(), "err", ferr)
	}
}
