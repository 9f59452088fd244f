package quarantine

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
)

func testKey() []byte {
	k := make([]byte, 32)
	for i := range k {
		k[i] = byte(i)
	}
	return k
}

func newStore(t *testing.T) *Store {
	s, err := Open(t.TempDir(), testKey(), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := newStore(t)
	for _, n := range []int{0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 3*chunkSize + 17} {
		data := make([]byte, n)
		rand.Read(data)
		ref, err := s.Put(context.Background(), bytes.NewReader(data), sanitize.VaultMeta{RecordID: "r1", Name: "a.txt", Verdict: sanitize.VerdictSanitized})
		if err != nil {
			t.Fatalf("n=%d: put: %v", n, err)
		}
		var got bytes.Buffer
		it, err := s.Extract(ref, &got)
		if err != nil {
			t.Fatalf("n=%d: extract: %v", n, err)
		}
		if !bytes.Equal(got.Bytes(), data) || it.Size != int64(n) || it.Name != "a.txt" {
			t.Errorf("n=%d: round trip mismatch (size %d)", n, it.Size)
		}
		enc, _ := os.ReadFile(filepath.Join(s.dir, "items", ref+".kq"))
		if n >= 16 && bytes.Contains(enc, data[:16]) {
			t.Errorf("n=%d: plaintext visible in the stored file", n)
		}
	}
}

func TestTamper(t *testing.T) {
	data := bytes.Repeat([]byte("原本"), chunkSize) // several chunks
	tests := []struct {
		name   string
		mangle func(s *Store, ref string) (*Store, string)
	}{
		{"flipped byte", func(s *Store, ref string) (*Store, string) {
			p := filepath.Join(s.dir, "items", ref+".kq")
			b, _ := os.ReadFile(p)
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o600)
			return s, ref
		}},
		{"truncated at a chunk boundary", func(s *Store, ref string) (*Store, string) {
			p := filepath.Join(s.dir, "items", ref+".kq")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(magic)+prefixLen+chunkSize+16], 0o600)
			return s, ref
		}},
		{"wrong key", func(s *Store, ref string) (*Store, string) {
			k := testKey()
			k[0] ^= 0xff
			s2, _ := Open(s.dir, k, time.Hour)
			return s2, ref
		}},
		{"moved to another reference", func(s *Store, ref string) (*Store, string) {
			other := "q-20200101-0000000000000000"
			os.Rename(filepath.Join(s.dir, "items", ref+".kq"), filepath.Join(s.dir, "items", other+".kq"))
			b, _ := os.ReadFile(filepath.Join(s.dir, "items", ref+".json"))
			os.WriteFile(filepath.Join(s.dir, "items", other+".json"), b, 0o600)
			return s, other
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			ref, err := s.Put(context.Background(), bytes.NewReader(data), sanitize.VaultMeta{Name: "x"})
			if err != nil {
				t.Fatal(err)
			}
			s2, ref2 := tc.mangle(s, ref)
			var out bytes.Buffer
			if _, err := s2.Extract(ref2, &out); err == nil {
				t.Fatal("tampered item decrypted without error")
			}
		})
	}
}

func TestReleaseAndPurge(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	ref, err := s.Put(context.Background(), strings.NewReader("original"), sanitize.VaultMeta{RecordID: "rec", Name: "a.docx"})
	if err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "out.docx")
	if _, err := s.Release(ref, dest, "op", "  "); err == nil {
		t.Fatal("release without a reason succeeded")
	}
	if _, err := os.Stat(dest); err == nil {
		t.Fatal("release without a reason wrote the file")
	}
	rel, err := s.Release(ref, dest, "op", "課長承認 2026-04-01")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "original" {
		t.Errorf("released content = %q", b)
	}
	if _, err := s.Release(ref, dest, "op", "again"); err == nil {
		t.Error("release over an existing file succeeded")
	}
	log, err := s.Releases()
	if err != nil || len(log) != 1 || log[0].Reason != "課長承認 2026-04-01" || log[0].RecordID != "rec" || log[0].SHA256 != rel.SHA256 {
		t.Fatalf("release log = %+v, %v", log, err)
	}
	if _, err := s.Get("../etc/passwd"); err == nil {
		t.Error("path-like reference accepted")
	}
	if gone, _ := s.Purge(false); len(gone) != 0 {
		t.Fatalf("purged %d items before expiry", len(gone))
	}
	now = now.Add(25 * time.Hour)
	gone, err := s.Purge(false)
	if err != nil || len(gone) != 1 {
		t.Fatalf("purge after expiry: %v, %d", err, len(gone))
	}
	if items, _ := s.List(); len(items) != 0 {
		t.Errorf("%d items left after purge", len(items))
	}
}

func TestLoadKey(t *testing.T) {
	k := testKey()
	dir := t.TempDir()
	hexFile := filepath.Join(dir, "hex")
	os.WriteFile(hexFile, []byte(hex.EncodeToString(k)+"\n"), 0o600)
	rawFile := filepath.Join(dir, "raw")
	os.WriteFile(rawFile, k, 0o600)
	shortFile := filepath.Join(dir, "short")
	os.WriteFile(shortFile, []byte("abcd"), 0o600)
	t.Setenv("KYOJIN_TEST_QKEY", hex.EncodeToString(k))
	for _, tc := range []struct {
		file, env string
		ok        bool
	}{
		{hexFile, "", true}, {rawFile, "", true}, {"", "KYOJIN_TEST_QKEY", true},
		{shortFile, "", false}, {"", "KYOJIN_TEST_UNSET_VAR", false}, {"", "", false},
	} {
		got, err := LoadKey(tc.file, tc.env)
		if (err == nil) != tc.ok || tc.ok && !bytes.Equal(got, k) {
			t.Errorf("LoadKey(%q,%q) = %v", tc.file, tc.env, err)
		}
		if err != nil && strings.Contains(err.Error(), "abcd") {
			t.Errorf("error leaks key material: %v", err)
		}
	}
}

// FuzzOpen: a damaged or forged .kq file must give an error, never a panic
// or plaintext.
func FuzzOpen(f *testing.F) {
	s, _ := Open(f.TempDir(), testKey(), time.Hour)
	var enc bytes.Buffer
	s.seal(context.Background(), &enc, strings.NewReader("hello"), "q-20260101-0000000000000000")
	f.Add(enc.Bytes())
	f.Add([]byte("KYQ1\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		// Only ciphertext made with the key (a seed, possibly sealed by
		// another fuzz worker with another nonce) may decrypt.
		if err := s.open(&out, bytes.NewReader(b), "q-20260101-0000000000000000"); err == nil && out.String() != "hello" {
			t.Fatalf("forged file decrypted to %q", out.Bytes())
		}
	})
}
