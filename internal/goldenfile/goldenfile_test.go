package goldenfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFirstDiff(t *testing.T) {
	for _, c := range []struct{ want, got, diff string }{
		{"a\nb\nc", "a\nB\nc", "line 2:\nwant: \"b\"\ngot:  \"B\""},
		{"a\nb", "a\nb\nc", "line 3:\nwant: \"\"\ngot:  \"c\""},
		{"a", "a", "(lengths differ)"},
	} {
		if d := FirstDiff(c.want, c.got); d != c.diff {
			t.Errorf("FirstDiff(%q, %q) = %q, want %q", c.want, c.got, d, c.diff)
		}
	}
}

// Check writes with update and then accepts the same bytes.
func TestCheckUpdateThenCompare(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "testdata"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	Check(t, "x", "out.txt", []byte("hello\n"), true)
	if b, err := os.ReadFile(filepath.Join("testdata", "out.txt")); err != nil || string(b) != "hello\n" {
		t.Fatalf("written %q %v", b, err)
	}
	Check(t, "x", "out.txt", []byte("hello\n"), false)
}
