package sanitize

import (
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"
)

// A sample cut inside a multi-byte character is still text, whatever the cut.
func TestDetectCharsetCutMidCharacter(t *testing.T) {
	text := []byte(strings.Repeat("番号,氏名,住所\n1,山田太郎,東京都千代田区\n", 50))
	for cut := len(text) - 7; cut < len(text); cut++ {
		if cs := DetectCharset(text[:cut], true); cs != CharsetUTF8 {
			t.Errorf("UTF-8 cut at %d: %s", cut, cs)
		}
	}
	sj, _ := japanese.ShiftJIS.NewEncoder().Bytes(text)
	for cut := len(sj) - 5; cut < len(sj); cut++ {
		if cs := DetectCharset(sj[:cut], true); cs != CharsetShiftJIS {
			t.Errorf("Shift_JIS cut at %d: %s", cut, cs)
		}
	}
	if cs := DetectCharset([]byte{0x00, 0x01, 0xff, 0xfe}, true); cs != CharsetBinary {
		t.Errorf("binary: %s", cs)
	}
}
