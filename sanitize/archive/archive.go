// Package archive sanitizes ZIP and 7z archives: every member is spooled to
// a temporary file while its actual decompressed bytes are counted (header
// sizes are attacker-controlled and never trusted), handed back to the
// engine for the full pipeline, and the delivered results are written into
// a fresh ZIP. Member names with path traversal, absolute paths, drive
// letters or backslashes reject the whole archive; encrypted archives
// ("PPAP" password ZIPs, 7z with encrypted headers or data) are held, never
// passed through. 7z archives are delivered as ZIP.
package archive

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bodgit/sevenzip"
	kflate "github.com/klauspost/compress/flate"
	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/sanitize"
)

// Handler implements sanitize.Handler for TypeZIP and Type7z.
type Handler struct {
	// TempDir holds spooled members; "" = os.TempDir().
	TempDir string
}

// entry is one member, whatever the archive format.
type entry struct {
	name       string
	dir        bool
	symlink    bool
	encrypted  bool
	compressed int64 // bytes in the archive; -1 when unknown (7z solid blocks)
	modified   time.Time
	open       func() (io.ReadCloser, error)
}

// minRatioCheck is the output size below which the ratio is not checked:
// small, highly repetitive files (blank forms) legitimately compress well.
const minRatioCheck = 1 << 20

// Sanitize rebuilds the archive into w as a ZIP.
func (h Handler) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error) {
	if in.Nested == nil {
		return nil, errors.New("archive: members cannot be processed outside the engine")
	}
	if in.Depth >= in.Limits.MaxArchiveDepth {
		return nil, fmt.Errorf("archive: nesting depth %d reaches max_archive_depth: %w", in.Depth+1, sanitize.ErrLimit)
	}
	budget := in.Budget
	if budget == nil {
		budget = sanitize.NewBudget(in.Limits)
	}
	res := &sanitize.Result{OutType: sanitize.TypeZIP}
	var entries []entry
	var err error
	switch in.Type {
	case sanitize.TypeZIP:
		entries, err = zipEntries(in, res)
	case sanitize.Type7z:
		entries, err = sevenEntries(in)
		res.Add("converted", "7z→zip", 1)
	default:
		return nil, fmt.Errorf("archive: unsupported type %s", in.Type)
	}
	if err != nil {
		return nil, err
	}
	if len(entries) > in.Limits.MaxArchiveEntries {
		return nil, fmt.Errorf("archive: %d entries over max_archive_entries: %w", len(entries), sanitize.ErrLimit)
	}
	// Check every entry before processing any, so that a hostile archive is
	// refused as a whole rather than half-processed.
	for _, e := range entries {
		if e.encrypted {
			return nil, fmt.Errorf("archive: member is encrypted: %w", sanitize.ErrEncrypted)
		}
		if err := checkName(e.name); err != nil {
			return nil, err
		}
	}
	zw := zip.NewWriter(w)
	// klauspost/compress writes standard deflate streams about twice as
	// fast as compress/flate at a similar ratio.
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return kflate.NewWriter(out, kflate.DefaultCompression)
	})
	used := map[string]bool{}
	delivered, withheld := 0, 0
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := budget.TakeEntry(); err != nil {
			return nil, err
		}
		switch {
		case e.dir:
			continue // directories are implied by member paths
		case e.symlink:
			res.Add("removed", "symlink "+e.name, 1)
			withheld++
			continue
		}
		ok, err := h.member(ctx, in, budget, e, zw, used, res)
		if err != nil {
			return nil, err
		}
		if ok {
			delivered++
		} else {
			withheld++
		}
	}
	if withheld > 0 && delivered == 0 {
		return nil, fmt.Errorf("archive: every member was withheld: %w", sanitize.ErrRejected)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("archive: write: %w", err)
	}
	res.Partial = res.Partial || withheld > 0 // also set by a nested PARTIAL archive
	if in.Type == sanitize.TypeZIP {
		res.Add("rebuilt", "zip", 1)
	}
	return res, nil
}

// member spools one entry, runs it through the engine and copies a
// delivered result into zw. It reports whether the member was delivered.
func (h Handler) member(ctx context.Context, in *sanitize.Input, budget *sanitize.Budget, e entry, zw *zip.Writer,
	used map[string]bool, res *sanitize.Result) (bool, error) {
	tmp, err := os.CreateTemp(h.TempDir, "kyojin-member-*")
	if err != nil {
		return false, fmt.Errorf("archive: spool: %w", err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	rc, err := e.open()
	if err != nil {
		var re *sevenzip.ReadError
		if errors.As(err, &re) && re.Encrypted {
			return false, fmt.Errorf("archive: %w", sanitize.ErrEncrypted)
		}
		if errors.Is(err, zip.ErrAlgorithm) {
			res.Add("removed", "unsupported compression "+e.name, 1)
			return false, nil
		}
		return false, fmt.Errorf("archive: open member: %w", err)
	}
	compressed := e.compressed
	if compressed < 0 || compressed > in.Size {
		compressed = in.Size
	}
	cw := &countingWriter{w: tmp, budget: budget, limit: max(compressed, 1) * in.Limits.MaxCompressionRatio}
	_, err = io.Copy(cw, rc)
	rc.Close()
	if err != nil {
		var re *sevenzip.ReadError
		if errors.As(err, &re) && re.Encrypted {
			return false, fmt.Errorf("archive: %w", sanitize.ErrEncrypted)
		}
		if errors.Is(err, sanitize.ErrLimit) {
			return false, err
		}
		return false, fmt.Errorf("archive: read member: %w", err)
	}
	mr, err := in.Nested.Member(ctx, sanitize.Member{Name: e.name, R: tmp, Size: cw.n})
	if err != nil {
		return false, err
	}
	defer mr.Close()
	if !mr.Verdict.Delivered() {
		res.Actions = append(res.Actions, sanitize.Action{Kind: "removed", Object: e.name, Count: 1,
			Detail: string(mr.Verdict)})
		return false, nil
	}
	switch mr.Verdict {
	case sanitize.VerdictPartial:
		res.Partial = true
	case sanitize.VerdictSanitized, sanitize.VerdictConverted:
		res.Actions = append(res.Actions, sanitize.Action{Kind: "replaced", Object: e.name, Count: 1, Detail: string(mr.Verdict)})
	}
	name := uniqueName(path.Join(path.Dir(e.name), mr.Name), used)
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: e.modified})
	if err != nil {
		return false, fmt.Errorf("archive: write: %w", err)
	}
	if _, err := io.Copy(fw, io.NewSectionReader(mr.R, 0, mr.Size)); err != nil {
		return false, fmt.Errorf("archive: write: %w", err)
	}
	return true, nil
}

func uniqueName(name string, used map[string]bool) string {
	name = strings.TrimPrefix(name, "./")
	key := strings.ToLower(name)
	if !used[key] {
		used[key] = true
		return name
	}
	ext := path.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 2; ; i++ {
		c := fmt.Sprintf("%s~%d%s", base, i, ext)
		if !used[strings.ToLower(c)] {
			used[strings.ToLower(c)] = true
			return c
		}
	}
}

// countingWriter counts actual decompressed bytes against the shared budget
// and the member's compression ratio.
type countingWriter struct {
	w      io.Writer
	budget *sanitize.Budget
	limit  int64 // ratio limit in bytes
	n      int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if err := c.budget.TakeBytes(int64(len(p))); err != nil {
		return 0, err
	}
	if c.n > minRatioCheck && c.n > c.limit {
		return 0, fmt.Errorf("archive: compression ratio over max_compression_ratio: %w", sanitize.ErrLimit)
	}
	return c.w.Write(p)
}

// checkName rejects member names that could escape the extraction
// directory or mean different things on different systems.
func checkName(name string) error {
	reject := func(why string) error {
		return fmt.Errorf("archive: member name %q: %s: %w", name, why, sanitize.ErrRejected)
	}
	switch {
	case name == "":
		return reject("empty")
	case strings.ContainsRune(name, '\\'):
		return reject("backslash")
	case strings.HasPrefix(name, "/"):
		return reject("absolute path")
	case len(name) >= 2 && name[1] == ':' && unicode.IsLetter(rune(name[0])):
		return reject("drive letter")
	case strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7F }) >= 0:
		return reject("control character")
	}
	for _, el := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		switch el {
		case "..":
			return reject("parent directory")
		case "", ".":
			return reject("empty path element")
		}
	}
	return nil
}

// zipEntries lists a ZIP's members from its central directory.
func zipEntries(in *sanitize.Input, res *sanitize.Result) ([]entry, error) {
	zr, err := zip.NewReader(in.R, in.Size)
	if errors.Is(err, zip.ErrInsecurePath) {
		return nil, fmt.Errorf("archive: insecure member path: %w", sanitize.ErrRejected)
	}
	if err != nil {
		return nil, fmt.Errorf("archive: zip: %w", err)
	}
	out := make([]entry, 0, len(zr.File))
	for _, f := range zr.File {
		name := f.Name
		if !utf8.ValidString(name) {
			// Windows Explorer writes member names in CP932 without the
			// UTF-8 flag; decode them so the rebuilt archive is portable.
			dec, err := japanese.ShiftJIS.NewDecoder().String(name)
			if err != nil || strings.ContainsRune(dec, utf8.RuneError) {
				return nil, fmt.Errorf("archive: member name in an unknown encoding: %w", sanitize.ErrRejected)
			}
			name = dec
			res.Add("normalized", "member name encoding cp932→utf-8", 1)
		}
		mode := f.Mode()
		out = append(out, entry{
			name:       name,
			dir:        mode.IsDir(),
			symlink:    mode&fs.ModeSymlink != 0,
			encrypted:  f.Flags&0x1 != 0 || f.Flags&0x40 != 0 || f.Method == 99, // traditional, strong, WinZip AES
			compressed: int64(min(f.CompressedSize64, 1<<62)),
			modified:   f.Modified,
			open:       f.Open,
		})
	}
	return out, nil
}

// sevenEntries lists a 7z archive's members.
func sevenEntries(in *sanitize.Input) ([]entry, error) {
	zr, err := sevenzip.NewReader(in.R, in.Size)
	if err != nil {
		var re *sevenzip.ReadError
		if errors.As(err, &re) && re.Encrypted {
			return nil, fmt.Errorf("archive: 7z headers are encrypted: %w", sanitize.ErrEncrypted)
		}
		return nil, fmt.Errorf("archive: 7z: %w", err)
	}
	out := make([]entry, 0, len(zr.File))
	for _, f := range zr.File {
		mode := f.Mode()
		out = append(out, entry{
			name:       f.Name,
			dir:        mode.IsDir(),
			symlink:    mode&fs.ModeSymlink != 0,
			compressed: -1,
			modified:   f.Modified,
			open:       f.Open,
		})
	}
	return out, nil
}
