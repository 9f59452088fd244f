package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"unicode"
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
	br := bufio.NewReaderSize(r, 64<<10)
	var out []sanitize.Finding
	if head, _ := br.Peek(3); bytes.Equal(head, []byte{0xEF, 0xBB, 0xBF}) {
		if !bomOK {
			out = append(out, sanitize.Finding{Construct: "byte order mark", Location: "offset 0"})
		}
		br.Discard(3)
	}
	var off int64
	for {
		if off%(1<<20) == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		c, n, err := br.ReadRune()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		bad := ""
		switch {
		case c == utf8.RuneError && n == 1:
			bad = "invalid UTF-8"
		case c == '\t', c == '\n', c == '\v', c == '\f', c == '\r':
		case unicode.IsControl(c):
			bad = fmt.Sprintf("control character U+%04X", c)
		}
		if bad != "" {
			out = append(out, sanitize.Finding{Construct: bad, Location: fmt.Sprint("offset ", off)})
			if len(out) >= 10 {
				return out, nil
			}
		}
		off += int64(n)
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
