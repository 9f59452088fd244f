package tamper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"
)

// ErrSymlinkEscape refuses a baseline with links leading out of a web root.
var ErrSymlinkEscape = errors.New("symlink leads out of the web root")

// MakeBaseline scans the site's roots (keeping content copies when restore
// is on), fetches its URLs, and writes the signed manifest. It returns the
// manifest and warnings about targets outside the allowlist that the
// baseline accepts. Symlinks out of a root and unreadable files refuse the
// baseline: a baseline must describe a known-good site entirely.
func MakeBaseline(ctx context.Context, s *Site, log *slog.Logger) (*Manifest, []string, error) {
	priv, err := LoadPrivateKey(s.Key)
	if err != nil {
		return nil, nil, err
	}
	m := &Manifest{Version: 1, Tenant: s.Tenant, Site: s.ID, Created: time.Now().UTC(), Objects: s.Restore}
	sc := &Scanner{Exclude: s.Exclude}
	if s.Restore {
		sc.Objects = NewObjectStore(s.Baseline)
	}
	var problems []string
	for _, root := range s.Roots {
		if fi, err := os.Lstat(root); err != nil || !fi.IsDir() {
			// A root that is a link would make the monitor scan and
			// restore wherever the link points later.
			return nil, nil, fmt.Errorf("web root %s is not a directory (give the real path, not a symlink)", root)
		}
		entries, err := sc.Scan(root)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", root, err)
		}
		for _, e := range entries {
			if e.Err != "" {
				problems = append(problems, fmt.Sprintf("%s/%s: %s", root, e.Path, e.Err))
			}
			if e.Type == TypeSymlink && symlinkEscapes(root, e.Path, e.Target) {
				problems = append(problems, fmt.Sprintf("%s/%s -> %s: %v", root, e.Path, e.Target, ErrSymlinkEscape))
			}
		}
		m.Roots = append(m.Roots, Root{Path: root, Entries: entries})
		log.Info("tamper baseline root", "site", s.Name(), "root", root, "entries", len(entries))
	}
	if len(problems) > 0 {
		err := fmt.Errorf("baseline refused:\n  %s", strings.Join(problems, "\n  "))
		for _, p := range problems {
			if strings.Contains(p, ErrSymlinkEscape.Error()) {
				err = fmt.Errorf("%w: %w", ErrSymlinkEscape, err)
				break
			}
		}
		return nil, nil, err
	}
	var warnings []string
	f := NewFetcher(s.fetchTimeout, s.MaxBytes)
	for i := range s.URLs {
		u := &s.URLs[i]
		p, _, err := f.Fetch(ctx, u)
		if err != nil {
			return nil, nil, fmt.Errorf("fetch %s: %w", u.URL, err)
		}
		for _, t := range s.BaselineWarnings(&p) {
			warnings = append(warnings, u.URL+": "+t)
		}
		m.Pages = append(m.Pages, p)
	}
	if err := m.Save(s.Baseline, priv); err != nil {
		return nil, nil, err
	}
	return m, warnings, nil
}
