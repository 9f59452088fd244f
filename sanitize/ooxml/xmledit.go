package ooxml

import (
	"bufio"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/kyojin/kyojin/sanitize"
)

// XML parts are edited by deleting byte ranges of the original text, never by
// re-serialising: encoding/xml would rewrite namespace prefixes and Office
// rejects that. A first pass (scanner) tokenises the part and collects the
// ranges to delete; a second pass (applyEdits) copies the part without them.
// Only whole elements, or the start and end tags of an element whose
// children stay, are deleted, so the result stays well-formed.

type span struct{ start, end int64 }

type partKind int

const (
	kindOther partKind = iota
	kindWord
	kindSheet
	kindWorkbook
	kindSlide
	kindChart
)

// triggers are byte strings whose absence proves a part needs no edit, so
// the (slow) XML pass is skipped for it. They are element local names; a
// local name cannot be written with character references, so a plain byte
// search cannot be evaded.
var triggers = map[partKind][]string{
	kindWord: {"nstrText", "fldSimple", "fldChar", "OLEObject", "control", "attachedTemplate",
		"altChunk", "mailMerge", "objectEmbed", "objectLink"},
	kindSheet:    {"oleObjects", "controls"},
	kindWorkbook: nil, // always scanned (small)
	kindSlide:    {"oleObj", "controls", "ppaction"},
	kindChart:    {"externalData"},
}

func kindOf(ct string, isMain bool) partKind {
	l := strings.ToLower(ct)
	switch {
	case isMain && strings.Contains(l, "wordprocessingml"), isMain && strings.Contains(l, "ms-word"):
		return kindWord
	case isMain && (strings.Contains(l, "spreadsheetml") || strings.Contains(l, "ms-excel")):
		return kindWorkbook
	case isMain:
		return kindSlide // presentation.xml carries no active content but is cheap
	case strings.Contains(l, "wordprocessingml.") && strings.HasSuffix(l, "+xml"):
		return kindWord
	case strings.Contains(l, "spreadsheetml.worksheet+xml"), strings.Contains(l, "spreadsheetml.dialogsheet+xml"),
		strings.Contains(l, "spreadsheetml.chartsheet+xml"):
		return kindSheet
	case strings.Contains(l, "presentationml.slide+xml"), strings.Contains(l, "presentationml.slidelayout+xml"),
		strings.Contains(l, "presentationml.slidemaster+xml"), strings.Contains(l, "presentationml.notesslide+xml"),
		strings.Contains(l, "presentationml.notesmaster+xml"), strings.Contains(l, "presentationml.handoutmaster+xml"):
		return kindSlide
	case strings.Contains(l, "drawingml.chart+xml"):
		return kindChart
	}
	return kindOther
}

const (
	nsO = "urn:schemas-microsoft-com:office:office"
)

func isNS(space, family string) bool {
	switch family {
	case "w":
		return space == "http://schemas.openxmlformats.org/wordprocessingml/2006/main" ||
			space == "http://purl.oclc.org/ooxml/wordprocessingml/main"
	case "s":
		return space == "http://schemas.openxmlformats.org/spreadsheetml/2006/main" ||
			space == "http://purl.oclc.org/ooxml/spreadsheetml/main"
	case "p":
		return space == "http://schemas.openxmlformats.org/presentationml/2006/main" ||
			space == "http://purl.oclc.org/ooxml/presentationml/main"
	case "a":
		return space == "http://schemas.openxmlformats.org/drawingml/2006/main" ||
			space == "http://purl.oclc.org/ooxml/drawingml/main"
	case "c":
		return space == "http://schemas.openxmlformats.org/drawingml/2006/chart" ||
			space == "http://purl.oclc.org/ooxml/drawingml/chart"
	case "r":
		return space == "http://schemas.openxmlformats.org/officeDocument/2006/relationships" ||
			space == "http://purl.oclc.org/ooxml/officeDocument/relationships"
	}
	return false
}

func attr(t xml.StartElement, local string) string {
	for _, a := range t.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// field is one complex field (ECMA-376 Part 1 §17.16.18): begin, code,
// optional separate and result, end.
type field struct {
	begin, sep span
	hasSep     bool
	inCode     bool
	instr      strings.Builder
	code       []span // everything in the code portion, nested fields included
	childBad   bool
}

const (
	maxFieldDepth = 64
	maxInstrLen   = 1 << 16
	nestedMark    = "\x00"
)

type scanner struct {
	d              *xml.Decoder
	kind           partKind
	removedIDs     map[string]bool
	keepHyperlinks bool
	res            *sanitize.Result

	spans    []span
	fields   []*field
	simple   []bool // fldSimple stack: true when its tags are to be deleted
	frames   []*frame
	extLinks bool            // external links were removed: drop formulas naming them
	shared   map[string]bool // shared-formula ids whose master was dropped
}

type frame struct {
	start int64
	ole   bool
}

func newScanner(r io.Reader, kind partKind, removedIDs map[string]bool, keepHyperlinks bool, res *sanitize.Result) *scanner {
	d := xml.NewDecoder(bufio.NewReaderSize(r, 64<<10))
	d.Strict = true
	return &scanner{d: d, kind: kind, removedIDs: removedIDs, keepHyperlinks: keepHyperlinks, res: res}
}

var errMalformedXML = errors.New("malformed XML")

func (s *scanner) run() ([]span, error) {
	for {
		start := s.d.InputOffset()
		tok, err := s.d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformedXML, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, fmt.Errorf("%w: DTD not allowed", errMalformedXML)
		case xml.StartElement:
			if err := s.startElement(t, start); err != nil {
				return nil, err
			}
		case xml.EndElement:
			s.endElement(t, start)
		}
	}
	if len(s.fields) != 0 {
		return nil, fmt.Errorf("%w: unterminated field", errMalformedXML)
	}
	return mergeSpans(s.spans), nil
}

// drop deletes the whole element that starts at start.
func (s *scanner) drop(start int64, object string) error {
	if err := s.d.Skip(); err != nil {
		return fmt.Errorf("%w: %v", errMalformedXML, err)
	}
	s.spans = append(s.spans, span{start, s.d.InputOffset()})
	s.res.Add("removed", object, 1)
	return nil
}

// elementSpan consumes the element that starts at start and returns its span.
func (s *scanner) elementSpan(start int64) (span, error) {
	if err := s.d.Skip(); err != nil {
		return span{}, fmt.Errorf("%w: %v", errMalformedXML, err)
	}
	return span{start, s.d.InputOffset()}, nil
}

func (s *scanner) startElement(t xml.StartElement, start int64) error {
	n := t.Name
	switch s.kind {
	case kindWord:
		return s.wordStart(t, start)
	case kindSheet:
		if isNS(n.Space, "s") && (n.Local == "oleObjects" || n.Local == "controls") {
			return s.drop(start, "xml:"+n.Local)
		}
		if s.extLinks && isNS(n.Space, "s") && n.Local == "f" {
			return s.formula(t, start)
		}
	case kindWorkbook:
		if !isNS(n.Space, "s") {
			return nil
		}
		switch n.Local {
		case "externalReferences":
			return s.drop(start, "xml:externalReferences")
		case "sheet":
			for _, a := range t.Attr {
				if isNS(a.Name.Space, "r") && a.Name.Local == "id" && s.removedIDs[a.Value] {
					return s.drop(start, "xml:sheet (macro sheet)")
				}
			}
		case "definedName":
			if s.extLinks {
				text, sp, err := s.readText(start)
				if err != nil {
					return err
				}
				if externalRef(text) {
					s.spans = append(s.spans, sp)
					s.res.Add("removed", "xml:definedName (external reference)", 1)
				}
				return nil
			}
			// Excel runs the macro a name like Auto_Open points at when the
			// workbook opens ([MS-XLS] 2.5.143 built-in names). Variants
			// (_xlnm.Auto_Open, Auto_Open2, LibreOffice's
			// Excel_BuiltIn_Auto_Open) all go.
			name := strings.ToLower(attr(t, "name"))
			for _, p := range []string{"auto_open", "auto_close", "auto_activate", "auto_deactivate"} {
				if strings.Contains(name, p) {
					return s.drop(start, "xml:definedName "+p)
				}
			}
		}
	case kindSlide:
		switch {
		case isNS(n.Space, "p") && n.Local == "graphicFrame":
			s.frames = append(s.frames, &frame{start: start})
		case isNS(n.Space, "p") && n.Local == "oleObj":
			if len(s.frames) > 0 {
				s.frames[len(s.frames)-1].ole = true
				return nil
			}
			return s.drop(start, "xml:oleObj")
		case isNS(n.Space, "p") && n.Local == "controls":
			return s.drop(start, "xml:controls")
		case isNS(n.Space, "a") && (n.Local == "hlinkClick" || n.Local == "hlinkHover"):
			// ppaction://program runs an executable, ://macro a macro and
			// ://ole an object verb ([MS-PPTX] 2.1.1329 / ECMA-376 §21.1.2.3.5).
			act := strings.ToLower(strings.TrimSpace(attr(t, "action")))
			for _, p := range []string{"ppaction://program", "ppaction://macro", "ppaction://ole"} {
				if strings.HasPrefix(act, p) {
					return s.drop(start, "xml:"+n.Local+" "+p)
				}
			}
		}
	case kindChart:
		if isNS(n.Space, "c") && n.Local == "externalData" {
			return s.drop(start, "xml:externalData")
		}
	}
	return nil
}

func (s *scanner) endElement(t xml.EndElement, start int64) {
	n := t.Name
	switch s.kind {
	case kindWord:
		if isNS(n.Space, "w") && n.Local == "fldSimple" && len(s.simple) > 0 {
			del := s.simple[len(s.simple)-1]
			s.simple = s.simple[:len(s.simple)-1]
			if del {
				s.spans = append(s.spans, span{start, s.d.InputOffset()})
			}
		}
	case kindSlide:
		if isNS(n.Space, "p") && n.Local == "graphicFrame" && len(s.frames) > 0 {
			f := s.frames[len(s.frames)-1]
			s.frames = s.frames[:len(s.frames)-1]
			if f.ole {
				s.spans = append(s.spans, span{f.start, s.d.InputOffset()})
				s.res.Add("removed", "xml:graphicFrame (oleObj)", 1)
			}
		}
	}
}

func (s *scanner) wordStart(t xml.StartElement, start int64) error {
	n := t.Name
	if n.Space == nsO && n.Local == "OLEObject" {
		return s.drop(start, "xml:OLEObject")
	}
	if !isNS(n.Space, "w") {
		return nil
	}
	switch n.Local {
	case "control", "objectEmbed", "objectLink", "attachedTemplate", "altChunk", "mailMerge":
		return s.drop(start, "xml:"+n.Local)
	case "fldSimple":
		instr := attr(t, "instr")
		bad, kw := s.fieldBad(instr, false)
		s.simple = append(s.simple, bad)
		if bad {
			// Unwrap: delete the start tag, keep the result runs inside.
			s.spans = append(s.spans, span{start, s.d.InputOffset()})
			s.res.Add("removed", "field "+kw, 1)
		}
	case "fldChar":
		typ := attr(t, "fldCharType")
		sp, err := s.elementSpan(start)
		if err != nil {
			return err
		}
		return s.fldChar(typ, sp)
	case "instrText", "delInstrText":
		text, sp, err := s.readText(start)
		if err != nil {
			return err
		}
		if len(s.fields) == 0 || !s.fields[len(s.fields)-1].inCode {
			// A field code outside a field: meaningless to Word, deleted.
			s.spans = append(s.spans, sp)
			return nil
		}
		top := s.fields[len(s.fields)-1]
		if top.instr.Len()+len(text) <= maxInstrLen {
			top.instr.WriteString(text)
		}
		s.addCode(sp)
	case "t", "delText":
		if s.anyInCode() {
			sp, err := s.elementSpan(start)
			if err != nil {
				return err
			}
			s.addCode(sp)
		}
	}
	return nil
}

func (s *scanner) anyInCode() bool {
	for _, f := range s.fields {
		if f.inCode {
			return true
		}
	}
	return false
}

// addCode records sp in the code portion of every open field whose code it
// is part of, so that deleting an outer field's code also deletes nested
// fields written inside it.
func (s *scanner) addCode(sp span) {
	for _, f := range s.fields {
		if f.inCode {
			f.code = append(f.code, sp)
		}
	}
}

func (s *scanner) fldChar(typ string, sp span) error {
	switch typ {
	case "begin":
		if len(s.fields) >= maxFieldDepth {
			return fmt.Errorf("%w: fields nested too deep", errMalformedXML)
		}
		if len(s.fields) > 0 && s.fields[len(s.fields)-1].inCode {
			s.fields[len(s.fields)-1].instr.WriteString(nestedMark)
		}
		s.addCode(sp)
		s.fields = append(s.fields, &field{begin: sp, inCode: true})
	case "separate":
		if len(s.fields) == 0 {
			return fmt.Errorf("%w: field separator without begin", errMalformedXML)
		}
		top := s.fields[len(s.fields)-1]
		if top.hasSep {
			return fmt.Errorf("%w: field with two separators", errMalformedXML)
		}
		top.sep, top.hasSep, top.inCode = sp, true, false
		s.addCode(sp)
	case "end":
		if len(s.fields) == 0 {
			return fmt.Errorf("%w: field end without begin", errMalformedXML)
		}
		f := s.fields[len(s.fields)-1]
		s.fields = s.fields[:len(s.fields)-1]
		s.addCode(sp)
		bad, kw := s.fieldBad(f.instr.String(), f.childBad)
		if bad {
			s.spans = append(s.spans, f.begin, sp)
			if f.hasSep {
				s.spans = append(s.spans, f.sep)
			}
			s.spans = append(s.spans, f.code...)
			s.res.Add("removed", "field "+kw, 1)
			if len(s.fields) > 0 && s.fields[len(s.fields)-1].inCode {
				s.fields[len(s.fields)-1].childBad = true
			}
		}
	default:
		return fmt.Errorf("%w: unknown fldCharType", errMalformedXML)
	}
	return nil
}

// readText consumes a text-only element and returns its character data.
func (s *scanner) readText(start int64) (string, span, error) {
	var b strings.Builder
	depth := 1
	for depth > 0 {
		tok, err := s.d.Token()
		if err != nil {
			return "", span{}, fmt.Errorf("%w: %v", errMalformedXML, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if b.Len() < maxInstrLen {
				b.Write(t)
			}
		}
	}
	return b.String(), span{start, s.d.InputOffset()}, nil
}

// fieldBad decides whether a field's code must go, and names the keyword
// for the audit record.
func (s *scanner) fieldBad(instr string, childBad bool) (bool, string) {
	kw, nested := fieldKeyword(instr)
	switch {
	case nested:
		// The keyword is computed by a nested field ({ {QUOTE 68 68 69} ...}),
		// the classic way to hide DDE from scanners: never trusted.
		return true, "(computed keyword)"
	case childBad:
		return true, kw
	case kw == "HYPERLINK":
		return !(s.keepHyperlinks && hyperlinkFieldSafe(instr)), kw
	case allowedFields[kw]:
		return false, kw
	}
	return true, kw
}

// fieldKeyword returns the upper-case field keyword of an instruction.
func fieldKeyword(instr string) (kw string, nested bool) {
	t := strings.TrimLeft(instr, " \t\r\n\u00a0\u3000")
	if strings.HasPrefix(t, nestedMark) {
		return "", true
	}
	if strings.HasPrefix(t, "=") {
		return "=", false
	}
	end := strings.IndexAny(t, " \t\r\n\\\"\u00a0\u3000"+nestedMark)
	if end < 0 {
		end = len(t)
	}
	kw = strings.ToUpper(t[:end])
	if len(kw) > 32 {
		kw = kw[:32]
	}
	return kw, false
}

// hyperlinkFieldSafe reports whether a HYPERLINK field points at a web or
// mail address (or only at a bookmark in the document itself).
func hyperlinkFieldSafe(instr string) bool {
	toks := fieldTokens(instr)
	for i := 1; i < len(toks); i++ {
		tk := toks[i]
		if strings.HasPrefix(tk, `\`) {
			switch strings.ToLower(tk) {
			case `\l`, `\o`, `\t`:
				i++ // these switches take an argument
			}
			continue
		}
		return safeURL(tk)
	}
	return true
}

func safeURL(u string) bool {
	l := strings.ToLower(strings.TrimSpace(u))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "mailto:")
}

func fieldTokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			i++
		case c == '"':
			j := strings.IndexByte(s[i+1:], '"')
			if j < 0 {
				out = append(out, s[i+1:])
				return out
			}
			out = append(out, s[i+1:i+1+j])
			i += j + 2
		default:
			j := strings.IndexAny(s[i:], " \t\r\n\"")
			if j < 0 {
				out = append(out, s[i:])
				return out
			}
			out = append(out, s[i:i+j])
			i += j
		}
	}
	return out
}

// mergeSpans sorts spans and folds overlapping or nested ones together.
func mergeSpans(in []span) []span {
	if len(in) == 0 {
		return nil
	}
	slices.SortFunc(in, func(a, b span) int {
		if a.start != b.start {
			if a.start < b.start {
				return -1
			}
			return 1
		}
		return 0
	})
	out := in[:1]
	for _, sp := range in[1:] {
		last := &out[len(out)-1]
		if sp.start < last.end {
			if sp.end > last.end {
				last.end = sp.end
			}
			continue
		}
		if sp.end > sp.start {
			out = append(out, sp)
		}
	}
	return out
}

// applyEdits copies src to dst leaving out the (merged, sorted) spans.
func applyEdits(dst io.Writer, src io.Reader, spans []span) error {
	var pos int64
	for _, sp := range spans {
		if _, err := io.CopyN(dst, src, sp.start-pos); err != nil {
			return err
		}
		if _, err := io.CopyN(io.Discard, src, sp.end-sp.start); err != nil {
			return err
		}
		pos = sp.end
	}
	_, err := io.Copy(dst, src)
	return err
}

// formula drops a cell formula that names a removed external workbook
// ("[1]Sheet1!A1", "[2]!A0" for DDE); the cell keeps its cached value. The
// dependants of a dropped shared formula ([MS-XLSX]/ECMA-376 §18.3.1.40
// t="shared" si=...) go with it.
func (s *scanner) formula(t xml.StartElement, start int64) error {
	si := ""
	if attr(t, "t") == "shared" {
		si = attr(t, "si")
	}
	text, sp, err := s.readText(start)
	if err != nil {
		return err
	}
	drop := externalRef(text)
	if si != "" {
		if drop {
			if s.shared == nil {
				s.shared = map[string]bool{}
			}
			s.shared[si] = true
		} else if strings.TrimSpace(text) == "" && s.shared[si] {
			drop = true
		}
	}
	if drop {
		s.spans = append(s.spans, sp)
		s.res.Add("removed", "xml:f (external reference)", 1)
	}
	return nil
}

// externalRef reports a formula that refers to an external link by index.
func externalRef(f string) bool {
	for i := strings.IndexByte(f, '['); i >= 0 && i+1 < len(f); {
		j := i + 1
		for j < len(f) && f[j] >= '0' && f[j] <= '9' {
			j++
		}
		if j > i+1 && j < len(f) && f[j] == ']' {
			return true
		}
		k := strings.IndexByte(f[i+1:], '[')
		if k < 0 {
			return false
		}
		i += 1 + k
	}
	return false
}
