// Package sanitize is the content disarm and reconstruction (無害化, CDR)
// engine: it identifies a file's true type, applies the policy for that type,
// runs a handler under limits, verifies the output with an independent
// inspector, scans with clamd, quarantines the original and emits an audit
// record. Handlers for each format live in subpackages and depend only on the
// small types in this file.
package sanitize

import (
	"context"
	"io"
	"time"
)

// Type is a detected content type, named by its usual extension family.
type Type string

const (
	TypeUnknown Type = "unknown"
	TypeText    Type = "text"
	TypeCSV     Type = "csv"
	TypePDF     Type = "pdf"
	TypeDOCX    Type = "docx"
	TypeDOCM    Type = "docm"
	TypeXLSX    Type = "xlsx"
	TypeXLSM    Type = "xlsm"
	TypePPTX    Type = "pptx"
	TypePPTM    Type = "pptm"
	TypeDOC     Type = "doc" // OLE2 Word
	TypeXLS     Type = "xls" // OLE2 Excel
	TypePPT     Type = "ppt" // OLE2 PowerPoint
	TypeRTF     Type = "rtf"
	TypePNG     Type = "png"
	TypeJPEG    Type = "jpeg"
	TypeGIF     Type = "gif"
	TypeBMP     Type = "bmp"
	TypeTIFF    Type = "tiff"
	TypeWebP    Type = "webp"
	TypeZIP     Type = "zip"
	Type7z      Type = "7z"
)

// Limits bound the work a handler may do on one input.
type Limits struct {
	Timeout              time.Duration `yaml:"timeout"`
	MaxInputBytes        int64         `yaml:"max_input_bytes"`
	MaxDecompressedBytes int64         `yaml:"max_decompressed_bytes"`
	MaxCompressionRatio  int64         `yaml:"max_compression_ratio"`
	MaxArchiveDepth      int           `yaml:"max_archive_depth"`
	MaxArchiveEntries    int           `yaml:"max_archive_entries"`
	MaxPages             int           `yaml:"max_pages"`
	MaxImageDimension    int           `yaml:"max_image_dimension"` // width or height, pixels
	MaxImagePixels       int64         `yaml:"max_image_pixels"`    // width*height
}

// Action is one change a handler made, for the audit record.
type Action struct {
	Kind   string `json:"kind"`             // removed, replaced, converted, defanged, re-encoded, normalized, rebuilt
	Object string `json:"object"`           // what was acted on, e.g. "/JavaScript", "word/vbaProject.bin"
	Count  int    `json:"count"`            // how many occurrences
	Detail string `json:"detail,omitempty"` // free text, never file content
}

// Input is one file handed to a handler. R is random-access so that large
// archives need not be held in memory.
type Input struct {
	Name   string
	Type   Type
	R      io.ReaderAt
	Size   int64
	Limits Limits
	// Options carries per-type policy switches, e.g. "keep_uri_actions".
	Options map[string]string
	// Depth is the archive nesting depth of this input (0 = top level).
	Depth int
}

// Option returns the named option or def when unset.
func (in *Input) Option(name, def string) string {
	if v, ok := in.Options[name]; ok {
		return v
	}
	return def
}

// Result is what a handler reports besides the bytes it wrote.
type Result struct {
	// OutType is the type of the output (differs from the input on conversion).
	OutType Type
	Actions []Action
}

// Add records an action, merging with an earlier one of the same kind and object.
func (r *Result) Add(kind, object string, count int) {
	for i := range r.Actions {
		if r.Actions[i].Kind == kind && r.Actions[i].Object == object {
			r.Actions[i].Count += count
			return
		}
	}
	r.Actions = append(r.Actions, Action{Kind: kind, Object: object, Count: count})
}

// Handler rebuilds one input into a safe output written to w. It returns an
// error for anything it cannot handle safely; the engine turns that into a
// FAILED verdict, which blocks the file.
type Handler interface {
	Sanitize(ctx context.Context, in *Input, w io.Writer) (*Result, error)
}

// Finding is an active construct that an inspector found in content.
type Finding struct {
	Construct string `json:"construct"` // e.g. "/JavaScript", "vbaProject", "DDEAUTO"
	Location  string `json:"location"`  // object number, part name, ...
}

// Inspector is the independent checker: separate code from the handlers,
// it re-parses content and lists every forbidden construct left in it.
type Inspector interface {
	Inspect(ctx context.Context, r io.ReaderAt, size int64) ([]Finding, error)
}
