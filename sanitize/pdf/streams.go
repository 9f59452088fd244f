package pdf

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/pdfcpu/pdfcpu/pkg/filter"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// streamFixer makes every written stream decodable as declared: leading
// ASCIIHex/ASCII85 filters are decoded away, and FlateDecode data is
// inflated (under the decompression budget) and, when it is corrupt,
// replaced by the recompressed part that could be read. A reader therefore
// never meets data that different decoders could interpret differently, and
// the independent inspector can decode everything it checks.
type streamFixer struct {
	budget int64 // remaining decompressed bytes; < 0 means unlimited
	res    *sanitize.Result
}

func filterList(d types.Dict) ([]string, []types.Object) {
	var names []string
	var parms []types.Object
	switch f := d["Filter"].(type) {
	case types.Name:
		names = []string{string(f)}
	case types.Array:
		for _, e := range f {
			n, _ := e.(types.Name)
			names = append(names, string(n))
		}
	}
	switch p := d["DecodeParms"].(type) {
	case types.Array:
		parms = append(parms, p...)
	case nil:
	default:
		parms = []types.Object{p}
	}
	for len(parms) < len(names) {
		parms = append(parms, nil)
	}
	return names, parms[:len(names)]
}

// fix returns the stream dict and raw bytes to write.
func (sf *streamFixer) fix(sd types.StreamDict) (types.Dict, []byte, error) {
	d := sd.Dict
	raw := sd.Raw
	names, parms := filterList(d)
	i := 0
	for ; i < len(names); i++ {
		var fname string
		switch names[i] {
		case "ASCIIHexDecode", "AHx":
			fname = filter.ASCIIHex
		case "ASCII85Decode", "A85":
			fname = filter.ASCII85
		}
		if fname == "" {
			break
		}
		out, err := sf.decodeWith(fname, raw)
		if err != nil {
			sf.res.Add("replaced", "/"+names[i], 1)
			out = nil
		}
		raw = out
	}
	if i < len(names) && (names[i] == "FlateDecode" || names[i] == "Fl") {
		fixed, repaired, err := sf.checkFlate(raw)
		if err != nil {
			return nil, nil, err
		}
		if repaired {
			sf.res.Add("replaced", "/FlateDecode", 1)
		}
		raw = fixed
	}
	// Only unfiltered data is searched: scanning every image costs more
	// than the rest of the rewrite, and the written /Length delimits it.
	wrap := i == len(names) && hidesSyntax(raw)
	if wrap {
		// The data carries PDF object syntax in clear ("1 0 obj", "trailer"):
		// a repairing reader scanning the file could take it for real
		// objects. ASCIIHex encoding leaves only hex digits (compression
		// can fall back to stored blocks, which keep the text).
		raw = append(hex.AppendEncode(make([]byte, 0, 2*len(raw)+1), raw), '>')
		if len(names) == 0 || (names[0] != "ASCIIHexDecode" && names[0] != "AHx") {
			// (Already hex-encoded input, such as our own output, is not news.)
			sf.res.Add("replaced", "stream with embedded object syntax", 1)
		}
	}
	if i > 0 || wrap {
		// Filters were decoded away or added: rewrite /Filter on a copy.
		c := types.Dict{}
		for k, v := range d {
			c[k] = v
		}
		d = c
		rest, restParms := names[i:], parms[i:]
		if wrap {
			rest = append([]string{"ASCIIHexDecode"}, rest...)
			restParms = append([]types.Object{nil}, restParms...)
		}
		delete(d, "Filter")
		delete(d, "DecodeParms")
		if len(rest) > 0 {
			fa := types.Array{}
			pa := types.Array{}
			hasParms := false
			for j, n := range rest {
				fa = append(fa, types.Name(n))
				pa = append(pa, restParms[j])
				hasParms = hasParms || restParms[j] != nil
			}
			d["Filter"] = fa
			if hasParms {
				d["DecodeParms"] = pa
			}
		}
	}
	return d, raw, nil
}

func (sf *streamFixer) decodeWith(name string, raw []byte) ([]byte, error) {
	f, err := filter.NewFilter(name, nil, sf.limit())
	if err != nil {
		return nil, err
	}
	r, err := f.Decode(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if err := sf.spend(int64(len(out))); err != nil {
		return nil, err
	}
	return out, nil
}

func (sf *streamFixer) limit() int64 {
	if sf.budget < 0 {
		return 1 << 40
	}
	return sf.budget + 1
}

func (sf *streamFixer) spend(n int64) error {
	if sf.budget < 0 {
		return nil
	}
	sf.budget -= n
	if sf.budget < 0 {
		return fmt.Errorf("%w: decompressed bytes", ErrLimit)
	}
	return nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// zlibPool reuses inflaters: allocating one per stream (a 32 KB window
// plus tables) dominated the cost of checking many small streams.
var zlibPool sync.Pool

// inflater reads zlib data, or raw deflate data when the zlib header is
// missing (some writers omit it); isZlib tells which. release returns the
// reader to the pool.
func inflater(raw []byte) (r io.Reader, isZlib bool, release func()) {
	if zr, ok := zlibPool.Get().(io.ReadCloser); ok {
		if err := zr.(zlib.Resetter).Reset(bytes.NewReader(raw), nil); err == nil {
			return zr, true, func() { zlibPool.Put(zr) }
		}
		zlibPool.Put(zr)
	} else if zr, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
		return zr, true, func() { zlibPool.Put(zr) }
	}
	return flate.NewReader(bytes.NewReader(raw)), false, func() {}
}

// checkFlate inflates raw without keeping the output. Corrupt data (bad
// header, bad checksum, truncation) is replaced by the zlib-compressed
// prefix that inflated cleanly.
func (sf *streamFixer) checkFlate(raw []byte) ([]byte, bool, error) {
	if len(raw) == 0 {
		return raw, false, nil
	}
	r, isZlib, release := inflater(raw)
	cw := &countWriter{}
	_, err := io.Copy(cw, io.LimitReader(r, sf.limit()))
	release()
	if serr := sf.spend(cw.n); serr != nil {
		return nil, false, serr
	}
	if err == nil && isZlib {
		return raw, false, nil
	}
	// Corrupt, or valid raw deflate without a zlib header: recompress.
	var prefix bytes.Buffer
	r, _, release = inflater(raw)
	io.Copy(&prefix, io.LimitReader(r, cw.n)) //nolint:errcheck // the error is the corruption being repaired
	release()
	var out bytes.Buffer
	zw := zlib.NewWriter(&out)
	zw.Write(prefix.Bytes())
	zw.Close()
	return out.Bytes(), true, nil
}

func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

// hidesSyntax reports an "obj" or "trailer" keyword standing on its own in
// stream data, the way an object header or trailer would.
func hidesSyntax(b []byte) bool {
	if bytes.Contains(b, []byte("trailer")) {
		return true // the inspector parses a dictionary after any "trailer"
	}
	for _, kw := range []string{"obj"} {
		for i := 0; ; {
			j := bytes.Index(b[i:], []byte(kw))
			if j < 0 {
				break
			}
			p := i + j
			i = p + 1
			before := p == 0 || isPDFSpace(b[p-1]) || (b[p-1] >= '0' && b[p-1] <= '9')
			end := p + len(kw)
			after := end >= len(b) || isPDFSpace(b[end]) || strings.IndexByte("()<>[]{}/%", b[end]) >= 0
			if before && after {
				return true
			}
		}
	}
	return false
}
