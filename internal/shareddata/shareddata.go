// Package shareddata finds the third-party sample files that tests read
// (/work/shared/data, described in its README.md): the folder "shared/data"
// next to the repository root, or one level further up when the repository
// is a git worktree under a sibling folder.
package shareddata

import (
	"os"
	"path/filepath"
	"testing"
)

// Logs returns data/logs/<sub>, or skips t with a message when the folder
// is absent. Tests run in their package directory, one or two levels below
// the repository root.
func Logs(t testing.TB, sub string) string {
	t.Helper()
	for _, root := range []string{filepath.Join("..", ".."), filepath.Join("..", "..", "..")} {
		d := filepath.Join(root, "shared", "data", "logs", sub)
		if _, err := os.Stat(d); err == nil {
			return d
		}
	}
	t.Skipf("shared data logs/%s absent (../shared/data next to the repo); skipping", sub)
	return ""
}
