package aeszip_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/transfer/aeszip"
)

const password = "Kq7m-xP3r-Zt9w-Hb4n-Ls2d"

type entry struct {
	name string
	body []byte
}

func build(t testing.TB, pw string, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := aeszip.NewWriter(&buf, pw)
	w.TempDir = t.TempDir()
	for _, e := range entries {
		if err := w.Add(e.name, time.Date(2026, 4, 1, 9, 30, 0, 0, time.UTC), bytes.NewReader(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func fixtures() []entry {
	return []entry{
		{"仕様書.txt", []byte(strings.Repeat("機密性2 の仕様書です。\n", 500))},
		{"data.bin", random(70_000)}, // incompressible, several CTR blocks, not a multiple of 16
		{"one.txt", []byte("x")},
	}
}

// TestRoundTrip: what the writer encrypts, Open returns, entry by entry,
// and the archive hides the content.
func TestRoundTrip(t *testing.T) {
	ents := fixtures()
	z := build(t, password, ents...)
	if bytes.Contains(z, []byte("仕様書です")) {
		t.Fatal("plaintext visible in the archive")
	}
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != len(ents) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(ents))
	}
	for i, f := range zr.File {
		if f.Name != ents[i].name || f.Flags&1 == 0 || f.Method != 99 || f.CRC32 != 0 {
			t.Fatalf("entry %d header: name %q flags %#x method %d crc %#x", i, f.Name, f.Flags, f.Method, f.CRC32)
		}
		got, err := aeszip.Open(f, password, 1<<20)
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		if !bytes.Equal(got, ents[i].body) {
			t.Fatalf("%s: content differs (%d bytes, want %d)", f.Name, len(got), len(ents[i].body))
		}
		if _, err := aeszip.Open(f, password+"x", 1<<20); !errors.Is(err, aeszip.ErrPassword) && !errors.Is(err, aeszip.ErrAuth) {
			t.Fatalf("%s: wrong password gave %v", f.Name, err)
		}
		if _, err := aeszip.Open(f, password, 0); err == nil {
			t.Fatalf("%s: size limit ignored", f.Name)
		}
	}
}

// TestTampered: one flipped ciphertext bit fails authentication.
func TestTampered(t *testing.T) {
	z := build(t, password, entry{"a.txt", []byte(strings.Repeat("abc", 1000))})
	zr, _ := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	off, err := zr.File[0].DataOffset()
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(z)
	bad[off+16+2+5] ^= 1
	zr, _ = zip.NewReader(bytes.NewReader(bad), int64(len(bad)))
	if _, err := aeszip.Open(zr.File[0], password, 1<<20); !errors.Is(err, aeszip.ErrAuth) {
		t.Fatalf("tampered entry: %v", err)
	}
}

// TestEmptyPassword: an archive without a password is never written.
func TestEmptyPassword(t *testing.T) {
	w := aeszip.NewWriter(&bytes.Buffer{}, "")
	if err := w.Add("a", time.Now(), strings.NewReader("a")); err == nil {
		t.Fatal("empty password accepted")
	}
}

// sevenZip finds the 7-Zip binary (Debian package 7zip installs 7zz; p7zip
// installs 7z or 7za).
func sevenZip(t *testing.T) string {
	for _, n := range []string{"7z", "7zz", "7za"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	t.Skip("7-Zip (package 7zip) is not installed")
	return ""
}

// TestSevenZip: the real 7-Zip extracts every entry with the password,
// byte for byte, and refuses a wrong password.
func TestSevenZip(t *testing.T) {
	bin := sevenZip(t)
	ents := fixtures()
	dir := t.TempDir()
	arc := filepath.Join(dir, "export.zip")
	if err := os.WriteFile(arc, build(t, password, ents...), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "l", "-slt", arc).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "AES-256") {
		t.Fatalf("7z list: %v\n%s", err, out)
	}
	good := filepath.Join(dir, "good")
	if out, err := exec.Command(bin, "x", "-y", "-p"+password, "-o"+good, arc).CombinedOutput(); err != nil {
		t.Fatalf("7z extract: %v\n%s", err, out)
	}
	for _, e := range ents {
		got, err := os.ReadFile(filepath.Join(good, e.name))
		if err != nil || !bytes.Equal(got, e.body) {
			t.Fatalf("%s extracted by 7z: %v (%d bytes, want %d)", e.name, err, len(got), len(e.body))
		}
	}
	bad := filepath.Join(dir, "bad")
	out, err = exec.Command(bin, "x", "-y", "-pwrong-password", "-o"+bad, arc).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "Wrong password") {
		t.Fatalf("7z with a wrong password: %v\n%s", err, out)
	}
	for _, e := range ents {
		if b, err := os.ReadFile(filepath.Join(bad, e.name)); err == nil && len(b) > 0 {
			t.Fatalf("7z wrote %s with a wrong password", e.name)
		}
	}
}

// FuzzOpen: hostile archives never panic, and an entry whose bytes were
// changed never opens with content other than what was written.
func FuzzOpen(f *testing.F) {
	orig := []byte(strings.Repeat("機密 ", 100))
	f.Add(build(f, password, entry{"a.txt", orig}))
	f.Add(build(f, password, entry{"b.bin", random(100)}))
	f.Add([]byte("PK\x03\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, file := range zr.File {
			got, err := aeszip.Open(file, password, 1<<16)
			if err == nil && file.Name == "a.txt" && !bytes.Equal(got, orig) {
				t.Fatalf("forged content authenticated: %q", got)
			}
		}
	})
}

// FuzzDecrypt: raw entry data of any shape is refused or opened, never a panic.
func FuzzDecrypt(f *testing.F) {
	f.Add(make([]byte, 28), uint16(8))
	f.Add(random(64), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, method uint16) {
		aeszip.Decrypt(data, password, method, 1<<16)
	})
}

// BenchmarkAdd: encrypting a 20 MB entry, compressible (CSV) and not
// (an already-compressed Office part), against copying it.
func BenchmarkAdd(b *testing.B) {
	var csv bytes.Buffer
	for row := 0; csv.Len() < 20<<20; row++ {
		fmt.Fprintf(&csv, "%d,Chiyoda-ku Tokyo,%d,application copy,2026-04-01\n", row, row*37)
	}
	csvData := csv.Bytes()
	for _, c := range []struct {
		name string
		data []byte
	}{{"csv", csvData}, {"random", random(20 << 20)}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.data)))
			dir := b.TempDir()
			for b.Loop() {
				w := aeszip.NewWriter(io.Discard, password)
				w.TempDir = dir
				if err := w.Add("a", time.Now(), bytes.NewReader(c.data)); err != nil {
					b.Fatal(err)
				}
				w.Close()
			}
		})
	}
}
