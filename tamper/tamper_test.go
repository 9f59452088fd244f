package tamper

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func kinds(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Kind+" "+filepath.Base(c.Path))
	}
	slices.Sort(out)
	return out
}

func TestScanDetectsEveryKind(t *testing.T) {
	f := newFixture(t, "")
	rec := newRecorder()
	m := f.baselineAndOpen(t, rec)
	ctx := context.Background()
	if got, err := m.Scan(ctx); err != nil || len(got) != 0 {
		t.Fatalf("clean scan: %v %v", got, err)
	}
	f.write(t, "index.html", siteFiles["index.html"]+"<script src=http://evil.example.net/x.js></script>")
	f.write(t, "shell.php", "<?php system($_GET['c']);")
	f.write(t, "logs/new.log", "excluded paths never alert")
	os.Remove(filepath.Join(f.root, "css/site.css"))
	os.Chmod(filepath.Join(f.root, "js/app.js"), 0o666)
	os.Symlink("../../etc/passwd", filepath.Join(f.root, "passwd.txt"))
	os.Remove(filepath.Join(f.root, "latest.html"))
	os.Symlink("index.html", filepath.Join(f.root, "latest.html"))
	got, err := m.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"added shell.php", "deleted site.css", "mode app.js", "modified index.html", "modified latest.html", "symlink-escape passwd.txt"}
	if g := kinds(got); !slices.Equal(g, want) {
		t.Fatalf("changes %q, want %q", g, want)
	}
	sev := map[string]string{}
	for _, c := range rec.all() {
		sev[c.Kind+" "+filepath.Base(c.Path)] = c.Severity
		if c.Tenant != "city-a" || c.Site != "www" || c.Detector != "scan" || c.Details == "" || c.DetailsEN == "" || c.Time.IsZero() {
			t.Errorf("incomplete change %+v", c)
		}
	}
	if sev["added shell.php"] != SevCritical || sev["symlink-escape passwd.txt"] != SevCritical || sev["mode app.js"] != SevMedium {
		t.Errorf("severities %v", sev)
	}
	// A standing change is raised once, not at every scan.
	if again, _ := m.Scan(ctx); len(again) != 0 {
		t.Errorf("second scan re-raised %q", kinds(again))
	}
	// Back to the baseline, then altered again: raised again.
	f.write(t, "index.html", siteFiles["index.html"])
	m.Scan(ctx)
	f.write(t, "index.html", "defaced")
	if again, _ := m.Scan(ctx); !slices.Equal(kinds(again), []string{"modified index.html"}) {
		t.Errorf("re-alteration: %q", kinds(again))
	}
}

func TestRestore(t *testing.T) {
	f := newFixture(t, "        restore: true\n        quarantine_added: true\n")
	rec := newRecorder()
	m := f.baselineAndOpen(t, rec)
	ctx := context.Background()
	f.write(t, "index.html", "<h1>hacked</h1>")
	os.Chmod(filepath.Join(f.root, "index.html"), 0o600) // replaced with another mode too
	os.RemoveAll(filepath.Join(f.root, "about"))
	os.Chmod(filepath.Join(f.root, "js/app.js"), 0o666)
	f.write(t, "uploads/shell.php", "<?php eval($_POST['x']);")
	got, err := m.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	restored := map[string]string{}
	for _, c := range got {
		restored[c.Kind+" "+strings.TrimPrefix(c.Path, f.root+"/")] = c.Restored
	}
	want := map[string]string{
		"modified index.html": ActRestored, "deleted about": ActRecreated, "deleted about/index.html": ActRestored,
		"mode js/app.js": ActChmod, "added uploads": ActQuarantined, "added uploads/shell.php": ActQuarantined,
	}
	for k, v := range want {
		if restored[k] != v {
			t.Errorf("%s: restored %q, want %q (all %v)", k, restored[k], v, restored)
		}
	}
	if f.read(t, "index.html") != siteFiles["index.html"] || f.read(t, "about/index.html") != siteFiles["about/index.html"] {
		t.Error("content not restored")
	}
	for rel, mode := range map[string]os.FileMode{"index.html": 0o644, "js/app.js": 0o644, "about": 0o755} {
		if st, _ := os.Stat(filepath.Join(f.root, rel)); st == nil || st.Mode().Perm() != mode {
			t.Errorf("%s mode %v, want %v", rel, st.Mode().Perm(), mode)
		}
	}
	if _, err := os.Stat(filepath.Join(f.root, "uploads")); !os.IsNotExist(err) {
		t.Errorf("added directory still in the web root: %v", err)
	}
	// The web shell is kept as evidence outside the web root, with a record.
	q, _ := filepath.Glob(filepath.Join(f.baseline, "quarantine", "*-shell.php"))
	if len(q) != 1 {
		t.Fatalf("quarantine: %v", q)
	}
	if b, _ := os.ReadFile(q[0]); string(b) != "<?php eval($_POST['x']);" {
		t.Errorf("quarantined content %q", b)
	}
	if rec, err := os.ReadFile(q[0] + ".json"); err != nil || !strings.Contains(string(rec), `"path":"uploads/shell.php"`) {
		t.Errorf("quarantine record %s %v", rec, err)
	}
	log, _ := os.ReadFile(filepath.Join(f.baseline, "restore.jsonl"))
	if n := strings.Count(string(log), "\n"); n != len(want) {
		t.Errorf("restore log has %d records, want %d:\n%s", n, len(want), log)
	}
	if again, _ := m.Scan(ctx); len(again) != 0 {
		t.Errorf("after restore: %q", kinds(again))
	}
	// An altered copy in the object store is never written back.
	objs, _ := filepath.Glob(filepath.Join(f.baseline, "objects", "*", "*"))
	for _, o := range objs {
		os.Chmod(o, 0o600)
		os.WriteFile(o, []byte("poisoned"), 0o600)
	}
	f.write(t, "index.html", "<h1>hacked again</h1>")
	got, _ = m.Scan(ctx)
	if len(got) != 1 || !strings.HasPrefix(got[0].Restored, "failed: ") || !strings.Contains(got[0].Restored, ErrObject.Error()) {
		t.Errorf("poisoned object: %+v", got)
	}
	if f.read(t, "index.html") != "<h1>hacked again</h1>" {
		t.Error("poisoned object written into the site")
	}
}

// A directory swapped for a link to outside the root: restore goes through
// os.Root and never writes outside.
func TestRestoreThroughPlantedSymlink(t *testing.T) {
	f := newFixture(t, "        restore: true\n")
	m := f.baselineAndOpen(t, newRecorder())
	outside := filepath.Join(f.dir, "outside")
	os.MkdirAll(outside, 0o755)
	os.RemoveAll(filepath.Join(f.root, "about"))
	if err := os.Symlink(outside, filepath.Join(f.root, "about")); err != nil {
		t.Fatal(err)
	}
	got, err := m.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Fatalf("restore wrote outside the web root: %v", ents)
	}
	if fi, err := os.Lstat(filepath.Join(f.root, "about")); err != nil || !fi.IsDir() {
		t.Errorf("about not recreated as a directory: %v %v (changes %+v)", fi, err, got)
	}
	if f.read(t, "about/index.html") != siteFiles["about/index.html"] {
		t.Error("about/index.html not restored")
	}
}

func TestSignatureTamper(t *testing.T) {
	f := newFixture(t, "")
	rec := newRecorder()
	f.baselineAndOpen(t, rec)
	ctx := context.Background()
	// Whoever alters the site makes the baseline agree with the defacement.
	mpath := filepath.Join(f.baseline, ManifestFile)
	b, _ := os.ReadFile(mpath)
	forged := strings.Replace(string(b), `"path":"index.html"`, `"path":"index.htm"`, 1)
	if forged == string(b) {
		t.Fatal("forgery did not change the manifest")
	}
	os.WriteFile(mpath, []byte(forged), 0o600)
	_, err := Open(ctx, f.site, rec, discardLog())
	if !errors.Is(err, ErrSignature) {
		t.Fatalf("forged manifest opened: %v", err)
	}
	if c := rec.find(KindBaseline, ManifestFile); c == nil || c.Severity != SevCritical {
		t.Fatalf("no baseline alert: %+v", rec.all())
	}
	// Re-signed with another key: still refused.
	os.WriteFile(mpath, b, 0o600)
	other := filepath.Join(f.dir, "other.key")
	GenerateKey(other)
	priv, _ := LoadPrivateKey(other)
	man, err := LoadSiteManifest(f.site)
	if err != nil {
		t.Fatal(err)
	}
	man.Roots[0].Entries = man.Roots[0].Entries[1:]
	man.Save(f.baseline, priv)
	if _, err := Open(ctx, f.site, rec, discardLog()); !errors.Is(err, ErrSignature) {
		t.Fatalf("manifest signed by another key opened: %v", err)
	}
	// A running monitor notices at its next verification.
	f2 := newFixture(t, "")
	rec2 := newRecorder()
	m := f2.baselineAndOpen(t, rec2)
	os.WriteFile(filepath.Join(f2.baseline, SignatureFile), []byte("AAAA\n"), 0o600)
	if err := m.Reverify(ctx); !errors.Is(err, ErrSignature) || rec2.find(KindBaseline, ManifestFile) == nil {
		t.Errorf("reverify: %v %+v", err, rec2.all())
	}
}

func TestKeyPermissions(t *testing.T) {
	dir := t.TempDir()
	k := filepath.Join(dir, "k")
	if err := GenerateKey(k); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(k); st.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v", st.Mode().Perm())
	}
	if err := GenerateKey(k); err == nil {
		t.Error("existing key overwritten")
	}
	os.Chmod(k, 0o644)
	if _, err := LoadPrivateKey(k); err == nil || !strings.Contains(err.Error(), "too open") {
		t.Errorf("world-readable key accepted: %v", err)
	}
	if _, err := LoadPublicKey(k + ".pub"); err != nil {
		t.Error(err)
	}
}

func TestSymlinkEscapeRefused(t *testing.T) {
	for _, target := range []string{"../../etc/passwd", "/etc", "about/../../x"} {
		f := newFixture(t, "")
		os.Symlink(target, filepath.Join(f.root, "escape"))
		_, _, err := MakeBaseline(context.Background(), f.site, discardLog())
		if !errors.Is(err, ErrSymlinkEscape) {
			t.Errorf("%s: baseline made: %v", target, err)
		}
		if _, err := os.Stat(filepath.Join(f.baseline, ManifestFile)); !os.IsNotExist(err) {
			t.Errorf("%s: manifest written", target)
		}
	}
	// A root that is itself a link is refused: later scans and restores
	// would follow it wherever it is pointed.
	f := newFixture(t, "")
	os.Rename(f.root, f.root+".real")
	os.Symlink(f.root+".real", f.root)
	if _, _, err := MakeBaseline(context.Background(), f.site, discardLog()); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("symlinked root accepted: %v", err)
	}
	// Links inside the root are fine (latest.html -> about/index.html).
	for _, tc := range []struct {
		rel, target string
		escapes     bool
	}{
		{"a.html", "b.html", false}, {"d/a.html", "../b.html", false}, {"d/a.html", "../../b.html", true},
		{"a", "/srv/www/x", false}, {"a", "/srv/wwwx", true}, {"a", "..", true},
	} {
		if got := symlinkEscapes("/srv/www", tc.rel, tc.target); got != tc.escapes {
			t.Errorf("symlinkEscapes(%s -> %s) = %v", tc.rel, tc.target, got)
		}
	}
}

func TestWatchLatency(t *testing.T) {
	f := newFixture(t, "        interval: 1h\n")
	rec := newRecorder()
	m := f.baselineAndOpen(t, rec)
	ready := make(chan struct{})
	m.onReady = func() { close(ready) }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Watch(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("watch did not start")
	}
	start := time.Now()
	f.write(t, "about/index.html", "<h1>defaced</h1>")
	c := rec.waitFor(5*time.Second, KindModified, "about/index.html")
	lat := time.Since(start)
	if c == nil {
		t.Fatalf("no alert; got %+v", rec.all())
	}
	if c.Detector != "watch" || lat > 2*time.Second {
		t.Errorf("detector %s, latency %v (target < 2 s)", c.Detector, lat)
	}
	t.Logf("file change → alert: %v", lat)
	// A new directory with a file written right away: both seen.
	os.MkdirAll(filepath.Join(f.root, "new/deeper"), 0o755)
	f.write(t, "new/deeper/x.php", "<?php")
	if rec.waitFor(5*time.Second, KindAdded, "new/deeper/x.php") == nil {
		t.Errorf("file in a new directory not seen: %+v", rec.all())
	}
	f.write(t, "new/deeper/later.html", "later")
	if rec.waitFor(5*time.Second, KindAdded, "new/deeper/later.html") == nil {
		t.Errorf("new directory not watched: %+v", rec.all())
	}
	f.write(t, "logs/x.log", "excluded")
	os.Remove(filepath.Join(f.root, "css/site.css"))
	if rec.waitFor(5*time.Second, KindDeleted, "css/site.css") == nil {
		t.Errorf("deletion not seen: %+v", rec.all())
	}
	if c := rec.find(KindAdded, "logs/x.log"); c != nil {
		t.Errorf("excluded path raised: %+v", c)
	}
}

// The web root replaced as a whole: the new directory is compared and
// restored (not the old one the open handle still names); a root swapped
// for a symlink is raised and never scanned or restored through.
func TestRootReplaced(t *testing.T) {
	f := newFixture(t, "        restore: true\n        quarantine_added: true\n")
	rec := newRecorder()
	m := f.baselineAndOpen(t, rec)
	ctx := context.Background()
	if err := os.Rename(f.root, f.root+".old"); err != nil {
		t.Fatal(err)
	}
	f.write(t, "index.html", "<h1>defaced</h1>")
	got, err := m.Scan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := rec.find(KindModified, "/www"); c == nil || c.Severity != SevCritical || !strings.Contains(c.DetailsEN, "replaced") {
		t.Errorf("root replacement not raised: %q", kinds(got))
	}
	if f.read(t, "index.html") != siteFiles["index.html"] || f.read(t, "about/index.html") != siteFiles["about/index.html"] {
		t.Error("the new root was not restored")
	}
	if again, _ := m.Scan(ctx); len(again) != 0 {
		t.Errorf("after restore: %q", kinds(again))
	}

	evil := filepath.Join(f.dir, "evil")
	os.MkdirAll(evil, 0o755)
	os.WriteFile(filepath.Join(evil, "keep.txt"), []byte("not ours"), 0o644)
	os.Rename(f.root, f.root+".old2")
	if err := os.Symlink(evil, f.root); err != nil {
		t.Fatal(err)
	}
	rec.reset()
	got, _ = m.Scan(ctx)
	if len(got) != 1 || got[0].Kind != KindSymlinkEscape || got[0].Path != f.root {
		t.Errorf("symlinked root: %+v", got)
	}
	if ents, _ := os.ReadDir(evil); len(ents) != 1 {
		t.Errorf("restore acted through the symlinked root: %v", ents)
	}
}
