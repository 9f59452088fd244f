package tamper

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Monitor compares one site with its verified baseline: full scans, single
// paths (from notifications), fetched pages, and restores when enabled.
type Monitor struct {
	Site    *Site
	Alerter Alerter
	Log     *slog.Logger
	// Workers for hashing in full scans; GOMAXPROCS when zero.
	Workers int

	man     *Manifest
	roots   []*os.Root
	byPath  []map[string]*Entry // per root
	objects *ObjectStore
	fetcher *Fetcher

	mu sync.Mutex
	// alerted remembers the state already raised per path, so a standing
	// change is raised once, not at every scan; cleared when the path is
	// back to its baseline.
	alerted map[string]string

	// rootsReplaced tells Watch to add its watches again (checkRoot).
	rootsReplaced bool

	onReady func() // tests: called once Watch has started and scanned
}

// Open loads and verifies the site's baseline. A manifest that fails its
// signature is raised as a critical change and returned as ErrSignature:
// nothing is compared against a baseline that cannot be trusted.
func Open(ctx context.Context, s *Site, a Alerter, log *slog.Logger) (*Monitor, error) {
	m := &Monitor{Site: s, Alerter: a, Log: log, alerted: map[string]string{},
		objects: NewObjectStore(s.Baseline), fetcher: NewFetcher(s.fetchTimeout, s.MaxBytes)}
	man, err := LoadSiteManifest(s)
	if err != nil {
		if errors.Is(err, ErrSignature) {
			m.raise(ctx, Change{Kind: KindBaseline, Severity: SevCritical, Detector: "verify", Path: filepath.Join(s.Baseline, ManifestFile),
				Details: "ベースラインの署名が検証できません。ベースライン自体が改ざんされた可能性があります", DetailsEN: "the baseline signature does not verify: the baseline itself may have been altered"})
		}
		return nil, err
	}
	m.man = man
	for _, r := range man.Roots {
		root, err := os.OpenRoot(r.Path)
		if err != nil {
			m.Close()
			return nil, fmt.Errorf("open web root: %w", err)
		}
		m.roots = append(m.roots, root)
		idx := make(map[string]*Entry, len(r.Entries))
		for i := range r.Entries {
			idx[r.Entries[i].Path] = &r.Entries[i]
		}
		m.byPath = append(m.byPath, idx)
	}
	return m, nil
}

// Close releases the roots.
func (m *Monitor) Close() {
	for _, r := range m.roots {
		r.Close()
	}
	m.roots = nil
}

// Manifest is the verified baseline.
func (m *Monitor) Manifest() *Manifest { return m.man }

// Reverify reads the manifest from disk again and checks its signature
// and that it is still the one loaded (the baseline directory can be
// attacked while the monitor runs).
func (m *Monitor) Reverify(ctx context.Context) error {
	man, err := LoadSiteManifest(m.Site)
	if err == nil && !man.Created.Equal(m.man.Created) {
		err = fmt.Errorf("%w: manifest replaced since start (re-run watch after a new baseline)", ErrSignature)
	}
	if err != nil {
		m.raise(ctx, Change{Kind: KindBaseline, Severity: SevCritical, Detector: "verify", Path: filepath.Join(m.Site.Baseline, ManifestFile),
			Details: "ベースラインを検証できません: " + err.Error(), DetailsEN: "the baseline does not verify: " + err.Error()})
	}
	return err
}

func (m *Monitor) raise(ctx context.Context, c Change) {
	if c.Time.IsZero() {
		c.Time = time.Now().UTC()
	}
	c.Tenant, c.Site = m.Site.Tenant, m.Site.ID
	if err := m.Alerter.Raise(ctx, c); err != nil {
		m.Log.Error("tamper: raise alert", "site", m.Site.Name(), "kind", c.Kind, "err", err)
	}
}

func stateOf(e *Entry) string {
	if e == nil {
		return "absent"
	}
	return fmt.Sprintf("%s|%d|%o|%s|%s|%s", e.Type, e.Size, e.Mode, e.SHA256, e.Target, e.Err)
}

// Scan compares every root with the baseline, raises new changes and
// restores when enabled. It returns the changes raised.
func (m *Monitor) Scan(ctx context.Context) ([]Change, error) {
	sc := &Scanner{Exclude: m.Site.Exclude, Workers: m.Workers}
	var all []Change
	seen := map[string]bool{}
	var firstErr error
	for ri, r := range m.man.Roots {
		if c, ok, skip := m.checkRoot(ri); ok {
			seen[alertKey(ri, ".")] = true
			all = append(all, m.handleRoot(ctx, ri, c)...)
			if skip {
				continue
			}
		}
		cur, err := sc.Scan(r.Path)
		if err != nil {
			seen[alertKey(ri, ".")] = true
			all = append(all, m.handleRoot(ctx, ri, Change{Kind: KindDeleted, Severity: SevCritical, Path: r.Path,
				Details: "Web ルートを読めません: " + err.Error(), DetailsEN: "web root cannot be read: " + err.Error()})...)
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		deltas := Diff(r.Entries, cur)
		for _, d := range deltas {
			seen[alertKey(ri, d.Path)] = true
		}
		all = append(all, m.handle(ctx, ri, deltas, "scan")...)
	}
	m.mu.Lock()
	for k := range m.alerted {
		if !seen[k] {
			delete(m.alerted, k) // back to baseline
		}
	}
	m.mu.Unlock()
	return all, firstErr
}

// checkRoot notices a web root replaced as a whole. Renamed away and
// recreated: the open os.Root and the inotify watches still point at the
// old directory, so they are reopened (Watch re-adds its watches). Swapped
// for a symlink: raised, and the root is skipped — scanning or restoring
// through it would act on whatever directory the link names.
func (m *Monitor) checkRoot(ri int) (c Change, changed, skip bool) {
	path := m.man.Roots[ri].Path
	lfi, err := os.Lstat(path)
	if err != nil {
		return Change{}, false, false // gone: the scan raises it
	}
	c = Change{Kind: KindModified, Severity: SevCritical, Path: path,
		Details: "Web ルートそのものが置き換えられました", DetailsEN: "the web root itself was replaced"}
	if !lfi.IsDir() {
		target, _ := os.Readlink(path)
		c.Kind = KindSymlinkEscape
		c.Details, c.DetailsEN = "Web ルートがディレクトリではなくなりました: "+target, "the web root is no longer a directory: "+target
		return c, true, true
	}
	if old, err := m.roots[ri].Stat("."); err == nil && os.SameFile(lfi, old) {
		return Change{}, false, false
	}
	if nr, err := os.OpenRoot(path); err == nil {
		m.roots[ri].Close()
		m.roots[ri] = nr
		m.rootsReplaced = true
	}
	return c, true, false
}

// handleRoot raises a change of a root as a whole, once per state.
func (m *Monitor) handleRoot(ctx context.Context, ri int, c Change) []Change {
	c.Detector = "scan"
	key := alertKey(ri, ".")
	m.mu.Lock()
	dup := m.alerted[key] == c.Details
	m.alerted[key] = c.Details
	m.mu.Unlock()
	if dup {
		return nil
	}
	m.raise(ctx, c)
	return []Change{c}
}

func alertKey(ri int, rel string) string { return fmt.Sprintf("%d:%s", ri, rel) }

// CheckPath compares one path below root ri — and, when it is or was a
// directory, everything below it — with the baseline (watch mode).
func (m *Monitor) CheckPath(ctx context.Context, ri int, rel string) []Change {
	root := m.roots[ri]
	sc := &Scanner{Exclude: m.Site.Exclude, Workers: 1}
	var cur []Entry
	if e, ok := sc.ScanFile(root, rel); ok {
		cur = append(cur, e)
		if e.Type == TypeDir && e.Err == "" {
			sub, err := sc.scanUnder(root, rel)
			if err != nil {
				cur[0].Err = err.Error()
			}
			cur = append(cur, sub...)
		}
	}
	base := m.man.Roots[ri].Entries
	var b []Entry
	if e := m.byPath[ri][rel]; e != nil {
		b = append(b, *e)
	}
	prefix := rel + "/"
	lo := sort.Search(len(base), func(i int) bool { return base[i].Path >= prefix })
	for i := lo; i < len(base) && strings.HasPrefix(base[i].Path, prefix); i++ {
		b = append(b, base[i])
	}
	deltas := Diff(b, cur)
	changed := make(map[string]bool, len(deltas))
	for _, d := range deltas {
		changed[d.Path] = true
	}
	m.mu.Lock()
	for _, l := range [][]Entry{b, cur} {
		for _, e := range l {
			if !changed[e.Path] {
				delete(m.alerted, alertKey(ri, e.Path)) // back to its baseline
			}
		}
	}
	m.mu.Unlock()
	return m.handle(ctx, ri, deltas, "watch")
}

// handle turns deltas into changes: dedup, severity, restore, raise.
func (m *Monitor) handle(ctx context.Context, ri int, deltas []Delta, detector string) []Change {
	root := m.man.Roots[ri].Path
	var out []Change
	var restores []int
	for _, d := range deltas {
		key, st := alertKey(ri, d.Path), stateOf(d.New)
		m.mu.Lock()
		dup := m.alerted[key] == st
		m.alerted[key] = st
		m.mu.Unlock()
		if dup {
			continue
		}
		c := describe(root, d)
		c.Detector = detector
		out = append(out, c)
		restores = append(restores, len(out)-1)
	}
	if m.Site.Restore {
		// Added paths go last and deepest first, so a new directory is
		// emptied before it is moved; baselined paths are restored
		// parents first (sorted order).
		sort.SliceStable(restores, func(i, j int) bool {
			ai, aj := out[restores[i]].Kind == KindAdded, out[restores[j]].Kind == KindAdded
			if ai != aj {
				return aj
			}
			if ai {
				return out[restores[i]].Path > out[restores[j]].Path
			}
			return false
		})
		for _, i := range restores {
			c := &out[i]
			d := deltaFor(deltas, root, c.Path)
			action, err := m.restore(ri, d)
			switch {
			case err != nil:
				c.Restored = "failed: " + err.Error()
				m.Log.Error("tamper: restore", "site", m.Site.Name(), "path", c.Path, "err", err)
			case action != "":
				c.Restored = action
				m.mu.Lock()
				delete(m.alerted, alertKey(ri, d.Path)) // a new alteration alerts again
				m.mu.Unlock()
			}
			m.record(c, d, action, err)
		}
	}
	for _, c := range out {
		m.raise(ctx, c)
	}
	return out
}

func deltaFor(deltas []Delta, root, abs string) Delta {
	for _, d := range deltas {
		if filepath.Join(root, filepath.FromSlash(d.Path)) == abs {
			return d
		}
	}
	return Delta{}
}

// webScript are extensions a web server may execute: an added one is the
// typical web shell.
var webScript = map[string]bool{".php": true, ".phtml": true, ".php5": true, ".phar": true, ".jsp": true, ".asp": true, ".aspx": true, ".cgi": true, ".pl": true, ".py": true, ".sh": true}

// describe gives a delta its kind, severity and bilingual details.
func describe(root string, d Delta) Change {
	c := Change{Path: filepath.Join(root, filepath.FromSlash(d.Path)), Before: d.Old, After: d.New, Severity: SevHigh}
	switch d.Kind {
	case Added:
		c.Kind = KindAdded
		c.Details, c.DetailsEN = "ベースラインにないファイルです", "not in the baseline"
		if d.New.Type == TypeFile && webScript[strings.ToLower(filepath.Ext(d.Path))] {
			c.Severity = SevCritical
			c.Details, c.DetailsEN = "ベースラインにない実行可能なスクリプトです (Web シェルの疑い)", "executable script not in the baseline (possible web shell)"
		}
	case Deleted:
		c.Kind = KindDeleted
		c.Details, c.DetailsEN = "ベースラインにあるファイルがありません", "baselined path is gone"
	case ModeOnly:
		c.Kind, c.Severity = KindMode, SevMedium
		c.Details = fmt.Sprintf("パーミッションが %04o から %04o に変わりました", d.Old.Mode, d.New.Mode)
		c.DetailsEN = fmt.Sprintf("mode changed from %04o to %04o", d.Old.Mode, d.New.Mode)
	default:
		c.Kind = KindModified
		switch {
		case d.New.Err != "":
			c.Details, c.DetailsEN = "読み取れません: "+d.New.Err, "cannot be read: "+d.New.Err
		case d.Old.Type != d.New.Type:
			c.Details, c.DetailsEN = fmt.Sprintf("種類が %s から %s に変わりました", d.Old.Type, d.New.Type), fmt.Sprintf("type changed from %s to %s", d.Old.Type, d.New.Type)
		case d.Old.Target != d.New.Target:
			c.Details, c.DetailsEN = "リンク先が "+d.New.Target+" に変わりました", "link target changed to "+d.New.Target
		default:
			c.Details = fmt.Sprintf("内容が変わりました (%d → %d バイト)", d.Old.Size, d.New.Size)
			c.DetailsEN = fmt.Sprintf("content changed (%d → %d bytes)", d.Old.Size, d.New.Size)
		}
	}
	if d.New != nil && d.New.Type == TypeSymlink && symlinkEscapes(root, d.Path, d.New.Target) {
		c.Kind, c.Severity = KindSymlinkEscape, SevCritical
		c.Details = "Web ルートの外を指すシンボリックリンクです: " + d.New.Target
		c.DetailsEN = "symlink leads out of the web root: " + d.New.Target
	}
	return c
}

// FetchAll fetches every URL of the site and raises the differences with
// the baseline pages.
func (m *Monitor) FetchAll(ctx context.Context) []Change {
	var out []Change
	for i := range m.Site.URLs {
		u := &m.Site.URLs[i]
		var base *Page
		for j := range m.man.Pages {
			if m.man.Pages[j].URL == u.URL {
				base = &m.man.Pages[j]
			}
		}
		cur, _, err := m.fetcher.Fetch(ctx, u)
		var changes []Change
		switch {
		case err != nil:
			changes = []Change{{Tenant: m.Site.Tenant, Site: m.Site.ID, Kind: KindFetchFailed, Severity: SevMedium, Detector: "fetch", URL: u.URL,
				Details: "取得できません: " + err.Error(), DetailsEN: "fetch failed: " + err.Error()}}
		case base == nil:
			changes = []Change{{Tenant: m.Site.Tenant, Site: m.Site.ID, Kind: KindPageModified, Severity: SevLow, Detector: "fetch", URL: u.URL,
				Details: "ベースラインにない URL です (ベースラインを作り直してください)", DetailsEN: "URL not in the baseline (make a new baseline)"}}
		default:
			changes = m.Site.ComparePage(u, base, &cur)
		}
		key := "url:" + u.URL
		st := fmt.Sprint(changes)
		m.mu.Lock()
		dup := len(changes) > 0 && m.alerted[key] == st
		if len(changes) == 0 {
			delete(m.alerted, key)
		} else {
			m.alerted[key] = st
		}
		m.mu.Unlock()
		if dup {
			continue
		}
		for _, c := range changes {
			m.raise(ctx, c)
		}
		out = append(out, changes...)
	}
	return out
}
