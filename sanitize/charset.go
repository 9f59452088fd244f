package sanitize

import (
	"bytes"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
)

// Charset is a text encoding the text handler can normalise to UTF-8.
type Charset string

const (
	CharsetUTF8      Charset = "utf-8"
	CharsetUTF8BOM   Charset = "utf-8-bom"
	CharsetShiftJIS  Charset = "shift_jis" // decoded as CP932 (Windows-31J), which Japanese systems mean by it
	CharsetEUCJP     Charset = "euc-jp"
	CharsetISO2022JP Charset = "iso-2022-jp"
	CharsetBinary    Charset = "binary" // not text in any supported encoding
)

// DetectCharset classifies a sample of content. truncated says the sample
// is a prefix, so a multi-byte character cut at its end is not an error.
// Text must be free of NUL and of C0 controls other than TAB, LF, VT, FF,
// CR and (only for ISO-2022-JP) ESC.
func DetectCharset(sample []byte, truncated bool) Charset {
	if !truncated {
		return detectCharset(sample)
	}
	// The sample may end inside a character. Try the cuts that a UTF-8 or a
	// two-byte encoding could leave, shortest first, and take the first
	// that reads as text.
	for k := 0; k <= 3 && k < len(sample); k++ {
		if cs := detectCharset(sample[:len(sample)-k]); cs != CharsetBinary {
			return cs
		}
		if k < 3 && (len(sample) < k+1 || sample[len(sample)-k-1] < 0x80) {
			break // a cut only ever removes bytes of a multi-byte character
		}
	}
	return CharsetBinary
}

func detectCharset(sample []byte) Charset {
	if bytes.HasPrefix(sample, []byte{0xEF, 0xBB, 0xBF}) {
		if utf8.Valid(sample[3:]) && !hasBadControl(sample[3:], false) {
			return CharsetUTF8BOM
		}
		return CharsetBinary
	}
	if isISO2022JP(sample) {
		return CharsetISO2022JP
	}
	if hasBadControl(sample, false) {
		return CharsetBinary
	}
	if utf8.Valid(sample) {
		return CharsetUTF8
	}
	sj, sjOK := decodeScore(japanese.ShiftJIS.NewDecoder().Bytes(sample))
	eu, euOK := decodeScore(japanese.EUCJP.NewDecoder().Bytes(sample))
	switch {
	case sjOK && euOK:
		if eu > sj {
			return CharsetEUCJP
		}
		return CharsetShiftJIS
	case sjOK:
		return CharsetShiftJIS
	case euOK:
		return CharsetEUCJP
	}
	return CharsetBinary
}

func hasBadControl(b []byte, allowESC bool) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' && (c != 0x1B || !allowESC) || c == 0x7F {
			return true
		}
	}
	return false
}

// isISO2022JP: 7-bit only, with at least one JIS designation escape (RFC 1468).
func isISO2022JP(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	if hasBadControl(b, true) {
		return false
	}
	for _, esc := range []string{"\x1b$B", "\x1b$@", "\x1b(J", "\x1b(I", "\x1b$(D"} {
		if bytes.Contains(b, []byte(esc)) {
			return true
		}
	}
	return false
}

// decodeScore rates decoded text by how Japanese it looks (kana count most,
// then kanji), and reports whether the decoding was clean: no replacement
// characters and no C1 controls.
func decodeScore(s []byte, err error) (int, bool) {
	if err != nil {
		return 0, false
	}
	score := 0
	for _, r := range string(s) {
		switch {
		case r == utf8.RuneError, r >= 0x80 && r < 0xA0:
			return 0, false
		case unicode.In(r, unicode.Hiragana, unicode.Katakana):
			score += 3
		case unicode.Is(unicode.Han, r):
			score += 2
		case r >= 0xFF61 && r <= 0xFF9F: // half-width katakana: valid, but rarer in real text
			score++
		}
	}
	return score, true
}
