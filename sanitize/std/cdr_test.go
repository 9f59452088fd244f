package std_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
)

// sharedData finds ../shared/data relative to the repository root (or
// $KYOJIN_SHARED_DATA), or skips.
func sharedData(t *testing.T, sub string) string {
	if d := os.Getenv("KYOJIN_SHARED_DATA"); d != "" {
		return filepath.Join(d, sub)
	}
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "data", sub)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("third-party samples not present at %s; skipping (see shared/data/README.md)", p)
	}
	return p
}

// TestSharedCDR runs the engine over every third-party sample: each file is
// either not delivered, or its output passes the independent inspector.
// Types whose handlers live elsewhere (PDF, Office) come out FAILED
// (no_handler) here, which blocks them.
func TestSharedCDR(t *testing.T) {
	root := sharedData(t, "cdr")
	e := newEngine(t, setup{})
	counts := map[sanitize.Verdict]int{}
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		t.Run(rel, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, _ := f.Stat()
			out, err := e.Process(context.Background(), sanitize.Submission{Name: d.Name(), R: f, Size: st.Size()})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			rec := out.Record()
			counts[rec.Verdict]++
			t.Logf("%s: %s %s %s %s", rec.Detected, rec.Verdict, rec.ReasonCode, rec.Reason, rec.OutType)
			if rec.Verdict == "" {
				t.Fatal("no verdict")
			}
			if rec.Verdict.Delivered() {
				assertInspected(t, out)
			}
			// Password-protected samples must never come out.
			if strings.Contains(rel, "encrypted") && rec.Verdict.Delivered() {
				t.Errorf("encrypted sample delivered: %s", rec.Verdict)
			}
		})
		return nil
	})
	t.Logf("verdicts: %v", counts)
}
