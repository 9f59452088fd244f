// Package pdfinspect is the independent checker for PDF output (issue 3,
// pipeline step 4): it re-parses a PDF with its own tokenizer, separate from
// the sanitizer's pdfcpu-based walker, and lists every active construct left
// in it. It scans for objects the way a repairing reader does (every "obj"
// keyword, not only those the cross-reference table names), inflates every
// FlateDecode stream under a byte cap, parses the objects held in object
// streams and decodes #xx escapes in names. Anything it cannot read is
// itself a finding: the check fails closed.
package pdfinspect

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"context"
	"encoding/ascii85"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/kyojin/kyojin/sanitize"
)

// DefaultMaxDecompressed caps the bytes inflated per inspection.
const DefaultMaxDecompressed = 1 << 30

// Inspector implements sanitize.Inspector for PDF.
type Inspector struct {
	// AllowURI accepts URI actions (policy keep_uri_actions=true).
	AllowURI bool
	// MaxDecompressed caps the total inflated bytes; 0 means DefaultMaxDecompressed.
	MaxDecompressed int64
	// MaxInput caps the input size; 0 means no cap.
	MaxInput int64
}

var _ sanitize.Inspector = (*Inspector)(nil)

// forbidden maps a decoded name to the construct it reveals.
func (in *Inspector) forbidden(name string) (string, bool) {
	switch name {
	case "JavaScript", "JS", "AA", "Launch", "SubmitForm", "ImportData", "GoToR", "GoToE",
		"XFA", "EmbeddedFile", "EmbeddedFiles", "FileAttachment", "EF":
		return "/" + name, true
	case "URI":
		return "/URI", !in.AllowURI
	}
	if strings.HasPrefix(name, "RichMedia") {
		return "/RichMedia", true
	}
	return "", false
}

// Inspect implements sanitize.Inspector. The error is only for failures to
// read r; problems with the content are findings.
func (in *Inspector) Inspect(ctx context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	if in.MaxInput > 0 && size > in.MaxInput {
		return []sanitize.Finding{{Construct: "input too large", Location: "file"}}, nil
	}
	data := make([]byte, size)
	if n, err := r.ReadAt(data, 0); int64(n) != size {
		return nil, fmt.Errorf("pdfinspect: read: %w", err)
	}
	budget := in.MaxDecompressed
	if budget <= 0 {
		budget = DefaultMaxDecompressed
	}
	s := &scan{in: in, data: data, budget: budget, objs: map[int][]any{}, seen: map[sanitize.Finding]bool{}}
	if err := s.run(ctx); err != nil {
		return nil, err
	}
	sort.Slice(s.findings, func(i, j int) bool {
		a, b := s.findings[i], s.findings[j]
		if a.Construct != b.Construct {
			return a.Construct < b.Construct
		}
		return a.Location < b.Location
	})
	return s.findings, nil
}

type scan struct {
	in       *Inspector
	data     []byte
	budget   int64
	objs     map[int][]any // every parsed version of each object number
	open     []openAction
	findings []sanitize.Finding
	seen     map[sanitize.Finding]bool
	headers  map[int]int // object number -> offset of the value after "obj"
	skip     []span      // delimited stream data, in file order
}

type span struct{ from, to int }

// inSkipped tells whether offset p lies in delimited stream data.
func (s *scan) inSkipped(p int) bool {
	i := sort.Search(len(s.skip), func(i int) bool { return s.skip[i].to > p })
	return i < len(s.skip) && s.skip[i].from <= p
}

type openAction struct {
	v   any
	loc string
}

func (s *scan) add(construct, loc string) {
	f := sanitize.Finding{Construct: construct, Location: loc}
	if !s.seen[f] {
		s.seen[f] = true
		s.findings = append(s.findings, f)
	}
}

func (s *scan) nameHook(loc func() string) func(string, int) {
	return func(name string, _ int) {
		if c, bad := s.in.forbidden(name); bad {
			s.add(c, loc())
		}
	}
}

// objHeader is one "num gen obj" occurrence.
type objHeader struct {
	num  int // -1 when the numbers before "obj" are not readable
	body int // offset just after "obj"
}

// findHeaders locates every "obj" keyword in the raw bytes, wherever it is.
func findHeaders(b []byte) []objHeader {
	var hs []objHeader
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte("obj"))
		if j < 0 {
			return hs
		}
		p := i + j
		i = p + 3
		// "obj" after "/" is a name and after ">>" or ")" part of an object;
		// a header has whitespace or a digit ("1 0obj") before it.
		if p > 0 && !isSpace(b[p-1]) && !(b[p-1] >= '0' && b[p-1] <= '9') {
			continue
		}
		if p+3 < len(b) && !isSpace(b[p+3]) && !isDelim(b[p+3]) {
			continue
		}
		if p >= 3 && string(b[p-3:p]) == "end" {
			continue
		}
		hs = append(hs, objHeader{num: numBefore(b, p), body: p + 3})
	}
}

// numBefore reads "num gen" backwards from p; -1 if absent.
func numBefore(b []byte, p int) int {
	q := p
	for q > 0 && isSpace(b[q-1]) {
		q--
	}
	e := q
	for q > 0 && b[q-1] >= '0' && b[q-1] <= '9' {
		q--
	}
	if q == e {
		return -1
	}
	for q > 0 && isSpace(b[q-1]) {
		q--
	}
	e = q
	for q > 0 && b[q-1] >= '0' && b[q-1] <= '9' {
		q--
	}
	if q == e || e-q > 10 {
		return -1
	}
	n := 0
	for _, c := range b[q:e] {
		n = n*10 + int(c-'0')
	}
	return n
}

func (s *scan) run(ctx context.Context) error {
	head := s.data
	if len(head) > 1024 {
		head = head[:1024]
	}
	if !bytes.Contains(head, []byte("%PDF-")) {
		s.add("not a PDF", "header")
	}
	hs := findHeaders(s.data)
	if len(hs) == 0 {
		s.add("no objects", "file")
	}
	s.headers = map[int]int{}
	for _, h := range hs {
		if h.num >= 0 {
			s.headers[h.num] = h.body
		}
	}
	for i, h := range hs {
		if i&63 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if s.inSkipped(h.body - 3) {
			continue
		}
		// The object's syntax ends at its endobj or where the next object
		// starts; bounding the lexer keeps hostile files (unterminated
		// strings, thousands of headers) linear.
		end := len(s.data)
		if i+1 < len(hs) {
			end = hs[i+1].body - 3
		}
		if e := bytes.Index(s.data[h.body:end], []byte("endobj")); e >= 0 {
			end = h.body + e
		}
		s.topObject(h, end)
	}
	s.trailers()
	s.checkOpenActions()
	return nil
}

func locObj(num int) string {
	if num < 0 {
		return "object ?"
	}
	return fmt.Sprintf("object %d", num)
}

func (s *scan) topObject(h objHeader, end int) {
	loc := func() string { return locObj(h.num) }
	l := &lexer{b: s.data[:end], pos: h.body, onName: s.nameHook(loc)}
	v, err := l.parseValue(0)
	if err != nil {
		if h.num >= 0 {
			s.add("unparseable object", loc())
		}
		// Keep scanning names up to endobj so nothing after the error hides.
		for t := l.next(); t.kind != tEOF && !(t.kind == tKeyword && (t.text == "endobj" || t.text == "stream")); t = l.next() {
		}
		return
	}
	s.record(h.num, v, loc())
	d, ok := v.(pDict)
	if !ok {
		return
	}
	save := l.pos
	if t := l.next(); t.kind != tKeyword || t.text != "stream" {
		l.pos = save
		return
	}
	start := l.pos
	if start < len(s.data) && s.data[start] == '\r' {
		start++
	}
	if start < len(s.data) && s.data[start] == '\n' {
		start++
	}
	raw := s.streamData(d, start)
	s.stream(d, raw, h.num)
}

// record remembers an object and any /OpenAction or /Encrypt it holds.
func (s *scan) record(num int, v any, loc string) {
	if num >= 0 {
		s.objs[num] = append(s.objs[num], v)
	}
	s.walk(v, loc, 0)
}

func (s *scan) walk(v any, loc string, depth int) {
	if depth > maxNesting {
		return
	}
	switch o := v.(type) {
	case pDict:
		if oa, ok := o["OpenAction"]; ok {
			s.open = append(s.open, openAction{oa, loc})
		}
		if _, ok := o["Encrypt"]; ok {
			s.add("/Encrypt", loc)
		}
		for _, e := range o {
			s.walk(e, loc, depth+1)
		}
	case pArray:
		for _, e := range o {
			s.walk(e, loc, depth+1)
		}
	}
}

// streamData returns the stream bytes starting at start: /Length when it is
// consistent with an "endstream" keyword, otherwise up to the first
// "endstream".
func (s *scan) streamData(d pDict, start int) []byte {
	n, ok := intOf(d["Length"])
	direct := ok
	if !ok {
		if r, isRef := d["Length"].(pRef); isRef {
			if p, found := s.headers[r.num]; found {
				l := &lexer{b: s.data, pos: p}
				if v, err := l.parseValue(0); err == nil {
					n, ok = intOf(v)
				}
			}
		}
	}
	if ok && start+n <= len(s.data) {
		rest := s.data[start+n:]
		i := 0
		for i < len(rest) && isSpace(rest[i]) {
			i++
		}
		if bytes.HasPrefix(rest[i:], []byte("endstream")) {
			if direct {
				// Exactly delimited stream data is not object syntax: a
				// reader with a valid cross-reference table never parses
				// it, so "obj" and "trailer" inside it are skipped.
				s.skip = append(s.skip, span{start, start + n})
			}
			return s.data[start : start+n]
		}
	}
	end := bytes.Index(s.data[start:], []byte("endstream"))
	if end < 0 {
		return s.data[start:]
	}
	return bytes.TrimRight(s.data[start:start+end], "\r\n")
}

func filters(d pDict) []string {
	switch f := d["Filter"].(type) {
	case pName:
		return []string{string(f)}
	case pArray:
		var out []string
		for _, e := range f {
			n, _ := e.(pName)
			out = append(out, string(n))
		}
		return out
	}
	return nil
}

// hasPredictor tells whether any /DecodeParms asks for a predictor.
func hasPredictor(d pDict) bool {
	check := func(v any) bool {
		p, ok := v.(pDict)
		if !ok {
			return false
		}
		n, _ := intOf(p["Predictor"])
		return n > 1
	}
	switch dp := d["DecodeParms"].(type) {
	case pDict:
		return check(dp)
	case pArray:
		for _, e := range dp {
			if check(e) {
				return true
			}
		}
	}
	return false
}

var errBudget = errors.New("decompression limit")

// decode applies the filters this inspector implements. complete is false
// when it stopped at a filter it does not implement (images, for example).
func (s *scan) decode(d pDict, raw []byte) (out []byte, complete bool, err error) {
	out = raw
	for _, f := range filters(d) {
		switch f {
		case "FlateDecode", "Fl":
			out, err = s.inflate(out)
		case "ASCIIHexDecode", "AHx":
			out, err = asciiHex(out)
		case "ASCII85Decode", "A85":
			out, err = ascii85Decode(out)
		default:
			return out, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
	return out, true, nil
}

func (s *scan) inflate(b []byte) ([]byte, error) {
	if len(b) == 0 {
		return nil, nil // an empty stream is empty whatever its filter
	}
	var rd io.Reader
	if len(b) >= 2 && (uint16(b[0])<<8|uint16(b[1]))%31 == 0 && b[0]&0x0f == 8 {
		zr, err := zlib.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		rd = zr
	} else {
		rd = flate.NewReader(bytes.NewReader(b))
	}
	var out bytes.Buffer
	n, err := io.Copy(&out, io.LimitReader(rd, s.budget+1))
	s.budget -= n
	if s.budget < 0 {
		return nil, errBudget
	}
	if err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func asciiHex(b []byte) ([]byte, error) {
	var out []byte
	var hi byte
	half := false
	for _, c := range b {
		if c == '>' {
			break
		}
		if isSpace(c) {
			continue
		}
		v, ok := unhex(c)
		if !ok {
			return nil, errors.New("bad hex digit")
		}
		if half {
			out = append(out, hi<<4|v)
		} else {
			hi = v
		}
		half = !half
	}
	if half {
		out = append(out, hi<<4)
	}
	return out, nil
}

func ascii85Decode(b []byte) ([]byte, error) {
	b = bytes.TrimPrefix(bytes.TrimSpace(b), []byte("<~"))
	if i := bytes.Index(b, []byte("~>")); i >= 0 {
		b = b[:i]
	}
	out := make([]byte, 4*len(b)/5+4)
	n, _, err := ascii85.Decode(out, b, true)
	if err != nil {
		return nil, err
	}
	return out[:n], nil
}

func (s *scan) stream(d pDict, raw []byte, num int) {
	loc := locObj(num)
	isObjStm := nameIn(d, "Type") == "ObjStm" || (d["N"] != nil && d["First"] != nil)
	out, complete, err := s.decode(d, raw)
	switch {
	case errors.Is(err, errBudget):
		s.add("decompression limit exceeded", loc)
		return
	case err != nil:
		s.add("undecodable stream", loc)
		return
	}
	if !isObjStm {
		return
	}
	if !complete || hasPredictor(d) {
		s.add("undecodable object stream", loc)
		return
	}
	s.objStream(d, out, num)
}

// objStream parses the objects of an object stream (§7.5.7): at the offsets
// its header gives, and also by a linear name scan of the whole content so
// an object outside the listed offsets cannot hide.
func (s *scan) objStream(d pDict, content []byte, num int) {
	stmLoc := func() string { return fmt.Sprintf("object stream %d", num) }
	lin := &lexer{b: content, onName: s.nameHook(stmLoc)}
	for t := lin.next(); t.kind != tEOF; t = lin.next() {
	}
	n, ok1 := intOf(d["N"])
	first, ok2 := intOf(d["First"])
	if !ok1 || !ok2 || first > len(content) {
		s.add("bad object stream header", stmLoc())
		return
	}
	hl := &lexer{b: content[:first]}
	type entry struct{ num, off int }
	var entries []entry
	for i := 0; i < n; i++ {
		t1, t2 := hl.next(), hl.next()
		if t1.kind != tNum || t2.kind != tNum {
			s.add("bad object stream header", stmLoc())
			return
		}
		objNum, ok1 := intOf(numVal(t1.text))
		off, ok2 := intOf(numVal(t2.text))
		if !ok1 || !ok2 || first+off > len(content) {
			s.add("bad object stream header", stmLoc())
			return
		}
		entries = append(entries, entry{objNum, first + off})
	}
	offs := make([]int, 0, len(entries))
	for _, e := range entries {
		offs = append(offs, e.off)
	}
	sort.Ints(offs)
	for _, e := range entries {
		objNum := e.num
		// Each object ends where the next one begins.
		end := len(content)
		if k := sort.SearchInts(offs, e.off+1); k < len(offs) {
			end = offs[k]
		}
		loc := func() string { return fmt.Sprintf("object %d in object stream %d", objNum, num) }
		ol := &lexer{b: content[:end], pos: e.off, onName: s.nameHook(loc)}
		v, err := ol.parseValue(0)
		if err != nil {
			s.add("unparseable object", loc())
			continue
		}
		s.record(objNum, v, loc())
	}
}

func numVal(s string) any {
	l := &lexer{b: []byte(s)}
	v, _ := l.parseValue(0)
	return v
}

// trailers checks classic trailer dictionaries (for /Encrypt).
func (s *scan) trailers() {
	for i := 0; ; {
		j := bytes.Index(s.data[i:], []byte("trailer"))
		if j < 0 {
			return
		}
		p := i + j + len("trailer")
		i = p
		if s.inSkipped(p - 1) {
			continue
		}
		l := &lexer{b: s.data, pos: p, onName: s.nameHook(func() string { return "trailer" })}
		if v, err := l.parseValue(0); err == nil {
			s.walk(v, "trailer", 0)
		}
	}
}

// checkOpenActions accepts only a destination array or a plain GoTo action
// as the document open action; every version of a referenced object counts.
func (s *scan) checkOpenActions() {
	for _, oa := range s.open {
		vals := []any{oa.v}
		if r, ok := oa.v.(pRef); ok {
			vals = s.objs[r.num]
		}
		for _, v := range vals {
			switch a := v.(type) {
			case pArray, pKw:
				// destination, or null
			case pDict:
				if nameIn(a, "S") != "GoTo" || a["Next"] != nil {
					s.add("/OpenAction", oa.loc)
				}
			default:
				s.add("/OpenAction", oa.loc)
			}
		}
	}
}

// New returns an inspector with the strict default: URI actions are findings.
func New() *Inspector { return &Inspector{} }
