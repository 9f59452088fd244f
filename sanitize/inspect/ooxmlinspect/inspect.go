// Package ooxmlinspect is the independent checker for Office Open XML output
// (issue 3 §1.4): it shares no code with the sanitizer in sanitize/ooxml; it
// reads a package again and lists every active construct still in it — VBA
// projects, ActiveX, OLE objects and non-picture embeddings, external
// relationships, attached templates, external workbook links, data
// connections, dangerous Word field codes (DDE, DDEAUTO, INCLUDE*, ...),
// PowerPoint program/macro actions and macro-enabled content types.
//
// It fails closed: anything it cannot read is itself a finding.
package ooxmlinspect

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"path"
	"strings"

	"github.com/kyojin/kyojin/sanitize"
)

// Inspector implements sanitize.Inspector for OOXML packages.
type Inspector struct {
	allowHyperlinks bool
	maxBytes        int64
}

// Option configures an Inspector.
type Option func(*Inspector)

// AllowWebHyperlinks accepts external hyperlink relationships to http,
// https and mailto targets (matching the handler's keep_hyperlinks=true).
func AllowWebHyperlinks() Option { return func(i *Inspector) { i.allowHyperlinks = true } }

// MaxBytes caps the decompressed bytes the inspector reads (default 2 GiB);
// a package above the cap is reported as a finding.
func MaxBytes(n int64) Option { return func(i *Inspector) { i.maxBytes = n } }

// New returns an inspector.
func New(opts ...Option) *Inspector {
	i := &Inspector{maxBytes: 2 << 30}
	for _, o := range opts {
		o(i)
	}
	return i
}

// Placeholder is the one external target the inspector accepts: the inert
// value the sanitizer writes in place of every external target.
const Placeholder = "about:blank"

// Inspect implements sanitize.Inspector.
func (i *Inspector) Inspect(ctx context.Context, r io.ReaderAt, size int64) (fs []sanitize.Finding, err error) {
	defer func() {
		if p := recover(); p != nil {
			fs, err = append(fs, sanitize.Finding{Construct: "unparseable", Location: "package (internal error)"}), nil
		}
	}()
	return i.inspect(ctx, r, size)
}

func (i *Inspector) inspect(ctx context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return []sanitize.Finding{{Construct: "unparseable", Location: "zip directory"}}, nil
	}
	st := &state{i: i, left: i.maxBytes}
	for _, f := range zr.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		st.file(f)
	}
	return st.found, nil
}

type state struct {
	i     *Inspector
	left  int64
	found []sanitize.Finding
	names map[string]bool
}

func (s *state) add(construct, loc string) {
	s.found = append(s.found, sanitize.Finding{Construct: construct, Location: loc})
}

// badNames are part-name fragments (lower case) that only active content uses.
var badNames = []struct{ frag, construct string }{
	{"vbaproject", "vbaProject"},
	{"vbadata.xml", "vbaData"},
	{"keymapcustomizations", "keyMapCustomizations"},
	{"activex", "activeX"},
	{"externallink", "externalLink"},
	{"connections.xml", "dataConnection"},
	{"querytable", "dataConnection"},
	{"macrosheets/", "macroSheet"},
	{"customui", "customUI"},
	{"ctrlprops/", "formControl"},
	{"webextension", "webExtension"},
}

var pictureExt = map[string]bool{
	".png": true, ".jpg": true, ".jpeg": true, ".gif": true, ".bmp": true, ".tif": true,
	".tiff": true, ".emf": true, ".wmf": true, ".svg": true, ".wdp": true, ".jfif": true,
}

func (s *state) file(f *zip.File) {
	name := f.Name
	l := strings.ToLower(name)
	if s.names == nil {
		s.names = map[string]bool{}
	}
	if s.names[l] {
		s.add("duplicate part", name)
	}
	s.names[l] = true
	if f.Flags&1 != 0 {
		s.add("encrypted entry", name)
		return
	}
	for _, b := range badNames {
		if strings.Contains(l, b.frag) {
			s.add(b.construct, name)
		}
	}
	if strings.Contains(l, "/embeddings/") && !pictureExt[path.Ext(l)] {
		s.add("embedding", name)
	}
	if strings.HasSuffix(l, ".bin") && !strings.Contains(l, "vbaproject") && !strings.Contains(l, "activex") {
		// OLE objects, printer settings, opaque binaries.
		s.add("binary part", name)
	}
	if !isXMLName(l) {
		return
	}
	data, ok := s.read(f)
	if !ok {
		return
	}
	switch {
	case l == "[content_types].xml":
		s.contentTypes(name, data)
	case strings.HasSuffix(l, ".rels"):
		s.rels(name, data)
	default:
		s.xmlPart(name, data)
	}
}

func isXMLName(l string) bool {
	for _, e := range []string{".xml", ".rels", ".vml"} {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	return false
}

func (s *state) read(f *zip.File) ([]byte, bool) {
	rc, err := f.Open()
	if err != nil {
		s.add("unparseable", f.Name)
		return nil, false
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, s.left+1))
	s.left -= int64(len(b))
	if s.left < 0 {
		s.add("too large to inspect", f.Name)
		return nil, false
	}
	if err != nil {
		s.add("unparseable", f.Name)
		return nil, false
	}
	return b, true
}

var badContentTypes = []string{"macroenabled", "vbaproject", "activex", "oleobject", "externallink",
	"spreadsheetml.connections", "querytable", "macrosheet", "vbadata", "keymapcustomizations"}

func (s *state) contentTypes(name string, data []byte) {
	d := newDecoder(data)
	for {
		t, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			s.add("unparseable", name)
			return
		}
		if se, ok := t.(xml.StartElement); ok {
			ct := strings.ToLower(attrValue(se, "ContentType"))
			for _, b := range badContentTypes {
				if strings.Contains(ct, b) {
					s.add("content type "+b, name+" "+attrValue(se, "PartName")+attrValue(se, "Extension"))
				}
			}
		}
	}
}

// badRelTypes are relationship-type suffixes that only active content uses.
var badRelTypes = []string{"/vbaProject", "/vbaProjectSignature", "/wordVbaData", "/keyMapCustomizations",
	"/activeXControl", "/activeXControlBinary", "/oleObject", "/package", "/externalLink",
	"/externalLinkPath", "/attachedTemplate", "/aFChunk", "/ui/extensibility", "/connections",
	"/queryTable", "/xlMacrosheet", "/xlIntlMacrosheet", "/control", "/attachedToolbars",
	"/webextension", "/webextensiontaskpanes", "/mailMergeSource", "/recipientData", "/ctrlProp"}

func (s *state) rels(name string, data []byte) {
	d := newDecoder(data)
	for {
		t, err := d.Token()
		if err == io.EOF {
			return
		}
		if err != nil {
			s.add("unparseable", name)
			return
		}
		se, ok := t.(xml.StartElement)
		if !ok || se.Name.Local != "Relationship" {
			continue
		}
		typ := attrValue(se, "Type")
		target := attrValue(se, "Target")
		for _, b := range badRelTypes {
			if strings.HasSuffix(typ, b) {
				s.add("relationship "+b[1:], name)
			}
		}
		ext := strings.EqualFold(attrValue(se, "TargetMode"), "External") ||
			strings.Contains(target, ":") || strings.HasPrefix(target, `\\`) || strings.Contains(target, `\`)
		if !ext || target == Placeholder {
			continue
		}
		if s.i.allowHyperlinks && strings.HasSuffix(typ, "/hyperlink") && webURL(target) {
			continue
		}
		s.add("external relationship", name)
	}
}

func webURL(t string) bool {
	l := strings.ToLower(strings.TrimSpace(t))
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "mailto:")
}

// badElements are element local names that carry active content whatever
// their namespace prefix.
var badElements = map[string]string{
	"OLEObject": "oleObject", "oleObj": "oleObject", "oleObject": "oleObject",
	"objectEmbed": "oleObject", "objectLink": "oleObject", "control": "activeX",
	"attachedTemplate": "attachedTemplate", "altChunk": "altChunk",
	"externalReference": "externalLink", "ddeLink": "ddeLink", "oleLink": "oleLink",
	"mailMerge": "dataConnection", "externalData": "embedding",
}

// dangerousKeywords are Word field keywords that fetch, run or embed
// something (ECMA-376 Part 1 §17.16.5).
var dangerousKeywords = map[string]bool{
	"DDE": true, "DDEAUTO": true, "INCLUDETEXT": true, "INCLUDEPICTURE": true, "INCLUDE": true,
	"IMPORT": true, "LINK": true, "EMBED": true, "DATABASE": true, "MACROBUTTON": true,
	"ADDIN": true, "RD": true,
}

type fld struct {
	code   bytes.Buffer
	inCode bool
}

func (s *state) xmlPart(name string, data []byte) {
	d := newDecoder(data)
	var stack []*fld
	inInstr := 0
	for {
		t, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.add("unparseable", name)
			return
		}
		switch tt := t.(type) {
		case xml.Directive:
			s.add("DTD", name)
		case xml.StartElement:
			loc := tt.Name.Local
			if c, ok := badElements[loc]; ok {
				s.add(c, name)
			}
			if isWordField(tt.Name) {
				loc = "w:" + loc
			}
			switch loc {
			case "w:fldSimple":
				s.checkInstr(attrValue(tt, "instr"), name)
			case "hlinkClick", "hlinkHover":
				a := strings.ToLower(attrValue(tt, "action"))
				if strings.HasPrefix(a, "ppaction://program") || strings.HasPrefix(a, "ppaction://macro") ||
					strings.HasPrefix(a, "ppaction://ole") {
					s.add("ppaction", name)
				}
			case "definedName":
				n := strings.ToLower(attrValue(tt, "name"))
				if strings.Contains(n, "auto_open") || strings.Contains(n, "auto_close") {
					s.add("auto macro name", name)
				}
			case "w:fldChar":
				switch attrValue(tt, "fldCharType") {
				case "begin":
					if len(stack) > 0 && stack[len(stack)-1].inCode {
						stack[len(stack)-1].code.WriteString("\x01") // nested field marker
					}
					stack = append(stack, &fld{inCode: true})
				case "separate":
					if len(stack) == 0 {
						s.add("unbalanced field", name)
						continue
					}
					stack[len(stack)-1].inCode = false
				case "end":
					if len(stack) == 0 {
						s.add("unbalanced field", name)
						continue
					}
					f := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					s.checkInstr(f.code.String(), name)
				}
			case "w:instrText", "w:delInstrText":
				inInstr++
			}
		case xml.EndElement:
			if isWordField(tt.Name) && (tt.Name.Local == "instrText" || tt.Name.Local == "delInstrText") {
				inInstr--
			}
		case xml.CharData:
			if inInstr > 0 && len(stack) > 0 && stack[len(stack)-1].code.Len() < 1<<16 {
				stack[len(stack)-1].code.Write(tt)
			}
		}
	}
	if len(stack) > 0 {
		s.add("unbalanced field", name)
	}
}

// checkInstr reports a field code whose keyword is dangerous or computed by
// a nested field (the DDE obfuscation trick).
func (s *state) checkInstr(instr, name string) {
	f := strings.Fields(strings.ReplaceAll(instr, "\x01", " \x01 "))
	if len(f) == 0 {
		return
	}
	kw := strings.ToUpper(f[0])
	if i := strings.IndexAny(kw, `\"`); i >= 0 {
		kw = kw[:i]
	}
	switch {
	case kw == "\x01":
		s.add("field with computed keyword", name)
	case dangerousKeywords[kw]:
		s.add(kw, name)
	case kw == "HYPERLINK" && !s.i.allowHyperlinks:
		s.add("HYPERLINK field", name)
	}
}

func newDecoder(b []byte) *xml.Decoder {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	return d
}

func attrValue(se xml.StartElement, local string) string {
	for _, a := range se.Attr {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// isWordField reports field elements in the WordprocessingML namespace
// (transitional or strict): Word ignores same-named elements elsewhere.
func isWordField(n xml.Name) bool {
	switch n.Local {
	case "fldSimple", "fldChar", "instrText", "delInstrText":
	default:
		return false
	}
	return n.Space == "http://schemas.openxmlformats.org/wordprocessingml/2006/main" ||
		n.Space == "http://purl.oclc.org/ooxml/wordprocessingml/main"
}
