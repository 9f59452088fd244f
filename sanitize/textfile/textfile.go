// Package textfile sanitizes plain text and CSV. Text in the encodings
// common in Japan (Shift_JIS read as CP932, EUC-JP, ISO-2022-JP, UTF-8 with
// or without a BOM) is normalised to UTF-8 without a BOM; content that is
// not clean text in its encoding (NUL, stray control characters, invalid
// sequences) is refused. CSV cells that a spreadsheet would evaluate as a
// formula (leading =, +, -, @, TAB or CR, OWASP "CSV Injection") are
// defanged with a leading apostrophe. Both work as streams, so size does
// not matter for memory.
package textfile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"github.com/kyojin/kyojin/sanitize"
)

// Handler implements sanitize.Handler for TypeText and TypeCSV.
//
// Options: "bom" = "true" writes a UTF-8 BOM before CSV output, which Excel
// needs to read UTF-8 CSV as UTF-8 rather than as CP932.
type Handler struct{}

var decoders = map[sanitize.Charset]encoding.Encoding{
	// x/text's ShiftJIS follows the WHATWG index, which is CP932 (NEC and
	// IBM extensions, FULLWIDTH TILDE for 0x8160), as Windows writes it.
	sanitize.CharsetShiftJIS:  japanese.ShiftJIS,
	sanitize.CharsetEUCJP:     japanese.EUCJP,
	sanitize.CharsetISO2022JP: japanese.ISO2022JP,
}

// errNotText is returned for content that is not clean text.
var errNotText = errors.New("textfile: not clean text")

// Sanitize writes the normalised text or defanged CSV to w.
func (Handler) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error) {
	if in.Type != sanitize.TypeText && in.Type != sanitize.TypeCSV {
		return nil, fmt.Errorf("textfile: unsupported type %s", in.Type)
	}
	head := make([]byte, min(in.Size, 64<<10))
	n, _ := in.R.ReadAt(head, 0)
	cs := sanitize.DetectCharset(head[:n], int64(n) < in.Size)
	res := &sanitize.Result{OutType: in.Type}
	var src io.Reader = io.NewSectionReader(in.R, 0, in.Size)
	legacy := false
	switch cs {
	case sanitize.CharsetBinary:
		return nil, fmt.Errorf("%w: unsupported encoding or binary content", errNotText)
	case sanitize.CharsetUTF8BOM:
		src = io.NewSectionReader(in.R, 3, in.Size-3)
		res.Add("removed", "utf-8 BOM", 1)
	case sanitize.CharsetUTF8:
	default:
		src = transform.NewReader(src, decoders[cs].NewDecoder())
		res.Add("normalized", "encoding "+string(cs)+"→utf-8", 1)
		legacy = true
	}
	clean := &textChecker{r: src, legacy: legacy, ctx: ctx}
	if in.Type == sanitize.TypeText {
		if _, err := io.CopyBuffer(w, clean, make([]byte, 64<<10)); err != nil {
			return nil, err
		}
		return res, nil
	}
	if in.Option("bom", "false") == "true" {
		w.Write([]byte{0xEF, 0xBB, 0xBF})
	}
	n2, err := defangCSV(bufio.NewReaderSize(clean, 64<<10), w, bytes.Contains(head[:n], []byte("\r\n")))
	if err != nil {
		return nil, err
	}
	if n2 > 0 {
		res.Add("defanged", "csv formula cell", n2)
	}
	return res, nil
}

// textChecker passes UTF-8 through while refusing invalid sequences,
// control characters other than TAB, LF, VT, FF and CR, and (for decoded
// legacy encodings, which cannot contain it) U+FFFD, the decoders' mark for
// an invalid byte sequence. It works on whole buffers: ASCII, the bulk of
// most text, is checked byte by byte without decoding.
type textChecker struct {
	r      io.Reader
	legacy bool
	ctx    context.Context
	carry  []byte // an incomplete UTF-8 sequence from the previous read
	err    error
	reads  int
}

func (t *textChecker) Read(p []byte) (int, error) {
	if len(p) < 2*utf8.UTFMax {
		return 0, io.ErrShortBuffer
	}
	if t.reads++; t.reads%64 == 0 && t.ctx.Err() != nil {
		return 0, t.ctx.Err()
	}
	for {
		n := copy(p, t.carry)
		t.carry = t.carry[:0]
		if t.err != nil {
			if n > 0 {
				return 0, fmt.Errorf("%w: truncated UTF-8 sequence at the end", errNotText)
			}
			return 0, t.err
		}
		m, err := t.r.Read(p[n:])
		n += m
		t.err = err
		good, bad := t.check(p[:n], err != nil)
		if bad != nil {
			return 0, bad
		}
		t.carry = append(t.carry, p[good:n]...)
		if good > 0 {
			return good, nil
		}
		if err != nil && len(t.carry) == 0 {
			return 0, err
		}
	}
}

// check returns how many leading bytes of b are complete, clean text; an
// incomplete sequence at the end is left for the next read unless final.
func (t *textChecker) check(b []byte, final bool) (int, error) {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' || c == 0x7F {
				return 0, fmt.Errorf("%w: control character U+%04X", errNotText, c)
			}
			i++
			continue
		}
		if !final && !utf8.FullRune(b[i:]) {
			return i, nil
		}
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return 0, fmt.Errorf("%w: invalid UTF-8", errNotText)
		case r == utf8.RuneError && t.legacy:
			return 0, fmt.Errorf("%w: invalid byte sequence in the declared encoding", errNotText)
		case r >= 0x80 && r < 0xA0:
			return 0, fmt.Errorf("%w: control character U+%04X", errNotText, r)
		}
		i += size
	}
	return len(b), nil
}

// plainNumber matches cells that merely look like formulas: signed numbers.
var plainNumber = regexp.MustCompile(`^[+-]?[0-9]+([.,][0-9]+)*$`)

// dangerous reports whether a spreadsheet would treat the cell as a formula
// or DDE call. Leading spaces are skipped because some importers trim them;
// full-width forms are included because Japanese IMEs produce them and some
// importers normalise them.
func dangerous(cell string) bool {
	s := strings.TrimLeft(cell, " ")
	if s == "" || plainNumber.MatchString(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	switch r {
	case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
		return true
	}
	return false
}

func defangCSV(r io.Reader, w io.Writer, crlf bool) (int, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	cw := csv.NewWriter(w)
	cw.UseCRLF = crlf
	n := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, fmt.Errorf("textfile: csv: %w", err)
		}
		for i, c := range rec {
			if dangerous(c) {
				rec[i] = "'" + c
				n++
			}
		}
		if err := cw.Write(rec); err != nil {
			return n, err
		}
	}
	cw.Flush()
	return n, cw.Error()
}
