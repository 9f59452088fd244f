// Package rtf handles Rich Text Format documents for the CDR engine (issue 3
// §2 Legacy OLE2/RTF): it detects embedded and linked OLE objects (\object,
// \objdata, \objlink, \objupdate), field instructions (\fldinst with DDE,
// INCLUDE*, LINK ...) and attached templates (\*\template), then — by
// policy — converts the document to DOCX with a sandboxed LibreOffice and
// sanitizes the result with the OOXML handler, or blocks it. RTF itself is
// never passed through: Word's RTF reader is lenient enough that no
// byte-level cleaning is trustworthy.
package rtf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/ole"
	"github.com/kyojin/kyojin/sanitize/ooxml"
)

// ErrNotRTF means the input does not start like an RTF document.
var ErrNotRTF = errors.New("not an RTF document")

// ErrBlocked is ole.ErrBlocked (legacy=block).
var ErrBlocked = ole.ErrBlocked

// Report is what Detect found.
type Report struct {
	Objects    int      // \object groups
	ObjData    int      // \objdata payloads (embedded object data)
	Links      int      // \objlink / \objautlink
	AutoUpdate bool     // \objupdate: the object refreshes itself on open
	Fields     []string // keywords of dangerous field instructions (DDEAUTO, INCLUDETEXT ...)
	Template   bool     // \*\template: an attached (possibly remote) template
}

var dangerousFields = map[string]bool{"DDE": true, "DDEAUTO": true, "INCLUDETEXT": true,
	"INCLUDEPICTURE": true, "INCLUDE": true, "IMPORT": true, "LINK": true, "EMBED": true,
	"DATABASE": true, "MACROBUTTON": true}

const maxFieldText = 256

// Detect scans an RTF stream control word by control word. It reads the
// input once and keeps nothing but counters.
func Detect(r io.Reader) (*Report, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	// Word accepts "{\rt" as an RTF signature (not only "{\rtf1").
	head := make([]byte, 4)
	if _, err := io.ReadFull(br, head); err != nil || string(head) != `{\rt` {
		return nil, ErrNotRTF
	}
	rep := &Report{}
	var word strings.Builder
	inField := false // collecting \fldinst text
	var field strings.Builder
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("rtf: %w", err)
		}
		switch {
		case c == '\\':
			word.Reset()
			for {
				d, err := br.ReadByte()
				if err != nil {
					break
				}
				if d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z' {
					if word.Len() < 32 {
						word.WriteByte(d)
					}
					continue
				}
				if word.Len() == 0 {
					if d == '*' && peekTemplate(br) {
						rep.Template = true
					}
					break // control symbol (\', \*, \\ ...)
				}
				// Optional numeric parameter.
				num := 0
				neg := false
				for (d >= '0' && d <= '9' || d == '-') && err == nil {
					if d == '-' {
						neg = true
					} else if num < 1<<30 {
						num = num*10 + int(d-'0')
					}
					d, err = br.ReadByte()
				}
				if err == nil && d != ' ' {
					_ = br.UnreadByte()
				}
				w := word.String()
				if w == "bin" && !neg && num > 0 {
					// \binN: N raw bytes follow ([MS-RTF] 1.9.1 §"\binN").
					if _, err := br.Discard(num); err != nil {
						return rep, nil
					}
				}
				rep.control(w)
				if w == "fldinst" {
					inField = true
					field.Reset()
				}
				break
			}
		case inField && (c == '}' || field.Len() >= maxFieldText):
			rep.fieldDone(field.String())
			inField = false
		case inField && c != '{' && c != '\r' && c != '\n':
			field.WriteByte(c)
		}
	}
	return rep, nil
}

func peekTemplate(br *bufio.Reader) bool {
	b, _ := br.Peek(len(`\template`))
	return string(b) == `\template`
}

func (r *Report) control(w string) {
	switch w {
	case "object":
		r.Objects++
	case "objdata":
		r.ObjData++
	case "objlink", "objautlink":
		r.Links++
	case "objupdate":
		r.AutoUpdate = true
	}
}

func (r *Report) fieldDone(text string) {
	f := strings.Fields(text)
	if len(f) == 0 {
		return
	}
	kw := strings.ToUpper(f[0])
	if dangerousFields[kw] {
		r.Fields = append(r.Fields, kw)
	}
}

// Handler is the sanitize.Handler for RTF.
type Handler struct {
	log  *slog.Logger
	bin  string
	next sanitize.Handler
}

// Option configures a Handler.
type Option func(*Handler)

// WithSoffice sets the LibreOffice binary (default: soffice on PATH).
func WithSoffice(bin string) Option { return func(h *Handler) { h.bin = bin } }

// New returns an RTF handler.
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

// Sanitize implements sanitize.Handler: detect, then convert to DOCX and
// sanitize (legacy=convert, the default) or block (legacy=block).
func (h *Handler) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (res *sanitize.Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			h.log.Error("rtf: panic", "name", in.Name, "panic", p)
			res, err = nil, fmt.Errorf("rtf: internal error: %w", ErrNotRTF)
		}
	}()
	if in.Limits.MaxInputBytes > 0 && in.Size > in.Limits.MaxInputBytes {
		return nil, fmt.Errorf("rtf: input size: %w", ooxml.ErrLimit)
	}
	rep, err := Detect(io.NewSectionReader(in.R, 0, in.Size))
	if err != nil {
		return nil, err
	}
	h.log.Info("rtf: detected", "name", in.Name, "objects", rep.Objects, "objdata", rep.ObjData,
		"links", rep.Links, "fields", rep.Fields, "template", rep.Template)
	return ole.Convert(ctx, h.log, h.bin, in, "rtf", "docx", h.next, w, func(r *sanitize.Result) {
		note := func(object string, n int) {
			r.Actions = append(r.Actions, sanitize.Action{Kind: "removed", Object: object, Count: n,
				Detail: "detected in the original; not carried into the sanitized document"})
		}
		if n := max(rep.Objects, rep.ObjData); n > 0 {
			note("legacy:oleObject", n)
		}
		if rep.Links > 0 {
			note("legacy:oleLink", rep.Links)
		}
		for _, f := range rep.Fields {
			note("legacy:field "+f, 1)
		}
		if rep.Template {
			note("legacy:attachedTemplate", 1)
		}
	})
}
