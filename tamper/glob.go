package tamper

import (
	"path"
	"strings"
)

// validGlob checks an exclude pattern: path.Match syntax per segment, "**"
// as a whole segment.
func validGlob(g string) error {
	if g == "" {
		return path.ErrBadPattern
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return err
		}
	}
	return nil
}

// excluded reports whether rel (slash-separated, relative to a root) is
// matched by a pattern. A pattern without "/" matches the base name at any
// depth (like .gitignore); otherwise it is anchored at the root and "**"
// spans zero or more directories.
func excluded(patterns []string, rel string) bool {
	for _, p := range patterns {
		if !strings.Contains(p, "/") {
			if ok, _ := path.Match(p, path.Base(rel)); ok {
				return true
			}
			continue
		}
		if matchSegs(strings.Split(p, "/"), strings.Split(rel, "/")) {
			return true
		}
	}
	return false
}

func matchSegs(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			if len(pat) == 1 {
				return true
			}
			for i := range len(name) + 1 {
				if matchSegs(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}
