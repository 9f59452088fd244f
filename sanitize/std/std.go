// Package std wires the standard handlers and inspectors into the maps the
// engine takes, so that the engine package itself depends on no format.
// Formats without a handler here are blocked (FAILED no_handler when the
// policy asks to sanitize them).
package std

import (
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/archive"
	"github.com/kyojin/kyojin/sanitize/imagefile"
	"github.com/kyojin/kyojin/sanitize/inspect"
	"github.com/kyojin/kyojin/sanitize/inspect/ooxmlinspect"
	"github.com/kyojin/kyojin/sanitize/inspect/pdfinspect"
	"github.com/kyojin/kyojin/sanitize/ole"
	"github.com/kyojin/kyojin/sanitize/ooxml"
	"github.com/kyojin/kyojin/sanitize/pdf"
	"github.com/kyojin/kyojin/sanitize/rtf"
	"github.com/kyojin/kyojin/sanitize/textfile"
)

// Handlers returns the handler for each input type; tempDir spools archive
// members ("" = os.TempDir()).
func Handlers(tempDir string) map[sanitize.Type]sanitize.Handler {
	img := imagefile.Handler{}
	txt := textfile.Handler{}
	arc := archive.Handler{TempDir: tempDir}
	h := map[sanitize.Type]sanitize.Handler{
		sanitize.TypePNG: img, sanitize.TypeJPEG: img, sanitize.TypeGIF: img,
		sanitize.TypeBMP: img, sanitize.TypeTIFF: img, sanitize.TypeWebP: img,
		sanitize.TypeText: txt, sanitize.TypeCSV: txt,
		sanitize.TypeZIP: arc, sanitize.Type7z: arc,
		sanitize.TypePDF: pdf.New(nil),
	}
	ox := ooxml.New(nil)
	for _, t := range []sanitize.Type{sanitize.TypeDOCX, sanitize.TypeDOCM, sanitize.TypeXLSX, sanitize.TypeXLSM, sanitize.TypePPTX, sanitize.TypePPTM} {
		h[t] = ox
	}
	legacy := ole.New(nil)
	h[sanitize.TypeDOC], h[sanitize.TypeXLS], h[sanitize.TypePPT] = legacy, legacy, legacy
	h[sanitize.TypeRTF] = rtf.New(nil)
	return h
}

// Inspectors returns the inspector for each OUTPUT type. The ZIP inspector
// checks members with the same map, so inspectors added to the returned
// map later (PDF, OOXML) also cover archive members.
func Inspectors(tempDir string) map[sanitize.Type]sanitize.Inspector {
	m := map[sanitize.Type]sanitize.Inspector{
		sanitize.TypePNG: inspect.PNG{}, sanitize.TypeJPEG: inspect.JPEG{}, sanitize.TypeGIF: inspect.GIF{},
		sanitize.TypeText: inspect.Text{}, sanitize.TypeCSV: inspect.CSV{},
		sanitize.TypePDF: pdfinspect.New(),
	}
	oi := ooxmlinspect.New()
	for _, t := range []sanitize.Type{sanitize.TypeDOCX, sanitize.TypeDOCM, sanitize.TypeXLSX, sanitize.TypeXLSM, sanitize.TypePPTX, sanitize.TypePPTM} {
		m[t] = oi
	}
	m[sanitize.TypeZIP] = inspect.ZIP{Members: m, TempDir: tempDir}
	return m
}
