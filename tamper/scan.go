package tamper

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// Entry types.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeOther   = "other" // device, socket, fifo: never expected in a web root
)

// Entry is the recorded state of one path below a web root.
type Entry struct {
	Path   string `json:"path"` // slash-separated, relative to the root
	Type   string `json:"type"`
	Size   int64  `json:"size,omitempty"`
	Mode   uint32 `json:"mode"` // permission, setuid, setgid and sticky bits
	SHA256 string `json:"sha256,omitempty"`
	Target string `json:"target,omitempty"` // symlink target, as written
	// Err is set when a file could not be read during a scan; such an
	// entry never matches the baseline (fail closed).
	Err string `json:"err,omitempty"`
}

// modeBits keeps what a tamperer could change to make content executable
// or writable; the type is recorded separately.
func modeBits(m fs.FileMode) uint32 {
	return uint32(m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky))
}

func typeOf(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return TypeFile
	case m.IsDir():
		return TypeDir
	case m&fs.ModeSymlink != 0:
		return TypeSymlink
	}
	return TypeOther
}

// same reports whether two entries describe the same state.
func same(a, b *Entry) bool {
	return a.Type == b.Type && a.Size == b.Size && a.Mode == b.Mode && a.SHA256 == b.SHA256 &&
		a.Target == b.Target && a.Err == "" && b.Err == ""
}

// symlinkEscapes reports whether a link at rel with target leaves the root.
// The check is lexical; links are never followed by the scanner, and
// restore goes through os.Root, which refuses escapes at run time too.
func symlinkEscapes(root, rel, target string) bool {
	if filepath.IsAbs(target) {
		return !within(filepath.Clean(target), root)
	}
	p := path.Join(path.Dir(rel), filepath.ToSlash(target))
	return p == ".." || strings.HasPrefix(p, "../")
}

// Scanner walks web roots. The zero value hashes with GOMAXPROCS workers.
type Scanner struct {
	Exclude []string
	Workers int
	// Objects, when set, receives a copy of every file read (baseline with
	// restore enabled); the copy and the hash come from the same read.
	Objects *ObjectStore
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Scan returns the sorted entries below root. Symlinks are recorded, never
// followed; files are opened through os.Root so a path swapped for a link
// during the walk cannot lead outside the root.
func (sc *Scanner) Scan(root string) ([]Entry, error) {
	r, err := os.OpenRoot(root)
	if err != nil {
		return nil, fmt.Errorf("open root: %w", err)
	}
	defer r.Close()
	return sc.scanUnder(r, ".")
}

func (sc *Scanner) walk(r *os.Root, dir string, out *[]Entry) error {
	f, err := r.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	des, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	for _, de := range des {
		rel := de.Name()
		if dir != "." {
			rel = dir + "/" + rel
		}
		if excluded(sc.Exclude, rel) {
			continue
		}
		e, err := sc.entry(r, rel, de.Type())
		if err != nil {
			*out = append(*out, Entry{Path: rel, Type: typeOf(de.Type()), Err: err.Error()})
			continue
		}
		idx := len(*out)
		*out = append(*out, e)
		if e.Type == TypeDir {
			if err := sc.walk(r, rel, out); err != nil {
				(*out)[idx].Err = err.Error() // an unreadable directory never matches
			}
		}
	}
	return nil
}

// entry describes rel without reading file content (hashAll does that).
func (sc *Scanner) entry(r *os.Root, rel string, t fs.FileMode) (Entry, error) {
	e := Entry{Path: rel, Type: typeOf(t)}
	if e.Type == TypeFile {
		return e, nil // size and mode from fstat of the opened file
	}
	fi, err := r.Lstat(rel)
	if err != nil {
		return e, err
	}
	e.Type, e.Mode = typeOf(fi.Mode()), modeBits(fi.Mode())
	if e.Type == TypeSymlink {
		e.Target, err = r.Readlink(rel)
	}
	return e, err
}

func (sc *Scanner) hashAll(r *os.Root, entries []Entry) {
	n := sc.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(entries)) {
					return
				}
				if e := &entries[i]; e.Type == TypeFile && e.Err == "" {
					if err := sc.hashFile(r, e); err != nil {
						e.Err = err.Error()
					}
				}
			}
		})
	}
	wg.Wait()
}

// hashFile fills size, mode and SHA-256 of a regular file from one open.
func (sc *Scanner) hashFile(r *os.Root, e *Entry) error {
	f, err := r.OpenFile(e.Path, os.O_RDONLY|syscallNoFollow|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		// Replaced between the directory read and the open.
		e.Type, e.Mode = typeOf(fi.Mode()), modeBits(fi.Mode())
		return nil
	}
	e.Size, e.Mode = fi.Size(), modeBits(fi.Mode())
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	var w io.Writer = h
	var obj *objectWriter
	if sc.Objects != nil {
		if obj, err = sc.Objects.create(); err != nil {
			return err
		}
		defer obj.abort()
		w = io.MultiWriter(h, obj)
	}
	n, err := io.CopyBuffer(w, f, *bp)
	if err != nil {
		return err
	}
	e.SHA256 = hex.EncodeToString(h.Sum(nil))
	if n != e.Size {
		e.Size = n // grew or shrank while read: record what was hashed
	}
	if obj != nil {
		return obj.commit(e.SHA256)
	}
	return nil
}

// ScanFile describes one path (watch mode); ok is false when it does not exist.
func (sc *Scanner) ScanFile(r *os.Root, rel string) (e Entry, ok bool) {
	fi, err := r.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return Entry{}, false
	}
	if err != nil {
		return Entry{Path: rel, Err: err.Error()}, true
	}
	e, err = sc.entry(r, rel, fi.Mode().Type())
	if err == nil && e.Type == TypeFile {
		err = sc.hashFile(r, &e)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Entry{}, false
		}
		e.Err = err.Error()
	}
	return e, true
}

// Delta kinds.
const (
	Added    = "added"
	Modified = "modified"
	Deleted  = "deleted"
	ModeOnly = "mode"
)

// Delta is one difference between a baseline and a scan.
type Delta struct {
	Kind string
	Path string
	Old  *Entry // nil when added
	New  *Entry // nil when deleted
}

// Diff compares two sorted entry lists.
func Diff(base, cur []Entry) []Delta {
	var out []Delta
	i, j := 0, 0
	for i < len(base) || j < len(cur) {
		switch {
		case j >= len(cur) || (i < len(base) && base[i].Path < cur[j].Path):
			out = append(out, Delta{Kind: Deleted, Path: base[i].Path, Old: &base[i]})
			i++
		case i >= len(base) || cur[j].Path < base[i].Path:
			out = append(out, Delta{Kind: Added, Path: cur[j].Path, New: &cur[j]})
			j++
		default:
			if d, ok := compare(&base[i], &cur[j]); ok {
				out = append(out, d)
			}
			i++
			j++
		}
	}
	return out
}

// compare gives the delta between the baseline and current state of one path.
func compare(old, cur *Entry) (Delta, bool) {
	if same(old, cur) {
		return Delta{}, false
	}
	kind := Modified
	if old.Type == cur.Type && old.Size == cur.Size && old.SHA256 == cur.SHA256 && old.Target == cur.Target && cur.Err == "" {
		kind = ModeOnly
	}
	return Delta{Kind: kind, Path: old.Path, Old: old, New: cur}, true
}

// scanUnder returns the sorted, hashed entries below the directory rel.
func (sc *Scanner) scanUnder(r *os.Root, rel string) ([]Entry, error) {
	var entries []Entry
	if err := sc.walk(r, rel, &entries); err != nil {
		return nil, err
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	sc.hashAll(r, entries)
	return entries, nil
}

// syscallNoFollow refuses a symlink as the last path element.
const syscallNoFollow = syscall.O_NOFOLLOW
