// Package officetest holds test helpers shared by the Office handlers and
// their inspector: locating the third-party sample corpus, building OOXML
// fixtures in code (no committed binaries) and opening output in a real
// LibreOffice.
package officetest

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// SharedDir returns ../shared/data/<sub> relative to the repository root
// (or $KYOJIN_SHARED_DATA/<sub>), skipping the test when it is absent.
func SharedDir(t testing.TB, sub string) string {
	t.Helper()
	var dir string
	if env := os.Getenv("KYOJIN_SHARED_DATA"); env != "" {
		dir = filepath.Join(env, sub)
	} else {
		root, err := repoRoot()
		if err != nil {
			t.Skipf("repository root not found: %v", err)
		}
		dir = filepath.Join(root, "..", "shared", "data", sub)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("third-party corpus %s absent: skipping (set KYOJIN_SHARED_DATA to point elsewhere)", dir)
	}
	return dir
}

func repoRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", os.ErrNotExist
		}
		d = p
	}
}

// Part is one zip entry of a fixture: name, then content.
type Part [2]string

// Zip builds a package from parts in order (deflated).
func Zip(t testing.TB, parts ...Part) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, p := range parts {
		w, err := zw.Create(p[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(p[1])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Soffice returns the LibreOffice binary or skips the test.
func Soffice(t testing.TB) string {
	t.Helper()
	for _, n := range []string{"soffice", "libreoffice"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("LibreOffice (soffice) not installed: skipping the open-in-LibreOffice check")
	return ""
}

// OpensInLibreOffice converts data (named with ext, e.g. ".docx") to PDF
// with a headless LibreOffice and fails the test unless a non-empty PDF
// comes out.
func OpensInLibreOffice(t testing.TB, data []byte, ext string) {
	t.Helper()
	bin := Soffice(t)
	dir := t.TempDir()
	in := filepath.Join(dir, "doc"+ext)
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--norestore", "--nologo", "--nolockcheck",
		"-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", "pdf", "--outdir", filepath.Join(dir, "out"), in)
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "out", "doc.pdf"))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("LibreOffice could not open the %s output: %v\n%s", ext, err, out)
	}
}

// addRel returns data with rel appended to the relationships part name.
func addRel(t testing.TB, data []byte, name string, rel Rel) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var parts []Part
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if f.Name == name {
			one := Rels(rel)
			i := strings.Index(one, "<Relationship ")
			s = strings.Replace(s, "</Relationships>", one[i:], 1)
		}
		parts = append(parts, Part{f.Name, s})
	}
	return Zip(t, parts...)
}
