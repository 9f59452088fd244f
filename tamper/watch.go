package tamper

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch checks paths as the kernel notifies changes (inotify), debounced,
// and runs a full scan, a baseline re-verification and the fetch of the
// site's URLs at start and every interval — notifications can be missed
// (queue overflow, changes made while not running, network file systems).
// It returns when ctx ends or the baseline stops verifying.
func (m *Monitor) Watch(ctx context.Context) error {
	w, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return err
	}
	defer w.Close()
	for ri := range m.man.Roots {
		m.addTree(w, ri, ".")
	}
	full := func() error {
		if err := m.Reverify(ctx); err != nil {
			return err
		}
		if _, err := m.Scan(ctx); err != nil {
			m.Log.Error("tamper: full scan", "site", m.Site.Name(), "err", err)
		}
		m.rewatch(w)
		m.FetchAll(ctx)
		return nil
	}
	if err := full(); err != nil {
		return err
	}
	if m.onReady != nil {
		m.onReady()
	}
	debounce := m.Site.debounce
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	tick := time.NewTicker(max(debounce/4, 10*time.Millisecond))
	defer tick.Stop()
	period := time.NewTicker(cmp.Or(m.Site.interval, DefaultInterval))
	defer period.Stop()
	type burst struct{ first, last time.Time }
	pending := map[string]*burst{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return errors.New("watcher closed")
			}
			now := time.Now()
			if b := pending[ev.Name]; b != nil {
				b.last = now
			} else {
				pending[ev.Name] = &burst{now, now}
			}
		case err, ok := <-w.Errors:
			if !ok {
				return errors.New("watcher closed")
			}
			// Overflow loses events: only a full scan is sure again.
			m.Log.Warn("tamper: notifications lost; full scan", "site", m.Site.Name(), "err", err)
			if err := full(); err != nil {
				return err
			}
		case <-period.C:
			if err := full(); err != nil {
				return err
			}
		case now := <-tick.C:
			for name, b := range pending {
				// Quiet for the debounce time, or a burst that goes on:
				// check at the latest 5 debounce times after it began.
				if now.Sub(b.last) < debounce && now.Sub(b.first) < 5*debounce {
					continue
				}
				delete(pending, name)
				m.notified(ctx, w, name)
			}
		}
	}
}

// notified checks the path of one (debounced) notification. A panic
// while checking (whatever was planted there) is logged and the path left
// to the next full scan: the watch goes on.
func (m *Monitor) notified(ctx context.Context, w *fsnotify.Watcher, name string) {
	defer func() {
		if r := recover(); r != nil {
			m.Log.Error("tamper: check panicked", "site", m.Site.Name(), "path", name, "panic", r)
		}
	}()
	for ri, r := range m.man.Roots {
		if !within(name, r.Path) {
			continue
		}
		rel, err := filepath.Rel(r.Path, name)
		if err != nil {
			return
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			if _, err := m.Scan(ctx); err != nil {
				m.Log.Error("tamper: full scan", "site", m.Site.Name(), "err", err)
			}
			m.rewatch(w)
			return
		}
		if excluded(m.Site.Exclude, rel) {
			return
		}
		if fi, err := m.roots[ri].Lstat(rel); err == nil && fi.IsDir() {
			m.addTree(w, ri, rel) // a new directory: watch it and below
		}
		m.CheckPath(ctx, ri, rel)
		return
	}
}

// addTree watches dir and every directory below it (not following links,
// skipping excluded paths). inotify is not recursive.
func (m *Monitor) addTree(w *fsnotify.Watcher, ri int, dir string) {
	root := m.man.Roots[ri].Path
	fsys := m.roots[ri].FS()
	_ = fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if p != "." && excluded(m.Site.Exclude, p) {
			return fs.SkipDir
		}
		if err := w.Add(filepath.Join(root, filepath.FromSlash(p))); err != nil {
			m.Log.Warn("tamper: watch", "site", m.Site.Name(), "dir", p, "err", err)
		}
		return nil
	})
}

// rewatch adds the watches again after a scan reopened a replaced root.
func (m *Monitor) rewatch(w *fsnotify.Watcher) {
	if !m.rootsReplaced {
		return
	}
	m.rootsReplaced = false
	for ri := range m.man.Roots {
		m.addTree(w, ri, ".")
	}
}
