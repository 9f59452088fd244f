package inspect

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/kyojin/kyojin/sanitize"
)

// ZIP checks a rebuilt archive: safe member names, no encryption, only
// stored or deflated members, no comment, and every member inspected by the
// inspector for the type its extension names. A member whose extension
// maps to no inspector is itself a finding: the engine only delivers
// members it could verify.
type ZIP struct {
	// Members maps member types to inspectors; it normally holds every
	// output inspector, this ZIP included, for nested archives.
	Members map[sanitize.Type]sanitize.Inspector
	// TempDir spools members for their inspectors; "" = os.TempDir().
	TempDir string
	// MaxBytes bounds the total decompressed bytes read (0 = 4 GiB).
	MaxBytes int64
}

func (z ZIP) Inspect(ctx context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return []sanitize.Finding{{Construct: "unreadable ZIP", Location: err.Error()}}, nil
	}
	var out []sanitize.Finding
	if zr.Comment != "" {
		out = append(out, sanitize.Finding{Construct: "archive comment", Location: "end of central directory"})
	}
	budget := z.MaxBytes
	if budget <= 0 {
		budget = 4 << 30
	}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		loc := f.Name
		if why := unsafeName(f.Name); why != "" {
			out = append(out, sanitize.Finding{Construct: "unsafe member name (" + why + ")", Location: loc})
			continue
		}
		if f.Flags&0x41 != 0 || f.Method == 99 {
			out = append(out, sanitize.Finding{Construct: "encrypted member", Location: loc})
			continue
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			out = append(out, sanitize.Finding{Construct: fmt.Sprintf("compression method %d", f.Method), Location: loc})
			continue
		}
		if f.Mode()&os.ModeSymlink != 0 {
			out = append(out, sanitize.Finding{Construct: "symbolic link", Location: loc})
			continue
		}
		if f.Comment != "" {
			out = append(out, sanitize.Finding{Construct: "member comment", Location: loc})
		}
		if strings.HasSuffix(f.Name, "/") {
			continue
		}
		t := sanitize.TypeForExt(strings.TrimPrefix(path.Ext(f.Name), "."))
		insp, ok := z.Members[t]
		if !ok {
			out = append(out, sanitize.Finding{Construct: "member of an unverifiable type", Location: loc})
			continue
		}
		fs, n, err := z.inspectMember(ctx, f, insp, budget)
		if err != nil {
			return nil, fmt.Errorf("inspect %s: %w", loc, err)
		}
		budget -= n
		for _, x := range fs {
			out = append(out, sanitize.Finding{Construct: x.Construct, Location: loc + ": " + x.Location})
		}
	}
	return out, nil
}

func (z ZIP) inspectMember(ctx context.Context, f *zip.File, insp sanitize.Inspector, budget int64) ([]sanitize.Finding, int64, error) {
	tmp, err := os.CreateTemp(z.TempDir, "kyojin-inspect-*")
	if err != nil {
		return nil, 0, err
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	rc, err := f.Open()
	if err != nil {
		return []sanitize.Finding{{Construct: "unreadable member", Location: err.Error()}}, 0, nil
	}
	n, err := io.Copy(tmp, io.LimitReader(rc, budget+1))
	rc.Close()
	if err != nil {
		return []sanitize.Finding{{Construct: "unreadable member", Location: err.Error()}}, n, nil
	}
	if n > budget {
		return nil, n, fmt.Errorf("decompressed size over the inspector's bound")
	}
	fs, err := insp.Inspect(ctx, tmp, n)
	return fs, n, err
}

func unsafeName(name string) string {
	switch {
	case strings.ContainsRune(name, '\\'):
		return "backslash"
	case strings.HasPrefix(name, "/"):
		return "absolute"
	case len(name) >= 2 && name[1] == ':':
		return "drive letter"
	}
	for _, el := range strings.Split(strings.TrimSuffix(name, "/"), "/") {
		if el == ".." || el == "." || el == "" {
			return "path element " + el
		}
	}
	for _, c := range name {
		if c < 0x20 || c == 0x7F || c >= 0x202A && c <= 0x202E || c >= 0x2066 && c <= 0x2069 {
			return "control character"
		}
	}
	return ""
}
