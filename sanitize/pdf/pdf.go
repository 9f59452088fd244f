// Package pdf is the PDF handler of the sanitization engine (無害化, issue 3
// section 2). Structural mode parses the file with pdfcpu, walks every object
// (including objects stored in compressed object streams) and removes active
// content: JavaScript, additional actions, non-GoTo open actions, Launch,
// SubmitForm, ImportData, GoToR, GoToE, RichMedia, renditions, XFA, embedded
// files, file-attachment annotations and, by policy, URI actions. It then
// writes a new file that holds only the objects still reachable from the
// catalog, so nothing removed survives as an orphan. Raster mode renders every
// page with an external renderer in a confined subprocess and rebuilds an
// image-only PDF.
//
// The MIC guideline (地方公共団体における情報セキュリティポリシーに関するガイドライン)
// requires files that enter the LGWAN zone from the Internet zone to be
// sanitized; this package implements that for PDF documents.
package pdf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"

	"github.com/kyojin/kyojin/sanitize"
)

// Option names read from sanitize.Input.Options.
const (
	// OptMode selects "structural" (default) or "raster".
	OptMode = "mode"
	// OptFallback decides what happens when structural parsing fails:
	// "block" (default) or "raster".
	OptFallback = "fallback"
	// OptKeepURIActions keeps URI actions (links) when "true"; default "false".
	OptKeepURIActions = "keep_uri_actions"
	// OptRasterDPI is the raster resolution in dots per inch (default 100).
	OptRasterDPI = "raster_dpi"
)

// Mode values.
const (
	ModeStructural = "structural"
	ModeRaster     = "raster"
	FallbackBlock  = "block"
	FallbackRaster = "raster"
)

// Sentinel errors. The engine maps ErrEncrypted to HELD and everything else
// to FAILED (which blocks).
var (
	// ErrEncrypted: the PDF needs a password to open.
	ErrEncrypted = fmt.Errorf("pdf: encrypted with a user password: %w", sanitize.ErrEncrypted)
	// ErrParse: the structural parser could not read the file.
	ErrParse = errors.New("pdf: cannot parse")
	// ErrLimit: a limit (size, pages, pixels, decompressed bytes) was exceeded.
	ErrLimit = fmt.Errorf("pdf: %w", sanitize.ErrLimit)
	// ErrRenderer: no renderer is installed or it failed.
	ErrRenderer = errors.New("pdf: renderer failed")
	// ErrPanic: the parser panicked; the input is treated as hostile.
	ErrPanic = errors.New("pdf: parser panic")
	// ErrOption: an option has an unknown value.
	ErrOption = errors.New("pdf: bad option")
)

// Handler sanitizes PDF documents. It is safe for concurrent use.
type Handler struct {
	log *slog.Logger
}

// New returns a PDF handler that logs to log (nil discards).
func New(log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{log: log}
}

var _ sanitize.Handler = (*Handler)(nil)

// Sanitize implements sanitize.Handler.
func (h *Handler) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (res *sanitize.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Warn("pdf handler panic", "name", in.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	if in.Limits.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, in.Limits.Timeout)
		defer cancel()
	}
	if in.Limits.MaxInputBytes > 0 && in.Size > in.Limits.MaxInputBytes {
		return nil, fmt.Errorf("%w: input %d bytes > %d", ErrLimit, in.Size, in.Limits.MaxInputBytes)
	}
	mode := in.Option(OptMode, ModeStructural)
	switch mode {
	case ModeRaster:
		data, err := readAll(in)
		if err != nil {
			return nil, err
		}
		return h.raster(ctx, in, data, w)
	case ModeStructural:
	default:
		return nil, fmt.Errorf("%w: mode %q", ErrOption, mode)
	}
	fallback := in.Option(OptFallback, FallbackBlock)
	if fallback != FallbackBlock && fallback != FallbackRaster {
		return nil, fmt.Errorf("%w: fallback %q", ErrOption, fallback)
	}

	// The output goes straight to w: on error the engine blocks the file
	// and discards whatever was written (the Handler contract). Fallback to
	// raster is only possible while nothing has been written yet.
	cw := &countingWriter{w: w}
	res, err = h.structuralSafe(ctx, in, io.NewSectionReader(in.R, 0, in.Size), cw)
	if err != nil {
		if fallback == FallbackRaster && cw.n == 0 && !errors.Is(err, ErrEncrypted) && ctx.Err() == nil &&
			!errors.Is(err, ErrLimit) {
			h.log.Info("pdf structural mode failed, falling back to raster", "name", in.Name, "err", err)
			data, rerr := readAll(in)
			if rerr != nil {
				return nil, rerr
			}
			return h.raster(ctx, in, data, w)
		}
		return nil, err
	}
	return res, nil
}

func readAll(in *sanitize.Input) ([]byte, error) {
	data := make([]byte, in.Size)
	if n, err := in.R.ReadAt(data, 0); n != len(data) {
		return nil, fmt.Errorf("pdf: read input: short read %d of %d: %w", n, len(data), err)
	}
	return data, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// structuralSafe runs the structural sanitizer and turns a panic inside
// pdfcpu (hostile input) into an error, so the process never crashes.
func (h *Handler) structuralSafe(ctx context.Context, in *sanitize.Input, rs io.ReadSeeker, w io.Writer) (res *sanitize.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Warn("pdf parser panic", "name", in.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			res, err = nil, fmt.Errorf("%w: %v", ErrPanic, p)
		}
	}()
	return structural(ctx, in, rs, w)
}
