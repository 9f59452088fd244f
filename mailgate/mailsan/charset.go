package mailsan

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-message/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/sanitize"
)

// decodeText turns the bytes of a text part into UTF-8. The label is only a
// hint: Japanese mail is often mislabelled (Shift_JIS sent as ISO-2022-JP,
// UTF-8 sent as us-ascii), so a label is trusted only when the bytes decode
// cleanly under it; otherwise the content is classified by
// sanitize.DetectCharset. Shift_JIS is decoded as CP932 (Windows-31J), which
// is what Japanese senders mean by it (circled digits ①, the wave dash 〜).
// The second result is false when some bytes could not be decoded and were
// replaced by U+FFFD.
func decodeText(b []byte, label string) (string, bool) {
	label = strings.ToLower(strings.Trim(strings.TrimSpace(label), `"'`))
	if s, ok := decodeAs(b, label); ok {
		return s, true
	}
	switch sanitize.DetectCharset(b, false) {
	case sanitize.CharsetUTF8:
		return string(b), true
	case sanitize.CharsetUTF8BOM:
		return string(b[3:]), true
	case sanitize.CharsetISO2022JP:
		if s, ok := decodeWith(japanese.ISO2022JP, b); ok {
			return s, true
		}
	case sanitize.CharsetShiftJIS:
		if s, ok := decodeWith(japanese.ShiftJIS, b); ok {
			return s, true
		}
	case sanitize.CharsetEUCJP:
		if s, ok := decodeWith(japanese.EUCJP, b); ok {
			return s, true
		}
	}
	// Not text in any charset we can verify: keep what is valid UTF-8 and
	// replace the rest, so that no raw 8-bit garbage reaches the output.
	return strings.ToValidUTF8(string(b), "\uFFFD"), false
}

func decodeAs(b []byte, label string) (string, bool) {
	switch label {
	case "", "us-ascii", "ascii", "utf-8", "utf8":
		if utf8.Valid(b) && !bytes.Contains(b, []byte{0x1b}) {
			return string(b), true
		}
		return "", false
	case "iso-2022-jp", "iso-2022-jp-1", "iso-2022-jp-2", "iso-2022-jp-3", "csiso2022jp", "iso-2022-jp-ms", "cp50220", "cp50221", "cp50222":
		return decodeWith(japanese.ISO2022JP, b)
	case "shift_jis", "shift-jis", "sjis", "x-sjis", "cp932", "windows-31j", "ms_kanji", "csshiftjis", "ms932":
		return preferUTF8(b, japanese.ShiftJIS)
	case "euc-jp", "x-euc-jp", "eucjp", "cseucpkdfmtjapanese":
		return preferUTF8(b, japanese.EUCJP)
	}
	r, err := charset.Reader(label, bytes.NewReader(b))
	if err != nil {
		return "", false
	}
	out, err := io.ReadAll(io.LimitReader(r, int64(len(b))*4+16))
	if err != nil || !utf8.Valid(out) || bytes.ContainsRune(out, utf8.RuneError) {
		return "", false
	}
	return string(out), true
}

// preferUTF8 decodes text labelled as a Japanese legacy charset. UTF-8
// mislabelled as Shift_JIS is common; short Shift_JIS (half-width kana) can
// also be valid UTF-8 by accident. When both decode, the reading that looks
// more like Japanese wins; a tie keeps the label.
func preferUTF8(b []byte, enc encoding.Encoding) (string, bool) {
	legacy, ok := decodeWith(enc, b)
	if !utf8.Valid(b) {
		return legacy, ok
	}
	if !ok || jaScore(string(b)) > jaScore(legacy) {
		return string(b), true
	}
	return legacy, true
}

// jaScore rates how Japanese a text looks. Kana weigh most: UTF-8 read as
// Shift_JIS turns into rare kanji (縺, 繧, 繝), never into kana runs.
func jaScore(s string) int {
	n := 0
	for _, r := range s {
		switch {
		case r >= 0x3040 && r <= 0x30ff, r >= 0x3000 && r <= 0x303f:
			n += 3
		case r >= 0x4e00 && r <= 0x9fff, r >= 0xff61 && r <= 0xff9f, r >= 0x2460 && r <= 0x2473:
			n++
		}
	}
	return n
}

// decodeWith decodes strictly: a replacement character in the result means
// the label was wrong.
func decodeWith(enc encoding.Encoding, b []byte) (string, bool) {
	out, err := enc.NewDecoder().Bytes(b)
	if err != nil || bytes.ContainsRune(out, utf8.RuneError) {
		return "", false
	}
	if enc == japanese.ISO2022JP && !isASCIIBytes(b) {
		return "", false // ISO-2022-JP is 7-bit (RFC 1468): 8-bit bytes mean another charset
	}
	return string(out), true
}

// wordDecoder decodes RFC 2047 encoded words with the same charset rules.
var wordDecoder = &mime.WordDecoder{CharsetReader: func(label string, r io.Reader) (io.Reader, error) {
	b, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return nil, err
	}
	s, _ := decodeText(b, label)
	return strings.NewReader(s), nil
}}

// decodeHeader returns a header value as clean UTF-8 on one line: encoded
// words decoded, raw 8-bit text classified like a body, and every control
// character (CR and LF above all: header injection) removed.
func decodeHeader(v string) string {
	if !utf8.ValidString(v) {
		v, _ = decodeText([]byte(v), "")
	}
	if d, err := wordDecoder.DecodeHeader(v); err == nil {
		v = d
	}
	return cleanLine(v)
}

// cleanLine folds whitespace controls to spaces and drops other controls.
func cleanLine(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t' || r == '\r' || r == '\n':
			b.WriteByte(' ')
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
		case isBidi(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// isBidi reports the Unicode bidi controls used to disguise file names and
// addresses (Trojan Source style).
func isBidi(r rune) bool {
	return r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x200e || r == 0x200f
}

// cleanText normalises line ends to LF and drops controls other than TAB
// and LF, so that body text cannot smuggle terminal escapes or NULs.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if r == '\t' || r == '\n' || r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0) && !isBidi(r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}
