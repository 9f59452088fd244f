package ole

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/internal/soffice"
	"github.com/kyojin/kyojin/sanitize/ooxml"
)

// Sentinel errors.
var (
	// ErrEncrypted is ooxml.ErrEncrypted: the engine holds the file.
	ErrEncrypted = ooxml.ErrEncrypted
	// ErrBlocked: policy says legacy=block.
	ErrBlocked = errors.New("legacy Office document blocked by policy")
	// ErrUnsupported: a compound file that is not a Word, Excel or
	// PowerPoint document (MSI, Outlook .msg, ...).
	ErrUnsupported = errors.New("unsupported OLE2 document")
	// ErrConvert: LibreOffice is missing or could not convert the file.
	ErrConvert = soffice.ErrFailed
	// ErrNoConverter: LibreOffice is not installed.
	ErrNoConverter = soffice.ErrUnavailable
)

// OptLegacy is the policy option: "convert" (default) or "block".
const OptLegacy = "legacy"

// Handler is the sanitize.Handler for OLE2 Word, Excel and PowerPoint files.
type Handler struct {
	log  *slog.Logger
	bin  string
	next sanitize.Handler
}

// Option configures a Handler.
type Option func(*Handler)

// WithSoffice sets the LibreOffice binary (default: soffice on PATH).
func WithSoffice(bin string) Option { return func(h *Handler) { h.bin = bin } }

// New returns a legacy Office handler whose converted output goes through
// the OOXML handler.
func New(log *slog.Logger, opts ...Option) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{log: log, next: ooxml.New(log)}
	for _, o := range opts {
		o(h)
	}
	return h
}

var outExt = map[sanitize.Type]string{sanitize.TypeDOC: "docx", sanitize.TypeXLS: "xlsx", sanitize.TypePPT: "pptx"}

// Sanitize implements sanitize.Handler.
func (h *Handler) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (res *sanitize.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("ole: panic", "name", in.Name, "panic", p)
			res, err = nil, fmt.Errorf("ole: internal error: %w", ErrUnsupported)
		}
	}()
	if in.Limits.MaxInputBytes > 0 && in.Size > in.Limits.MaxInputBytes {
		return nil, fmt.Errorf("ole: input size: %w", ooxml.ErrLimit)
	}
	rep, err := Detect(in.R, in.Size)
	if err != nil {
		return nil, err
	}
	h.log.Info("ole: detected", "name", in.Name, "kind", rep.Kind, "macros", rep.Macros,
		"xlm", rep.Excel4Macros, "objects", rep.Objects, "encrypted", rep.Encrypted)
	if rep.Encrypted {
		return nil, fmt.Errorf("ole: %w", ErrEncrypted)
	}
	ext, ok := outExt[rep.Kind]
	if !ok {
		return nil, fmt.Errorf("ole: %w", ErrUnsupported)
	}
	return Convert(ctx, h.log, h.bin, in, string(rep.Kind), ext, h.next, w, func(r *sanitize.Result) {
		legacyActions(r, rep.Macros, rep.Excel4Macros, rep.Objects)
	})
}

// Convert applies the legacy policy: block, or convert in (named inExt) to
// outExt with LibreOffice and sanitize the result with next. note adds the
// detector's findings to the result. It is shared with the RTF handler.
func Convert(ctx context.Context, log *slog.Logger, bin string, in *sanitize.Input, inExt, outExt string,
	next sanitize.Handler, w io.Writer, note func(*sanitize.Result)) (*sanitize.Result, error) {
	switch mode := in.Option(OptLegacy, "convert"); mode {
	case "block":
		return nil, fmt.Errorf("ole: %s: %w", inExt, ErrBlocked)
	case "convert":
	default:
		return nil, fmt.Errorf("ole: unknown %s option %q: %w", OptLegacy, mode, ErrBlocked)
	}
	conv := &soffice.Converter{Bin: bin, Timeout: in.Limits.Timeout, Log: log}
	res, err := conv.ConvertThen(ctx, in, inExt, outExt, next, w)
	if err != nil {
		return nil, fmt.Errorf("ole: %w", err)
	}
	note(res)
	return res, nil
}

// legacyActions records what the conversion left behind: the OOXML writer
// carries no VBA into a docx/xlsx/pptx, and what it does carry over (objects,
// macro sheets) the OOXML pass removes and records itself.
func legacyActions(r *sanitize.Result, macros, xlm bool, objects int) {
	add := func(object string, n int) {
		r.Actions = append(r.Actions, sanitize.Action{Kind: "removed", Object: object, Count: n,
			Detail: "detected in the original; not carried into the converted document"})
	}
	if macros {
		add("legacy:vbaProject", 1)
	}
	if xlm {
		add("legacy:macroSheet", 1)
	}
	if objects > 0 {
		add("legacy:oleObject", objects)
	}
}
