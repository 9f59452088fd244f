// Package ooxml sanitizes Office Open XML packages (docx, xlsx, pptx and
// their macro-enabled, template and slideshow variants) for the CDR engine
// (issue 3 §2 OOXML; MIC guideline clause 3(2): files entering LGWAN from the
// Internet are sanitized first).
//
// The package is rebuilt from an allowlist: starting at the package
// relationships, only relationships of known harmless types that point at
// parts of allowed content types are followed; every part not reached that
// way is left out. VBA projects, ActiveX controls, OLE objects, embedded
// packages, external workbook links, data connections, ribbon customisation
// (customUI, whose callbacks name macros — removed whole) and remote
// templates are removed; external relationship targets are replaced by
// Placeholder; Word field codes outside a keyword allowlist (DDE, DDEAUTO,
// INCLUDETEXT, INCLUDEPICTURE ...) lose their code and keep their displayed
// result; macro-enabled, template and slideshow content types become the
// plain document ones.
//
// Parts that need no change are copied compressed as they are, after being
// fully decompressed once to count their real size and check their CRC, so
// the handler streams and never holds the archive in memory.
package ooxml

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/richardlehane/mscfb"
)

// Sentinel errors. Every error the handler returns blocks the file; these
// let the engine pick the verdict and message.
var (
	// ErrEncrypted: the input is an encrypted Office document (an OLE2
	// container holding EncryptionInfo / EncryptedPackage, [MS-OFFCRYPTO]
	// §2.3.4). The engine holds it until a password is supplied.
	ErrEncrypted = fmt.Errorf("encrypted Office document: %w", sanitize.ErrEncrypted)
	// ErrMalformed: not a readable OOXML package.
	ErrMalformed = errors.New("malformed OOXML package")
	// ErrUnsupported: a well-formed package of a kind this handler does not
	// rebuild (binary workbook, add-in, unknown main part).
	ErrUnsupported = errors.New("unsupported OOXML package")
	// ErrLimit: a limit in sanitize.Limits was exceeded.
	ErrLimit = fmt.Errorf("ooxml: %w", sanitize.ErrLimit)
)

// Handler is the OOXML sanitize.Handler.
type Handler struct {
	log *slog.Logger
}

// New returns an OOXML handler. log receives details that must not reach
// peers (part names, reasons); it may be nil.
func New(log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{log: log}
}

// Options understood in sanitize.Input.Options.
const (
	// OptKeepHyperlinks ("true"/"false", default "false") keeps external
	// hyperlinks whose target is http, https or mailto. Otherwise every
	// external target becomes Placeholder and HYPERLINK field codes are
	// removed (the link text stays).
	OptKeepHyperlinks = "keep_hyperlinks"
)

const (
	maxMetaPart  = 16 << 20 // [Content_Types].xml and .rels parts are read whole
	maxParts     = 100000   // when Limits.MaxArchiveEntries is unset
	defaultLimit = 1 << 30  // decompressed bytes when Limits.MaxDecompressedBytes is unset
)

// Sanitize implements sanitize.Handler.
func (h *Handler) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (res *sanitize.Result, err error) {
	defer func() {
		if r := recover(); r != nil {
			h.log.Error("ooxml: panic", "name", in.Name, "panic", r)
			res, err = nil, fmt.Errorf("ooxml: internal error: %w", ErrMalformed)
		}
	}()
	res, err = h.sanitize(ctx, in, w)
	if err != nil {
		h.log.Info("ooxml: rejected", "name", in.Name, "err", err)
		return nil, err
	}
	return res, nil
}

// budget counts decompressed bytes across the whole package.
type budget struct {
	left int64
}

func (b *budget) take(n int64) error {
	b.left -= n
	if b.left < 0 {
		return fmt.Errorf("ooxml: decompressed size: %w", ErrLimit)
	}
	return nil
}

type pkg struct {
	ctx   context.Context
	in    *sanitize.Input
	zr    *zip.Reader
	files map[string]*zip.File // lower-case name -> entry
	ct    *contentTypes
	bud   *budget
	res   *sanitize.Result
	keepH bool

	keep       map[string]bool            // lower-case part name -> kept
	rels       map[string][]relationship  // lower-case source -> relationships to write
	removedIDs map[string]map[string]bool // lower-case source -> ids of removed relationships
	mainName   string
	main       mainType
	badMain    string // content type of a main part that is not accepted
	extLinks   bool   // external workbook links were removed
}

func (h *Handler) sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error) {
	if in.Limits.MaxInputBytes > 0 && in.Size > in.Limits.MaxInputBytes {
		return nil, fmt.Errorf("ooxml: input size: %w", ErrLimit)
	}
	if err := checkCFB(in.R, in.Size); err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(in.R, in.Size)
	if err != nil {
		return nil, fmt.Errorf("ooxml: %w: %v", ErrMalformed, err)
	}
	limit := in.Limits.MaxDecompressedBytes
	if limit <= 0 {
		limit = defaultLimit
	}
	p := &pkg{ctx: ctx, in: in, zr: zr, bud: &budget{left: limit}, res: &sanitize.Result{},
		keepH: in.Option(OptKeepHyperlinks, "false") == "true"}
	if err := p.index(); err != nil {
		return nil, err
	}
	if err := p.walk(); err != nil {
		return nil, err
	}
	if err := p.write(w); err != nil {
		return nil, err
	}
	p.res.OutType = p.main.out
	p.res.Add("rebuilt", "package", 1)
	return p.res, nil
}

// checkCFB recognises encrypted OOXML, which is an OLE2 compound file
// holding EncryptionInfo and EncryptedPackage streams ([MS-OFFCRYPTO] §2.3.4).
func checkCFB(r io.ReaderAt, size int64) error {
	var magic [8]byte
	if size < 8 {
		return fmt.Errorf("ooxml: %w: too short", ErrMalformed)
	}
	if _, err := r.ReadAt(magic[:], 0); err != nil {
		return fmt.Errorf("ooxml: %w: %v", ErrMalformed, err)
	}
	if !bytes.Equal(magic[:], []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}) {
		return nil
	}
	doc, err := mscfb.New(io.NewSectionReader(r, 0, size))
	if err != nil {
		return fmt.Errorf("ooxml: %w: OLE2 container: %v", ErrMalformed, err)
	}
	for _, f := range doc.File {
		if f.Name == "EncryptionInfo" || f.Name == "EncryptedPackage" {
			return fmt.Errorf("ooxml: %w", ErrEncrypted)
		}
	}
	return fmt.Errorf("ooxml: %w: OLE2 container, not a package", ErrMalformed)
}

// index validates the zip directory: names, duplicates, encryption, methods.
func (p *pkg) index() error {
	maxEntries := p.in.Limits.MaxArchiveEntries
	if maxEntries <= 0 {
		maxEntries = maxParts
	}
	if len(p.zr.File) > maxEntries {
		return fmt.Errorf("ooxml: %d parts: %w", len(p.zr.File), ErrLimit)
	}
	p.files = make(map[string]*zip.File, len(p.zr.File))
	for _, f := range p.zr.File {
		name := f.Name
		if !utf8.ValidString(name) || name == "" || strings.HasPrefix(name, "/") || strings.ContainsAny(name, "\\\x00") ||
			path.Clean(name) != strings.TrimSuffix(name, "/") || strings.HasPrefix(name, "../") {
			return fmt.Errorf("ooxml: %w: invalid part name", ErrMalformed)
		}
		if f.Flags&0x1 != 0 {
			return fmt.Errorf("ooxml: %w: encrypted zip entry", ErrMalformed)
		}
		if f.Method != zip.Store && f.Method != zip.Deflate {
			return fmt.Errorf("ooxml: %w: compression method %d", ErrMalformed, f.Method)
		}
		if strings.HasSuffix(name, "/") {
			continue // directory entries are not parts
		}
		l := strings.ToLower(name)
		if _, dup := p.files[l]; dup {
			// OPC part names are case-insensitive (ECMA-376 Part 2 §9.1.1.1.2);
			// two entries for one part would let a reader pick either.
			return fmt.Errorf("ooxml: %w: duplicate part", ErrMalformed)
		}
		p.files[l] = f
	}
	ctf := p.files["[content_types].xml"]
	if ctf == nil {
		return fmt.Errorf("ooxml: %w: no [Content_Types].xml", ErrMalformed)
	}
	b, err := p.readSmall(ctf)
	if err != nil {
		return err
	}
	if p.ct, err = parseContentTypes(b); err != nil {
		return fmt.Errorf("ooxml: %w: %v", ErrMalformed, err)
	}
	return nil
}

// readSmall reads a metadata part whole, counting it against the budget.
func (p *pkg) readSmall(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > maxMetaPart {
		return nil, fmt.Errorf("ooxml: metadata part too large: %w", ErrLimit)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("ooxml: %w: %v", ErrMalformed, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxMetaPart+1))
	if err != nil {
		return nil, fmt.Errorf("ooxml: %w: %v", ErrMalformed, err)
	}
	if len(b) > maxMetaPart {
		return nil, fmt.Errorf("ooxml: metadata part too large: %w", ErrLimit)
	}
	if err := p.bud.take(int64(len(b))); err != nil {
		return nil, err
	}
	return b, nil
}

// walk follows relationships from the package root and decides every part
// and relationship.
func (p *pkg) walk() error {
	p.keep = map[string]bool{}
	p.rels = map[string][]relationship{}
	p.removedIDs = map[string]map[string]bool{}
	queue := []string{""}
	seen := map[string]bool{"": true}
	for len(queue) > 0 {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		src := queue[0]
		queue = queue[1:]
		rf := p.files[strings.ToLower(relsPartFor(src))]
		if rf == nil {
			continue
		}
		b, err := p.readSmall(rf)
		if err != nil {
			return err
		}
		rels, err := parseRels(b)
		if err != nil {
			return fmt.Errorf("ooxml: %w: relationships: %v", ErrMalformed, err)
		}
		var out []relationship
		removed := map[string]bool{}
		for _, r := range rels {
			kept, target, ok := p.decide(src, r)
			if !ok {
				removed[r.ID] = true
				continue
			}
			out = append(out, kept)
			if target != "" && !seen[strings.ToLower(target)] {
				seen[strings.ToLower(target)] = true
				p.keep[strings.ToLower(target)] = true
				queue = append(queue, target)
			}
		}
		ls := strings.ToLower(src)
		p.rels[ls] = out
		p.removedIDs[ls] = removed
	}
	if p.mainName == "" {
		if p.badMain != "" {
			return fmt.Errorf("ooxml: %w: main part type %q", ErrUnsupported, p.badMain)
		}
		return fmt.Errorf("ooxml: %w: no main document part", ErrUnsupported)
	}
	unref := 0
	for l := range p.files {
		if l == "[content_types].xml" || p.keep[l] {
			continue
		}
		if src, ok := sourceOfRels(l); ok && (src == "" || p.keep[strings.ToLower(src)]) {
			continue
		}
		unref++
	}
	if unref > 0 {
		p.res.Add("removed", "unreferenced part", unref)
	}
	return nil
}

// decide returns the relationship to write (possibly with a new target), the
// internal part it leads to ("" for none) and ok=false when it is removed.
func (p *pkg) decide(src string, r relationship) (relationship, string, bool) {
	rule := ruleFor(r.Type)
	if !rule.allow {
		if rule.construct == "externalLink" {
			p.extLinks = true
		}
		p.res.Add("removed", rule.construct, 1)
		return r, "", false
	}
	if strings.EqualFold(r.TargetMode, "External") || looksExternal(r.Target) {
		if isHyperlinkRel(r.Type) && p.keepH && safeURL(r.Target) {
			return relationship{ID: r.ID, Type: r.Type, Target: r.Target, TargetMode: "External"}, "", true
		}
		if r.Target == Placeholder {
			return relationship{ID: r.ID, Type: r.Type, Target: Placeholder, TargetMode: "External"}, "", true
		}
		if isHyperlinkRel(r.Type) {
			p.res.Add("replaced", "external hyperlink", 1)
		} else {
			p.res.Add("replaced", "external relationship", 1)
		}
		return relationship{ID: r.ID, Type: r.Type, Target: Placeholder, TargetMode: "External"}, "", true
	}
	target, ok := resolveTarget(src, r.Target)
	if !ok {
		p.res.Add("removed", "invalid relationship", 1)
		return r, "", false
	}
	lt := strings.ToLower(target)
	if p.files[lt] == nil {
		// Dangling internal reference: harmless, keep it so that the XML
		// that names its id stays consistent.
		return relationship{ID: r.ID, Type: r.Type, Target: r.Target}, "", true
	}
	ct := p.ct.of(target)
	if src == "" && strings.HasSuffix(r.Type, "/officeDocument") {
		mt, ok := mainTypes[strings.ToLower(ct)]
		if !ok || p.mainName != "" {
			p.badMain = ct
			return r, "", false
		}
		p.mainName, p.main = lt, mt
		return relationship{ID: r.ID, Type: r.Type, Target: r.Target}, target, true
	}
	if lt == p.mainName {
		return relationship{ID: r.ID, Type: r.Type, Target: r.Target}, "", true
	}
	if c := checkCT(ct); c != "" {
		if c == "externalLink" {
			p.extLinks = true
		}
		p.res.Add("removed", c, 1)
		return r, "", false
	}
	return relationship{ID: r.ID, Type: r.Type, Target: r.Target}, target, true
}

// write emits the rebuilt package.
func (p *pkg) write(w io.Writer) error {
	zw := zip.NewWriter(w)
	var buf bytes.Buffer

	// [Content_Types].xml: allowed defaults, overrides of kept parts.
	var defs []ctDefault
	seenExt := map[string]bool{}
	for _, d := range p.ct.Defaults {
		l := strings.ToLower(d.Ext)
		if seenExt[l] || checkCT(d.CT) != "" && !strings.EqualFold(d.CT, "application/vnd.openxmlformats-package.relationships+xml") {
			continue
		}
		seenExt[l] = true
		defs = append(defs, d)
	}
	if !seenExt["rels"] {
		defs = append(defs, ctDefault{Ext: "rels", CT: "application/vnd.openxmlformats-package.relationships+xml"})
	}
	var ovrs []ctOverride
	for _, f := range p.zr.File {
		l := strings.ToLower(f.Name)
		if !p.keep[l] {
			continue
		}
		ct, ok := p.ct.ovr[l]
		if l == p.mainName {
			ct, ok = p.main.plainCT, true
		}
		if ok {
			ovrs = append(ovrs, ctOverride{Part: "/" + f.Name, CT: ct})
		}
	}
	if p.main.macro {
		p.res.Add("converted", "macro-enabled content type", 1)
	} else if p.main.other {
		p.res.Add("converted", "template/slideshow content type", 1)
	}
	writeContentTypes(&buf, defs, ovrs)
	if err := writeBytes(zw, "[Content_Types].xml", buf.Bytes()); err != nil {
		return err
	}

	for _, f := range p.zr.File {
		if err := p.ctx.Err(); err != nil {
			return err
		}
		l := strings.ToLower(f.Name)
		if src, ok := sourceOfRels(l); ok {
			if src != "" && !p.keep[src] {
				continue
			}
			if _, done := p.rels[src]; !done {
				continue // rels of a part whose rels were never read
			}
			buf.Reset()
			writeRels(&buf, p.rels[src])
			if err := writeBytes(zw, f.Name, buf.Bytes()); err != nil {
				return err
			}
			continue
		}
		if !p.keep[l] {
			continue
		}
		if err := p.copyPart(zw, f); err != nil {
			return err
		}
	}
	return zw.Close()
}

func writeBytes(zw *zip.Writer, name string, b []byte) error {
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
	if err != nil {
		return err
	}
	_, err = fw.Write(b)
	return err
}

// copyPart verifies a part (real size, CRC, budget), edits it if its kind
// needs it and copies it otherwise compressed as it was.
func (p *pkg) copyPart(zw *zip.Writer, f *zip.File) error {
	l := strings.ToLower(f.Name)
	kind := kindOf(p.ct.of(f.Name), l == p.mainName)
	trig, scanAll := triggers[kind]
	scanAll = scanAll && trig == nil && kind != kindOther
	if kind == kindSheet && p.extLinks {
		// Formulas may name the removed links ([1]Sheet1!A1).
		trig = append(slices.Clip(trig), "[")
	}
	hit, head, size, err := p.verify(f, trig, kind != kindOther)
	if err != nil {
		return err
	}
	if ct := strings.ToLower(p.ct.of(f.Name)); strings.HasPrefix(ct, "image/") && !pictureMagic(head) {
		// A part that claims to be a picture but is not one (an OLE
		// storage or an executable under an image content type) is
		// replaced by a blank picture: the reference stays valid.
		p.res.Add("replaced", "mislabelled picture", 1)
		return writeBytes(zw, f.Name, blankPNG)
	}
	if kind != kindOther && (hit || scanAll) {
		spans, err := p.scan(f, kind, size)
		if err != nil {
			return fmt.Errorf("ooxml: %w: part %s: %v", ErrMalformed, f.Name, err)
		}
		if len(spans) > 0 {
			return p.rewrite(zw, f, spans, size)
		}
	}
	return rawCopy(zw, f, size)
}

// verify decompresses the part once, counting real bytes against the budget
// (the sizes in the zip directory are attacker-controlled), checking the CRC
// and looking for trigger strings.
func (p *pkg) verify(f *zip.File, trig []string, xmlPart bool) (hit bool, head []byte, size int64, err error) {
	rc, err := f.Open()
	if err != nil {
		return false, nil, 0, fmt.Errorf("ooxml: %w: %v", ErrMalformed, err)
	}
	defer rc.Close()
	buf := make([]byte, 64<<10)
	keep := 0 // bytes carried over so that a trigger split across reads is seen
	crc := crc32.NewIEEE()
	zeros := 0
	for {
		n, rerr := rc.Read(buf[keep:])
		if n > 0 && size == 0 && xmlPart {
			if err := checkEncoding(buf[:n]); err != nil {
				return false, nil, 0, fmt.Errorf("ooxml: part %s: %w", f.Name, err)
			}
		}
		if n == 0 && rerr == nil {
			if zeros++; zeros > 100 {
				return false, nil, 0, fmt.Errorf("ooxml: %w: part %s: reader makes no progress", ErrMalformed, f.Name)
			}
		}
		if n > 0 {
			if len(head) < 64 {
				head = append(head, buf[keep:keep+min(n, 64-len(head))]...)
			}
			size += int64(n)
			crc.Write(buf[keep : keep+n])
			if err := p.bud.take(int64(n)); err != nil {
				return false, nil, 0, err
			}
			if !hit {
				for _, t := range trig {
					if bytes.Contains(buf[:keep+n], []byte(t)) {
						hit = true
						break
					}
				}
			}
			total := keep + n
			keep = min(total, 32)
			copy(buf, buf[total-keep:total])
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return false, nil, 0, fmt.Errorf("ooxml: %w: part %s: %v", ErrMalformed, f.Name, rerr)
		}
		if err := p.ctx.Err(); err != nil {
			return false, nil, 0, err
		}
	}
	if crc.Sum32() != f.CRC32 || uint64(size) != f.UncompressedSize64 {
		return false, nil, 0, fmt.Errorf("ooxml: %w: part %s: checksum or size mismatch", ErrMalformed, f.Name)
	}
	return hit, head, size, nil
}

func (p *pkg) scan(f *zip.File, kind partKind, size int64) ([]span, error) {
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	s := newScanner(io.LimitReader(rc, size), kind, p.removedIDs[strings.ToLower(f.Name)], p.keepH, p.res)
	s.extLinks = p.extLinks
	return s.run()
}

func (p *pkg) rewrite(zw *zip.Writer, f *zip.File, spans []span, size int64) error {
	rc, err := f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
	if err != nil {
		return err
	}
	if err := applyEdits(fw, io.LimitReader(rc, size), spans); err != nil {
		return fmt.Errorf("ooxml: %w: part %s: %v", ErrMalformed, f.Name, err)
	}
	return nil
}

// rawCopy writes the verified compressed bytes unchanged under a fresh header
// (no extra fields, no comment).
func rawCopy(zw *zip.Writer, f *zip.File, size int64) error {
	raw, err := f.OpenRaw()
	if err != nil {
		return err
	}
	fw, err := zw.CreateRaw(&zip.FileHeader{
		Name: f.Name, Method: f.Method, Modified: f.Modified, CRC32: f.CRC32,
		CompressedSize64: f.CompressedSize64, UncompressedSize64: uint64(size),
	})
	if err != nil {
		return err
	}
	_, err = io.CopyN(fw, raw, int64(f.CompressedSize64))
	return err
}

// checkEncoding refuses XML parts that are not UTF-8. The trigger search
// and the editor work on UTF-8 bytes; a UTF-16 part would hide its element
// names from both (OPC permits UTF-16, ECMA-376 Part 2 §8.1.4, so Office
// would read it).
func checkEncoding(head []byte) error {
	h := head[:min(len(head), 256)]
	if bytes.HasPrefix(h, []byte{0xFE, 0xFF}) || bytes.HasPrefix(h, []byte{0xFF, 0xFE}) || bytes.IndexByte(h, 0) >= 0 {
		return fmt.Errorf("%w: XML part not in UTF-8", ErrUnsupported)
	}
	if i := bytes.Index(h, []byte("encoding=")); i >= 0 && bytes.HasPrefix(h, []byte("<?xml")) {
		v := strings.ToLower(string(h[i+len("encoding="):]))
		v = strings.TrimLeft(v, "\"'")
		if !strings.HasPrefix(v, "utf-8") && !strings.HasPrefix(v, "utf8") {
			return fmt.Errorf("%w: XML part not in UTF-8", ErrUnsupported)
		}
	}
	return nil
}

// blankPNG is a 1×1 transparent PNG.
var blankPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
	"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82")

// pictureMagic recognises the picture formats Office stores: PNG, JPEG,
// GIF, BMP, TIFF, EMF, WMF (placeable or not), JPEG XR (wdp), ICO and SVG.
func pictureMagic(h []byte) bool {
	for _, m := range [][]byte{{0x89, 'P', 'N', 'G'}, {0xFF, 0xD8, 0xFF}, []byte("GIF8"), []byte("BM"),
		{'I', 'I', '*', 0}, {'M', 'M', 0, '*'}, {0xD7, 0xCD, 0xC6, 0x9A}, {1, 0, 9, 0}, {2, 0, 9, 0},
		{'I', 'I', 0xBC}, {0, 0, 1, 0}} {
		if bytes.HasPrefix(h, m) {
			return true
		}
	}
	if len(h) >= 44 && bytes.HasPrefix(h, []byte{1, 0, 0, 0}) && string(h[40:44]) == " EMF" {
		return true
	}
	t := bytes.TrimLeft(bytes.TrimPrefix(h, []byte{0xEF, 0xBB, 0xBF}), " \t\r\n")
	return bytes.HasPrefix(t, []byte("<svg")) || bytes.HasPrefix(t, []byte("<?xml"))
}
