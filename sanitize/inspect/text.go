package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/kyojin/kyojin/sanitize"
)

// Text requires UTF-8 without a BOM and without control characters other
// than TAB, LF, VT, FF and CR.
type Text struct{}

func (Text) Inspect(ctx context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	return checkText(ctx, io.NewSectionReader(r, 0, size), false)
}

func checkText(ctx context.Context, r io.Reader, bomOK bool) ([]sanitize.Finding, error) {
	var out []sanitize.Finding
	add := func(what string, off int64) bool {
		out = append(out, sanitize.Finding{Construct: what, Location: fmt.Sprint("offset ", off)})
		return len(out) >= 10
	}
	buf := make([]byte, 64<<10)
	var off int64 // offset of buf[0] in the stream
	keep := 0     // bytes of an incomplete UTF-8 sequence carried to the front of buf
	first := true
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, err := io.ReadFull(r, buf[keep:])
		n += keep
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return nil, err
		}
		chunk := buf[:n]
		start := 0
		if first {
			first = false
			if bytes.HasPrefix(chunk, []byte{0xEF, 0xBB, 0xBF}) {
				if !bomOK && add("byte order mark", 0) {
					return out, nil
				}
				start = 3
			}
		}
		// Cut before a trailing incomplete sequence unless this is the end.
		cut := n
		if !eof {
			for back := 1; back <= 3 && back <= n; back++ {
				if c := chunk[n-back]; c >= 0xC0 {
					if !utf8.FullRune(chunk[n-back:]) {
						cut = n - back
					}
					break
				} else if c < 0x80 {
					break
				}
			}
		}
		body := chunk[start:cut]
		if !utf8.Valid(body) {
			for i := 0; i < len(body); {
				c, size := utf8.DecodeRune(body[i:])
				if c == utf8.RuneError && size == 1 {
					if add("invalid UTF-8", off+int64(start+i)) {
						return out, nil
					}
				}
				i += size
			}
		}
		for i, c := range body {
			switch {
			case c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
			case c < 0x20, c == 0x7F:
				if add(fmt.Sprintf("control character U+%04X", c), off+int64(start+i)) {
					return out, nil
				}
			case c == 0xC2 && i+1 < len(body) && body[i+1] >= 0x80 && body[i+1] < 0xA0: // C1 control, U+0080–U+009F
				if add(fmt.Sprintf("control character U+%04X", body[i+1]), off+int64(start+i)) {
					return out, nil
				}
			}
		}
		if eof {
			return out, nil
		}
		keep = copy(buf, chunk[cut:])
		off += int64(cut)
	}
}

// CSV is Text (a leading BOM allowed, for Excel) plus a re-parse in which
// no cell may start, after spaces, with a character that makes a
// spreadsheet evaluate it (=, +, -, @, TAB, CR and their full-width forms)
// unless the cell is a plain signed number.
type CSV struct{}

func (CSV) Inspect(ctx context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	out, err := checkText(ctx, io.NewSectionReader(r, 0, size), true)
	if err != nil || len(out) > 0 {
		return out, err
	}
	sr := io.NewSectionReader(r, 0, size)
	br := bufio.NewReader(sr)
	if head, _ := br.Peek(3); bytes.Equal(head, []byte{0xEF, 0xBB, 0xBF}) {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	for line := 1; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return append(out, sanitize.Finding{Construct: "malformed CSV", Location: err.Error()}), nil
		}
		for i, cell := range rec {
			if formulaLike(cell) {
				out = append(out, sanitize.Finding{Construct: "formula cell", Location: fmt.Sprintf("record %d field %d", line, i+1)})
			}
		}
	}
}

func formulaLike(cell string) bool {
	s := strings.TrimLeft(cell, " ")
	if s == "" {
		return false
	}
	switch []rune(s)[0] {
	case '=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠':
	default:
		return false
	}
	// A signed number is inert: digits with at most dot/comma separators.
	digits := 0
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digits++
		case (c == '+' || c == '-') && i == 0:
		case (c == '.' || c == ',') && digits > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
		default:
			return true
		}
	}
	return digits == 0
}
