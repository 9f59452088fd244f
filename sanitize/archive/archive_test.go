package archive_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/archive"
)

// passThrough delivers every member unchanged: it isolates the archive
// handler from the rest of the engine.
type passThrough struct{ names []string }

func (p *passThrough) Member(_ context.Context, m sanitize.Member) (*sanitize.MemberResult, error) {
	p.names = append(p.names, m.Name)
	return sanitize.NewMemberResult(sanitize.VerdictClean, "", "m.txt", m.R, m.Size, nil), nil
}

func run(b []byte, typ sanitize.Type, limits sanitize.Limits) (*sanitize.Result, []byte, error) {
	var out bytes.Buffer
	res, err := archive.Handler{}.Sanitize(context.Background(), &sanitize.Input{
		Name: "a.zip", Type: typ, R: bytes.NewReader(b), Size: int64(len(b)), Limits: limits, Nested: &passThrough{},
	}, &out)
	return res, out.Bytes(), err
}

func zipOf(t testing.TB, names ...string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte("x"))
	}
	zw.Close()
	return b.Bytes()
}

func TestNames(t *testing.T) {
	limits := sanitize.DefaultPolicy().Limits
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"a/b.txt", true}, {"日本語/ファイル.txt", true},
		{"../x.txt", false}, {"a/../../x.txt", false}, {"/abs.txt", false}, {"C:/x.txt", false},
		{"a\\..\\x.txt", false}, {"a//b.txt", false}, {"./a.txt", false}, {"a\x00b.txt", false},
	} {
		_, _, err := run(zipOf(t, tc.name), sanitize.TypeZIP, limits)
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, sanitize.ErrRejected) {
			t.Errorf("%q: err %v", tc.name, err)
		}
	}
}

func TestNoRecurser(t *testing.T) {
	var out bytes.Buffer
	b := zipOf(t, "a.txt")
	_, err := archive.Handler{}.Sanitize(context.Background(), &sanitize.Input{Type: sanitize.TypeZIP, R: bytes.NewReader(b), Size: int64(len(b)),
		Limits: sanitize.DefaultPolicy().Limits}, &out)
	if err == nil {
		t.Fatal("archive handled without the engine")
	}
}

func TestEntryLimit(t *testing.T) {
	limits := sanitize.DefaultPolicy().Limits
	limits.MaxArchiveEntries = 2
	if _, _, err := run(zipOf(t, "a.txt", "b.txt", "c.txt"), sanitize.TypeZIP, limits); !errors.Is(err, sanitize.ErrLimit) {
		t.Errorf("err %v", err)
	}
}

// TestLyingHeader: the central directory claims a tiny uncompressed size;
// the handler counts actual bytes and stops at the budget regardless.
func TestActualBytesCounted(t *testing.T) {
	limits := sanitize.DefaultPolicy().Limits
	limits.MaxDecompressedBytes = 1 << 20
	limits.MaxCompressionRatio = 1 << 30
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("big.txt")
	w.Write(bytes.Repeat([]byte("0123456789abcdef"), 1<<17)) // 2 MiB
	zw.Close()
	if _, _, err := run(b.Bytes(), sanitize.TypeZIP, limits); !errors.Is(err, sanitize.ErrLimit) {
		t.Errorf("err %v", err)
	}
}

func FuzzSanitize(f *testing.F) {
	f.Add(zipOf(f, "a.txt", "b/c.txt"))
	f.Add([]byte("7z\xBC\xAF\x27\x1C\x00\x04"))
	f.Fuzz(func(t *testing.T, data []byte) {
		limits := sanitize.DefaultPolicy().Limits
		limits.MaxDecompressedBytes = 8 << 20
		typ := sanitize.TypeZIP
		if bytes.HasPrefix(data, []byte("7z")) {
			typ = sanitize.Type7z
		}
		_, out, err := run(data, typ, limits)
		if err != nil {
			return
		}
		zr, err := zip.NewReader(bytes.NewReader(out), int64(len(out)))
		if err != nil {
			t.Fatalf("output is not a ZIP: %v", err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, rc)
			rc.Close()
		}
	})
}
