package pdf

import (
	"bufio"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// cleanWriter serializes the objects reachable from the trailer's /Root and
// /Info into a new, unencrypted PDF with a classic cross-reference table.
// Objects are renumbered densely; unreachable objects (everything the
// walker detached: scripts, embedded files, old revisions, object streams)
// are not written at all. Strings are written as hex strings so no other
// reader can tokenize them differently from pdfcpu.
type cleanWriter struct {
	xt      *model.XRefTable
	bw      *bufio.Writer
	off     int64
	renum   map[int]int
	order   []int
	offsets []int64
	buf     []byte
	pages   int
	fixer   *streamFixer
}

// defaultMaxDecompressed bounds inflation when the policy sets no limit.
const defaultMaxDecompressed = 4 << 30

func writeClean(ctx context.Context, xt *model.XRefTable, lim sanitize.Limits, res *sanitize.Result, w io.Writer) error {
	budget := lim.MaxDecompressedBytes
	if budget <= 0 {
		budget = defaultMaxDecompressed
	}
	cw := &cleanWriter{xt: xt, renum: map[int]int{}, bw: bufio.NewWriterSize(w, 1<<20),
		fixer: &streamFixer{budget: budget, res: res}}
	if err := cw.collect(ctx); err != nil {
		return err
	}
	if lim.MaxPages > 0 && cw.pages > lim.MaxPages {
		return fmt.Errorf("%w: %d pages > %d", ErrLimit, cw.pages, lim.MaxPages)
	}
	if cw.pages == 0 {
		return fmt.Errorf("%w: document has no pages", ErrParse)
	}
	cw.write([]byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"))
	cw.offsets = make([]int64, len(cw.order)+1)
	for i, old := range cw.order {
		if i&255 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		cw.offsets[i+1] = cw.off
		if err := cw.object(i+1, cw.xt.Table[old].Object); err != nil {
			return err
		}
	}
	cw.xref()
	return cw.bw.Flush()
}

// entryObject returns the in-use object nr or nil.
func (cw *cleanWriter) entryObject(nr int) (types.Object, bool) {
	e, ok := cw.xt.Table[nr]
	if !ok || e == nil || e.Free || e.Object == nil {
		return nil, false
	}
	switch o := e.Object.(type) {
	case types.ObjectStreamDict, types.XRefStreamDict, types.LazyObjectStreamObject:
		// Containers are never written; undecoded objects count as missing.
		return nil, false
	case types.StreamDict:
		// An object or xref stream reached as ordinary content is a
		// container in disguise: other readers could unpack it.
		if t := nameOf(o.Dict, "Type"); t == "ObjStm" || t == "XRef" {
			return nil, false
		}
		if o.Dict["First"] != nil && o.Dict["N"] != nil {
			return nil, false
		}
	}
	return e.Object, true
}

// collect finds the reachable objects breadth-first and numbers them.
func (cw *cleanWriter) collect(ctx context.Context) error {
	var queue []int
	add := func(ir types.IndirectRef) {
		nr := ir.ObjectNumber.Value()
		if _, seen := cw.renum[nr]; seen {
			return
		}
		if _, ok := cw.entryObject(nr); !ok {
			return
		}
		cw.renum[nr] = len(cw.order) + 1
		cw.order = append(cw.order, nr)
		queue = append(queue, nr)
	}
	add(*cw.xt.Root)
	if _, ok := cw.renum[cw.xt.Root.ObjectNumber.Value()]; !ok {
		return fmt.Errorf("%w: catalog missing", ErrParse)
	}
	if cw.xt.Info != nil {
		add(*cw.xt.Info)
	}
	var visit func(o types.Object, depth int) error
	visit = func(o types.Object, depth int) error {
		if depth > maxDepth {
			return fmt.Errorf("%w: nesting deeper than %d", ErrLimit, maxDepth)
		}
		switch v := o.(type) {
		case types.IndirectRef:
			add(v)
		case types.Dict:
			if nameOf(v, "Type") == "Page" {
				cw.pages++
			}
			for _, e := range v {
				if err := visit(e, depth+1); err != nil {
					return err
				}
			}
		case types.StreamDict:
			return visit(v.Dict, depth)
		case types.Array:
			for _, e := range v {
				if err := visit(e, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for i := 0; i < len(queue); i++ {
		if i&255 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		o, _ := cw.entryObject(queue[i])
		if err := visit(o, 0); err != nil {
			return err
		}
	}
	return nil
}

func (cw *cleanWriter) write(b []byte) {
	n, _ := cw.bw.Write(b) // bufio keeps the first error; Flush reports it
	cw.off += int64(n)
}

func (cw *cleanWriter) object(nr int, o types.Object) error {
	b := strconv.AppendInt(cw.buf[:0], int64(nr), 10)
	b = append(b, " 0 obj\n"...)
	var err error
	if sd, ok := o.(types.StreamDict); ok {
		d, raw, ferr := cw.fixer.fix(sd)
		if ferr != nil {
			return ferr
		}
		if b, err = cw.appendDict(b, d, len(raw)); err != nil {
			return err
		}
		b = append(b, "\nstream\n"...)
		cw.write(b)
		cw.write(raw)
		b = append(b[:0], "\nendstream"...)
	} else if b, err = cw.appendObj(b, o); err != nil {
		return err
	}
	b = append(b, "\nendobj\n"...)
	cw.write(b)
	cw.buf = b
	return nil
}

func (cw *cleanWriter) appendObj(b []byte, o types.Object) ([]byte, error) {
	var err error
	switch v := o.(type) {
	case nil:
		b = append(b, "null"...)
	case types.Boolean:
		b = strconv.AppendBool(b, bool(v))
	case types.Integer:
		b = strconv.AppendInt(b, int64(v), 10)
	case types.Float:
		f := float64(v)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			f = 0
		}
		b = strconv.AppendFloat(b, f, 'f', -1, 64)
	case types.Name:
		b = append(b, '/')
		b = append(b, types.EncodeName(string(v))...)
	case types.StringLiteral:
		raw, uerr := types.Unescape(string(v))
		if uerr != nil {
			raw = nil // an unreadable string becomes empty rather than ambiguous
		}
		b = append(b, '<')
		b = hex.AppendEncode(b, raw)
		b = append(b, '>')
	case types.HexLiteral:
		b = append(b, '<')
		n := 0
		for i := 0; i < len(v); i++ {
			c := v[i]
			if (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
				b = append(b, c)
				n++
			}
		}
		if n%2 == 1 {
			b = append(b, '0')
		}
		b = append(b, '>')
	case types.IndirectRef:
		if nr, ok := cw.renum[v.ObjectNumber.Value()]; ok {
			b = strconv.AppendInt(b, int64(nr), 10)
			b = append(b, " 0 R"...)
		} else {
			b = append(b, "null"...)
		}
	case types.Array:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ' ')
			}
			if b, err = cw.appendObj(b, e); err != nil {
				return nil, err
			}
		}
		b = append(b, ']')
	case types.Dict:
		return cw.appendDict(b, v, -1)
	case types.StreamDict:
		// A stream may only be an indirect object; a direct one is dropped.
		b = append(b, "null"...)
	default:
		return nil, fmt.Errorf("%w: unexpected object type %T", ErrParse, o)
	}
	return b, nil
}

// appendDict writes d with sorted keys; a stream's /Length (length >= 0)
// replaces whatever the dictionary held.
func (cw *cleanWriter) appendDict(b []byte, d types.Dict, length int) ([]byte, error) {
	keys := make([]string, 0, len(d)+1)
	for k := range d {
		if length < 0 || k != "Length" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	b = append(b, "<<"...)
	var err error
	for _, k := range keys {
		b = append(b, '/')
		b = append(b, types.EncodeName(k)...)
		b = append(b, ' ')
		if b, err = cw.appendObj(b, d[k]); err != nil {
			return nil, err
		}
	}
	if length >= 0 {
		b = append(b, "/Length "...)
		b = strconv.AppendInt(b, int64(length), 10)
	}
	return append(b, ">>"...), nil
}

func (cw *cleanWriter) xref() {
	start := cw.off
	n := len(cw.order) + 1
	b := cw.buf[:0]
	b = append(b, "xref\n0 "...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, "\n0000000000 65535 f\r\n"...)
	for i := 1; i < n; i++ {
		s := strconv.FormatInt(cw.offsets[i], 10)
		for j := len(s); j < 10; j++ {
			b = append(b, '0')
		}
		b = append(b, s...)
		b = append(b, " 00000 n\r\n"...)
	}
	b = append(b, "trailer\n<</Size "...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, " /Root "...)
	b = strconv.AppendInt(b, int64(cw.renum[cw.xt.Root.ObjectNumber.Value()]), 10)
	b = append(b, " 0 R"...)
	if cw.xt.Info != nil {
		if nr, ok := cw.renum[cw.xt.Info.ObjectNumber.Value()]; ok {
			b = append(b, " /Info "...)
			b = strconv.AppendInt(b, int64(nr), 10)
			b = append(b, " 0 R"...)
		}
	}
	b = append(b, ">>\nstartxref\n"...)
	b = strconv.AppendInt(b, start, 10)
	b = append(b, "\n%%EOF\n"...)
	cw.write(b)
	cw.buf = b
}
