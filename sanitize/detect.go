package sanitize

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"io"
	"strings"

	"github.com/richardlehane/mscfb"
)

// Detection is what the content says about itself, independent of its name.
type Detection struct {
	Type Type `json:"type"`
	// Charset is set for text and CSV: utf-8, utf-8-bom, shift_jis, euc-jp, iso-2022-jp.
	Charset Charset `json:"charset,omitempty"`
	// Also lists further types the bytes are valid as (a polyglot).
	Also []Type `json:"also,omitempty"`
	// Detail explains an unknown or surprising result; never file content.
	Detail string `json:"detail,omitempty"`
}

// sniffLen is how much of the head is read for magic numbers and the text test.
const sniffLen = 64 << 10

// Detect identifies the true type of content from magic numbers and a
// structural probe. The claimed name and MIME type are only used to tell
// CSV from other text, which content alone cannot; every other decision is
// content-only, and CheckName compares the claims afterwards.
func Detect(r io.ReaderAt, size int64, claimedName, claimedMIME string) Detection {
	head := make([]byte, min(size, sniffLen))
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	d := detectPrimary(r, size, head, claimedName, claimedMIME)
	d.Also = secondary(r, size, head, d.Type)
	return d
}

func detectPrimary(r io.ReaderAt, size int64, head []byte, name, mimeType string) Detection {
	switch {
	case len(head) == 0:
		return Detection{Type: TypeUnknown, Detail: "empty"}
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return Detection{Type: TypePNG}
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return Detection{Type: TypeJPEG}
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return Detection{Type: TypeGIF}
	case isBMP(head, size):
		return Detection{Type: TypeBMP}
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return Detection{Type: TypeTIFF}
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		return Detection{Type: TypeWebP}
	case bytes.HasPrefix(head, []byte("7z\xBC\xAF\x27\x1C")):
		return Detection{Type: Type7z}
	case bytes.HasPrefix(head, []byte("PK\x03\x04")), bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return probeZIP(r, size)
	case bytes.HasPrefix(head, []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}):
		return probeOLE(r)
	case bytes.HasPrefix(head, []byte(`{\rt`)):
		// Word opens anything starting with {\rt as RTF, so this is the
		// signature to match, not the full {\rtf1.
		return Detection{Type: TypeRTF}
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")):
		// Readers accept the header anywhere in the first 1024 bytes
		// (ISO 32000-1 Annex H.3 note 2 practice), so we do too.
		return Detection{Type: TypePDF}
	}
	cs := DetectCharset(head, int64(len(head)) < size)
	if cs == CharsetBinary {
		return Detection{Type: TypeUnknown, Detail: "binary"}
	}
	ext, _ := splitExt(name)
	if ext == "csv" || strings.Contains(strings.ToLower(mimeType), "csv") {
		return Detection{Type: TypeCSV, Charset: cs}
	}
	return Detection{Type: TypeText, Charset: cs}
}

// isBMP checks the BITMAPFILEHEADER: "BM", a file size not beyond the
// content, and a known DIB header size, so that text starting with "BM"
// is not taken for an image.
func isBMP(head []byte, size int64) bool {
	if len(head) < 18 || !bytes.HasPrefix(head, []byte("BM")) {
		return false
	}
	off := binary.LittleEndian.Uint32(head[10:14])
	dib := binary.LittleEndian.Uint32(head[14:18])
	switch dib {
	case 12, 40, 52, 56, 64, 108, 124:
	default:
		return false
	}
	return int64(off) <= size
}

// OOXML main-part content types (ECMA-376 Part 1 §11–13 and the MS-OFFMACRO
// macro-enabled variants) mapped to our types. Anything else in a ZIP with
// [Content_Types].xml (add-ins, xlsb, ODF) stays unknown and is blocked.
var ooxmlMain = map[string]Type{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":   TypeDOCX,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml":   TypeDOCX,
	"application/vnd.ms-word.document.macroenabled.main+xml":                             TypeDOCM,
	"application/vnd.ms-word.template.macroenabledtemplate.main+xml":                     TypeDOCM,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":         TypeXLSX,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml":      TypeXLSX,
	"application/vnd.ms-excel.sheet.macroenabled.main+xml":                               TypeXLSM,
	"application/vnd.ms-excel.template.macroenabled.main+xml":                            TypeXLSM,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": TypePPTX,
	"application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml":    TypePPTX,
	"application/vnd.openxmlformats-officedocument.presentationml.template.main+xml":     TypePPTX,
	"application/vnd.ms-powerpoint.presentation.macroenabled.main+xml":                   TypePPTM,
	"application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml":                      TypePPTM,
	"application/vnd.ms-powerpoint.template.macroenabled.main+xml":                       TypePPTM,
}

// maxContentTypesBytes caps how much of [Content_Types].xml the probe reads.
const maxContentTypesBytes = 1 << 20

// probeZIP tells OOXML packages from plain ZIP archives by the main part
// content type declared in [Content_Types].xml (ECMA-376 Part 2 §10.1.2).
func probeZIP(r io.ReaderAt, size int64) Detection {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return Detection{Type: TypeUnknown, Detail: "zip: unreadable central directory"}
	}
	for _, f := range zr.File {
		if f.Name != "[Content_Types].xml" {
			continue
		}
		if f.Flags&1 != 0 {
			return Detection{Type: TypeZIP}
		}
		rc, err := f.Open()
		if err != nil {
			return Detection{Type: TypeUnknown, Detail: "ooxml: unreadable [Content_Types].xml"}
		}
		t, detail := ooxmlType(io.LimitReader(rc, maxContentTypesBytes))
		rc.Close()
		return Detection{Type: t, Detail: detail}
	}
	return Detection{Type: TypeZIP}
}

func ooxmlType(r io.Reader) (Type, string) {
	dec := xml.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err != nil {
			return TypeUnknown, "ooxml: no known main part content type"
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "Override" && se.Name.Local != "Default" {
			continue
		}
		for _, a := range se.Attr {
			if a.Name.Local == "ContentType" {
				if t, ok := ooxmlMain[strings.ToLower(a.Value)]; ok {
					return t, ""
				}
			}
		}
	}
}

// probeOLE names the legacy Office format by its main stream (MS-DOC
// "WordDocument", MS-XLS "Workbook"/"Book", MS-PPT "PowerPoint Document")
// and recognises encrypted OOXML ("EncryptedPackage", MS-OFFCRYPTO §2.3.4).
func probeOLE(r io.ReaderAt) (d Detection) {
	defer func() {
		// mscfb parses hostile sector chains; a panic there must not escape.
		if recover() != nil {
			d = Detection{Type: TypeUnknown, Detail: "ole2: malformed"}
		}
	}()
	doc, err := mscfb.New(r)
	if err != nil {
		return Detection{Type: TypeUnknown, Detail: "ole2: malformed"}
	}
	found := map[string]bool{}
	for i := 0; i < 100000; i++ {
		e, err := doc.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return Detection{Type: TypeUnknown, Detail: "ole2: malformed directory"}
			}
			break
		}
		if len(e.Path) == 0 {
			found[e.Name] = true
		}
	}
	switch {
	case found["EncryptedPackage"]:
		return Detection{Type: TypeEncryptedOffice}
	case found["WordDocument"]:
		return Detection{Type: TypeDOC}
	case found["Workbook"], found["Book"]:
		return Detection{Type: TypeXLS}
	case found["PowerPoint Document"]:
		return Detection{Type: TypePPT}
	}
	return Detection{Type: TypeUnknown, Detail: "ole2: not a Word, Excel or PowerPoint file"}
}

// secondary looks for a second valid interpretation of the same bytes: a
// PDF header inside something else, or a ZIP central directory appended to
// a non-ZIP file (the classic GIFAR / PDF+ZIP polyglots).
func secondary(r io.ReaderAt, size int64, head []byte, primary Type) []Type {
	var also []Type
	if primary != TypePDF && bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")) {
		also = append(also, TypePDF)
	}
	switch primary {
	case TypeZIP, TypeDOCX, TypeDOCM, TypeXLSX, TypeXLSM, TypePPTX, TypePPTM:
		return also
	case TypeDOC, TypeXLS, TypePPT, TypeEncryptedOffice:
		// OLE2 files routinely embed OOXML packages (embedded objects),
		// whose central directory then sits near the end of the file; the
		// Office handlers deal with embeddings, so this is not a polyglot.
		return also
	}
	if primary == TypeUnknown && len(also) == 0 {
		return nil
	}
	tail := make([]byte, min(size, 66000))
	n, _ := r.ReadAt(tail, size-int64(len(tail)))
	if i := bytes.LastIndex(tail[:n], []byte("PK\x05\x06")); i >= 0 {
		if _, err := zip.NewReader(r, size); err == nil {
			also = append(also, TypeZIP)
		}
	}
	return also
}
