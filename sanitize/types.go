// Package sanitize is the content disarm and reconstruction (無害化, CDR)
// engine: it identifies a file's true type, applies the policy for that type,
// runs a handler under limits, verifies the output with an independent
// inspector, scans with clamd, quarantines the original and emits an audit
// record. Handlers for each format live in subpackages and depend only on the
// small types in this file.
package sanitize

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
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
	// TypeEncryptedOffice is an OOXML package encrypted inside an OLE2
	// container (EncryptionInfo + EncryptedPackage streams).
	TypeEncryptedOffice Type = "office-encrypted"
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
	// Nested runs archive members through the engine; nil outside the engine
	// (archive handlers then fail closed).
	Nested Recurser
	// Budget is shared by nested archives; nil means start one from Limits.
	Budget *Budget
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
	// Partial is set by archive handlers when some members were left out
	// (blocked, held or failed); the verdict is then PARTIAL.
	Partial bool
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

// Verdict is the outcome of the pipeline for one file.
type Verdict string

const (
	VerdictClean     Verdict = "CLEAN"     // delivered; nothing needed removing
	VerdictSanitized Verdict = "SANITIZED" // delivered after removing or defanging content
	VerdictConverted Verdict = "CONVERTED" // delivered in another format
	VerdictHeld      Verdict = "HELD"      // kept back, e.g. encrypted and waiting for a password
	VerdictBlocked   Verdict = "BLOCKED"   // refused by policy, name rules, limits or the virus scan
	VerdictFailed    Verdict = "FAILED"    // the engine could not process it safely; blocks
	VerdictPartial   Verdict = "PARTIAL"   // archive delivered without some members
)

// Delivered reports whether the verdict comes with an output file.
func (v Verdict) Delivered() bool {
	switch v {
	case VerdictClean, VerdictSanitized, VerdictConverted, VerdictPartial:
		return true
	}
	return false
}

// Errors a handler wraps to choose the verdict; any other error is FAILED.
var (
	// ErrEncrypted marks content the handler cannot read without a key
	// (password ZIP, encrypted 7z headers, encrypted Office): HELD.
	ErrEncrypted = errors.New("encrypted content")
	// ErrLimit marks a breached limit (size, ratio, depth, entries, pixels): BLOCKED.
	ErrLimit = errors.New("limit exceeded")
	// ErrRejected marks a hostile structure such as a path-traversal member name: BLOCKED.
	ErrRejected = errors.New("rejected structure")
)

// Member is one archive member handed back to the engine, which runs the
// whole pipeline (detection, name rules, policy, handler, inspector) on it.
type Member struct {
	Name string // path inside the archive, already checked by the archive handler
	R    io.ReaderAt
	Size int64
}

// MemberResult is the engine's answer for one member. When the verdict is
// delivered, R holds the sanitized bytes and Name the output name (its
// extension may differ after a conversion). Close releases the temporary
// output and must always be called.
type MemberResult struct {
	Verdict Verdict
	Reason  string
	Name    string
	R       io.ReaderAt
	Size    int64
	close   func() error
}

// NewMemberResult builds a MemberResult whose Close calls closeFn (may be nil).
func NewMemberResult(v Verdict, reason, name string, r io.ReaderAt, size int64, closeFn func() error) *MemberResult {
	return &MemberResult{Verdict: v, Reason: reason, Name: name, R: r, Size: size, close: closeFn}
}

// Close releases the member's temporary output.
func (m *MemberResult) Close() error {
	if m == nil || m.close == nil {
		return nil
	}
	err := m.close()
	m.close = nil
	return err
}

// Recurser processes archive members through the engine. An error (rather
// than a blocking verdict) means the whole archive must stop, e.g. because
// the shared decompression budget is spent; handlers return it wrapped.
type Recurser interface {
	Member(ctx context.Context, m Member) (*MemberResult, error)
}

// Budget is the decompression allowance shared by an archive and every
// archive nested in it, so that a recursive bomb (42.zip style) cannot
// multiply the per-archive limits. It is safe for concurrent use.
type Budget struct {
	bytes   atomic.Int64
	entries atomic.Int64
}

// NewBudget starts a budget from the limits.
func NewBudget(l Limits) *Budget {
	b := &Budget{}
	b.bytes.Store(l.MaxDecompressedBytes)
	b.entries.Store(int64(l.MaxArchiveEntries))
	return b
}

// TakeBytes spends n decompressed bytes; it wraps ErrLimit once the budget is exhausted.
func (b *Budget) TakeBytes(n int64) error {
	if b.bytes.Add(-n) < 0 {
		return fmt.Errorf("decompressed bytes over the limit: %w", ErrLimit)
	}
	return nil
}

// TakeEntry spends one archive entry; it wraps ErrLimit once the budget is exhausted.
func (b *Budget) TakeEntry() error {
	if b.entries.Add(-1) < 0 {
		return fmt.Errorf("archive entries over the limit: %w", ErrLimit)
	}
	return nil
}

// Exhausted reports whether either allowance is spent.
func (b *Budget) Exhausted() bool { return b.bytes.Load() < 0 || b.entries.Load() < 0 }
