package mailsan

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// corpusDir finds the shared third-party mail samples: ../shared/data
// relative to the repository root (CI layout), or the KYOJIN_SHARED_DATA
// directory. Never copied into the project.
func corpusDir(t *testing.T) string {
	cands := []string{filepath.Join("..", "..", "..", "shared", "data", "mail", "pycirclean")}
	if d := os.Getenv("KYOJIN_SHARED_DATA"); d != "" {
		cands = append([]string{filepath.Join(d, "mail", "pycirclean")}, cands...)
	}
	cands = append(cands, "/work/shared/data/mail/pycirclean")
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.IsDir() {
			return c
		}
	}
	t.Skip("shared mail corpus not found (../shared/data/mail/pycirclean); set KYOJIN_SHARED_DATA")
	return ""
}

// TestCorpus: every sample is sanitized (and then meets the invariants)
// or refused with a classified error; none crashes.
func TestCorpus(t *testing.T) {
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) == 0 {
		t.Skip("no .eml files in " + dir)
	}
	s, _ := newTestSanitizer(t, DefaultPolicy())
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			defer fh.Close()
			st, _ := fh.Stat()
			var out bytesBuf
			res, err := s.Sanitize(context.Background(), fh, st.Size(), nil, &out)
			if err != nil {
				if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPolicy) && !errors.Is(err, ErrLoop) {
					t.Fatalf("unclassified error: %v", err)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err := checkInvariants(out.b); err != nil {
				t.Fatal(err)
			}
			t.Logf("actions %v", res.Actions)
		})
	}
}

type bytesBuf struct{ b []byte }

func (w *bytesBuf) Write(p []byte) (int, error) { w.b = append(w.b, p...); return len(p), nil }

var _ io.Writer = (*bytesBuf)(nil)
