package rtf

import (
	"strings"
	"testing"
)

// FuzzDetect scans arbitrary RTF-ish input; it must never panic or hang.
func FuzzDetect(f *testing.F) {
	f.Add(`{\rtf1{\object\objemb{\*\objdata 01050000}}{\field{\*\fldinst DDEAUTO x}}\bin4 abcd}`)
	f.Add(`{\rt{\*\template x}\bin-5 \u-1234?}`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = Detect(strings.NewReader(s))
	})
}
