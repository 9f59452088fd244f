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

// dirQueue hands directories to the scan workers; a worker pushes the
// subdirectories it finds. done when empty and nobody is working.
type dirQueue struct {
	mu     sync.Mutex
	cond   sync.Cond
	items  []string
	active int
}

func (q *dirQueue) pop() (string, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.items) == 0 && q.active > 0 {
		q.cond.Wait()
	}
	if len(q.items) == 0 {
		return "", false
	}
	d := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	q.active++
	return d, true
}

func (q *dirQueue) done(subdirs []string) {
	q.mu.Lock()
	q.items = append(q.items, subdirs...)
	q.active--
	q.mu.Unlock()
	q.cond.Broadcast()
}

// scanUnder returns the sorted, hashed entries below the directory rel.
// Workers take whole directories: each opens its directory once as an
// os.Root and reads and hashes the files in it by name, so a file costs
// one openat, not one per path element.
func (sc *Scanner) scanUnder(r *os.Root, rel string) ([]Entry, error) {
	n := sc.Workers
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	q := &dirQueue{items: []string{rel}}
	q.cond.L = &q.mu
	var mu sync.Mutex
	var out []Entry
	dirErr := map[string]string{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				dir, ok := q.pop()
				if !ok {
					return
				}
				entries, subdirs, err := sc.readDir(r, dir)
				mu.Lock()
				out = append(out, entries...)
				if err != nil {
					dirErr[dir] = err.Error()
				}
				mu.Unlock()
				q.done(subdirs)
			}
		})
	}
	wg.Wait()
	if msg, ok := dirErr[rel]; ok {
		return nil, fmt.Errorf("read %s: %s", rel, msg)
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	for dir, msg := range dirErr {
		// An unreadable directory never matches its baseline.
		if i, ok := slices.BinarySearchFunc(out, dir, func(e Entry, p string) int { return strings.Compare(e.Path, p) }); ok {
			out[i].Err = msg
		}
	}
	return out, nil
}

// readDir describes and hashes the entries of one directory and returns
// its subdirectories (not excluded) for the queue.
func (sc *Scanner) readDir(r *os.Root, dir string) (entries []Entry, subdirs []string, err error) {
	dr, err := r.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	defer dr.Close()
	rf, err := dr.Open(".")
	if err != nil {
		return nil, nil, err
	}
	// A directory opened in a Root lstats every entry in ReadDir; a
	// descriptor duplicated from it (same directory, nothing resolved by
	// name) reads the types from the directory entries instead.
	fd, err := syscall.Dup(int(rf.Fd()))
	rf.Close()
	if err != nil {
		return nil, nil, err
	}
	syscall.CloseOnExec(fd)
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	des, err := f.ReadDir(-1)
	if err != nil {
		return nil, nil, err
	}
	dirfd := fd
	for _, de := range des {
		name := de.Name()
		rel := name
		if dir != "." {
			rel = dir + "/" + name
		}
		if excluded(sc.Exclude, rel) {
			continue
		}
		e, err := sc.entry(dr, name, de.Type())
		if err == nil && e.Type == TypeFile {
			err = sc.hashAt(dirfd, name, &e)
		}
		e.Path = rel
		if err != nil {
			e.Err = err.Error()
		}
		entries = append(entries, e)
		if e.Type == TypeDir && e.Err == "" {
			subdirs = append(subdirs, rel)
		}
	}
	return entries, subdirs, nil
}

// entry describes name (relative to r) without reading file content.
func (sc *Scanner) entry(r *os.Root, name string, t fs.FileMode) (Entry, error) {
	e := Entry{Path: name, Type: typeOf(t)}
	if e.Type == TypeFile {
		return e, nil // size and mode from fstat of the opened file
	}
	fi, err := r.Lstat(name)
	if err != nil {
		return e, err
	}
	e.Type, e.Mode = typeOf(fi.Mode()), modeBits(fi.Mode())
	if e.Type == TypeSymlink {
		e.Target, err = r.Readlink(name)
	}
	return e, err
}

// hashFile fills size, mode and SHA-256 of a regular file from one open
// (watch mode: rel may have several elements; os.Root resolves them).
func (sc *Scanner) hashFile(r *os.Root, rel string, e *Entry) error {
	f, err := r.OpenFile(rel, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return sc.digest(e, fi.Mode(), fi.Size(), func(w io.Writer, buf []byte) (int64, error) {
		// A plain reader: *os.File's WriteTo would allocate its own buffer.
		return io.CopyBuffer(w, struct{ io.Reader }{f}, buf)
	})
}

// hashAt is hashFile for the full scan: name is one element opened
// relative to an open directory with O_NOFOLLOW (it cannot leave that
// directory) and read with plain system calls — the same calls as a bare
// open/read/close loop, no poller registration or os.File bookkeeping.
// O_NONBLOCK keeps a FIFO swapped in after the directory read from
// blocking the scan.
func (sc *Scanner) hashAt(dirfd int, name string, e *Entry) error {
	var fd int
	var err error
	for {
		fd, err = syscall.Openat(dirfd, name, syscall.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return &fs.PathError{Op: "openat", Path: name, Err: err}
	}
	defer syscall.Close(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: name, Err: err}
	}
	return sc.digest(e, statMode(st.Mode), st.Size, func(w io.Writer, buf []byte) (int64, error) {
		var total int64
		for {
			n, err := fdReader(fd).Read(buf)
			if n > 0 {
				w.Write(buf[:n]) // hash and object writers: errors surface at commit
				total += int64(n)
			}
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
			// A short read that ends exactly at the size fstat gave is the
			// end of a regular file: skip the extra read that returns 0.
			// Anything else (a file still growing, a network file system)
			// reads on until EOF.
			if n < len(buf) && total == st.Size {
				return total, nil
			}
		}
	})
}

// statMode converts st_mode to the bits Entry keeps.
func statMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFREG:
	default:
		mode |= fs.ModeIrregular
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

type fdReader int

func (r fdReader) Read(b []byte) (int, error) {
	for {
		n, err := syscall.Read(int(r), b)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n == 0 && len(b) > 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// digest hashes an opened file (and copies it into the object store).
func (sc *Scanner) digest(e *Entry, mode fs.FileMode, size int64, copyTo func(io.Writer, []byte) (int64, error)) error {
	if !mode.IsRegular() {
		// Replaced between the directory read and the open.
		e.Type, e.Mode = typeOf(mode), modeBits(mode)
		return nil
	}
	e.Size, e.Mode = size, modeBits(mode)
	h := sha256.New()
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	var w io.Writer = h
	var obj *objectWriter
	var err error
	if sc.Objects != nil {
		if obj, err = sc.Objects.create(); err != nil {
			return err
		}
		defer obj.abort()
		w = io.MultiWriter(h, obj)
	}
	n, err := copyTo(w, *bp)
	if err != nil {
		return err
	}
	var sum [sha256.Size]byte
	e.SHA256 = hex.EncodeToString(h.Sum(sum[:0]))
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
		err = sc.hashFile(r, rel, &e)
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
