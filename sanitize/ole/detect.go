// Package ole handles legacy Office documents in OLE2 compound files (Word
// 97-2003 .doc, Excel 97-2003 .xls, PowerPoint 97-2003 .ppt) for the CDR
// engine (issue 3 §2 Legacy OLE2): it detects macros, Excel 4.0 macro
// sheets, embedded objects and encryption, then — by policy — converts the
// document to OOXML with a sandboxed LibreOffice and sanitizes the result
// with the OOXML handler, or blocks it. Encrypted documents are held
// (ErrEncrypted) because nothing inside them can be checked.
package ole

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/richardlehane/mscfb"
)

// Report is what Detect found in a compound file.
type Report struct {
	Kind         sanitize.Type // TypeDOC, TypeXLS, TypePPT, or TypeUnknown
	Encrypted    bool
	Macros       bool // a VBA project storage
	Excel4Macros bool // an Excel 4.0 (XLM) macro sheet
	Objects      int  // embedded or linked OLE objects
}

// ErrNotOLE means the input is not an OLE2 compound file.
var ErrNotOLE = errors.New("not an OLE2 compound file")

var cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

const maxStream = 256 << 20 // largest stream read whole (PowerPoint Document)

// Detect parses the compound file and reports what it holds. Malformed input
// returns an error; a panic in the parser is turned into one.
func Detect(r io.ReaderAt, size int64) (rep *Report, err error) {
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, fmt.Errorf("ole: %w: parser panic", ErrNotOLE)
		}
	}()
	return detect(r, size)
}

func detect(r io.ReaderAt, size int64) (rep *Report, err error) {
	var magic [8]byte
	if size < 512 {
		return nil, fmt.Errorf("ole: %w: too short", ErrNotOLE)
	}
	if _, err := r.ReadAt(magic[:], 0); err != nil || !bytes.Equal(magic[:], cfbMagic) {
		return nil, fmt.Errorf("ole: %w", ErrNotOLE)
	}
	doc, err := mscfb.New(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("ole: %w: %v", ErrNotOLE, err)
	}
	rep = &Report{Kind: sanitize.TypeUnknown}
	for _, f := range doc.File {
		parent := ""
		if len(f.Path) > 0 {
			parent = f.Path[len(f.Path)-1]
		}
		isDir := f.FileInfo().IsDir()
		switch {
		case f.Name == "EncryptionInfo" || f.Name == "EncryptedPackage" || f.Name == "EncryptedSummary":
			// [MS-OFFCRYPTO] §2.3.4 (encrypted OOXML), §2.3.5.x (PowerPoint).
			rep.Encrypted = true
		case f.Name == "_VBA_PROJECT_CUR" || f.Name == "_VBA_PROJECT" || f.Name == "Macros" && len(f.Path) == 0 ||
			isDir && f.Name == "VBA":
			// [MS-OVBA] §2.2: the VBA storage; Word keeps it under Macros,
			// Excel under _VBA_PROJECT_CUR.
			rep.Macros = true
		case isDir && parent == "ObjectPool", isDir && len(f.Path) == 0 && strings.HasPrefix(f.Name, "MBD"):
			// Word's ObjectPool children and Excel's MBDxxxxxxxx storages
			// are embedded objects ([MS-DOC] §2.1.6, [MS-XLS] §2.1.7.x).
			rep.Objects++
		}
		if len(f.Path) != 0 || isDir {
			continue
		}
		switch f.Name {
		case "WordDocument":
			rep.Kind = sanitize.TypeDOC
			if err := wordFIB(f, rep); err != nil {
				return nil, err
			}
		case "Workbook", "Book":
			rep.Kind = sanitize.TypeXLS
			if err := excelGlobals(f, rep); err != nil {
				return nil, err
			}
		case "PowerPoint Document":
			rep.Kind = sanitize.TypePPT
			b, err := io.ReadAll(io.LimitReader(f, maxStream))
			if err != nil {
				return nil, fmt.Errorf("ole: %w: %v", ErrNotOLE, err)
			}
			pptRecords(b, 0, rep)
		}
	}
	return rep, nil
}

// wordFIB reads the FibBase flags ([MS-DOC] §2.5.2): fEncrypted is bit 8.
func wordFIB(f io.Reader, rep *Report) error {
	var fib [12]byte
	if _, err := io.ReadFull(f, fib[:]); err != nil {
		return fmt.Errorf("ole: %w: short FIB", ErrNotOLE)
	}
	if binary.LittleEndian.Uint16(fib[0:]) != 0xA5EC {
		return fmt.Errorf("ole: %w: bad FIB identifier", ErrNotOLE)
	}
	if binary.LittleEndian.Uint16(fib[10:])&0x0100 != 0 {
		rep.Encrypted = true
	}
	return nil
}

// excelGlobals walks the BIFF records of the workbook globals substream
// ([MS-XLS] §2.1.4): FILEPASS (0x002F) means encrypted; BOUNDSHEET (0x0085)
// with dt = 1 is an Excel 4.0 macro sheet, dt = 6 a VBA module sheet.
func excelGlobals(f io.Reader, rep *Report) error {
	br := bufio.NewReader(io.LimitReader(f, maxStream))
	var hdr [4]byte
	for i := 0; i < 1<<20; i++ {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if i == 0 {
				return fmt.Errorf("ole: %w: empty workbook stream", ErrNotOLE)
			}
			return nil // truncated after the globals we care about
		}
		typ := binary.LittleEndian.Uint16(hdr[0:])
		n := int(binary.LittleEndian.Uint16(hdr[2:]))
		data := make([]byte, n)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil
		}
		switch typ {
		case 0x002F:
			rep.Encrypted = true
		case 0x0085:
			if n >= 6 && (data[5] == 0x01 || data[5] == 0x06) {
				rep.Excel4Macros = rep.Excel4Macros || data[5] == 0x01
				rep.Macros = rep.Macros || data[5] == 0x06
			}
		case 0x000A: // EOF of the globals substream
			return nil
		}
	}
	return nil
}

// pptRecords walks PowerPoint records ([MS-PPT] §2.3.1 RecordHeader),
// descending into containers (recVer 0xF).
func pptRecords(b []byte, depth int, rep *Report) {
	for off := 0; off+8 <= len(b); {
		verInst := binary.LittleEndian.Uint16(b[off:])
		typ := binary.LittleEndian.Uint16(b[off+2:])
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		end := off + 8 + n
		if n < 0 || end > len(b) || end < off {
			end = len(b)
		}
		switch typ {
		case 0x03FF: // VBAInfoContainer
			rep.Macros = true
		case 0x1011: // ExOleObjStg: an embedded object's storage
			rep.Objects++
		case 0x0FCE: // ExOleLinkContainer: a linked object
			rep.Objects++
		case 0x2F14: // CryptSession10Container
			rep.Encrypted = true
		}
		if verInst&0x000F == 0x000F && depth < 16 {
			pptRecords(b[off+8:end], depth+1, rep)
		}
		off = end
	}
}
