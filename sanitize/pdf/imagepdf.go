package pdf

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// imagePDF writes an image-only PDF: one JPEG (DCTDecode) image per page,
// scaled to the page, and nothing else. Pages are streamed out as they are
// added; the page tree and cross-reference table are written at the end.
type imagePDF struct {
	bw      *bufio.Writer
	off     int64
	offsets map[int]int64
	kids    []int
	next    int
}

// Object 1 is the catalog and object 2 the page tree; pages start at 3.
func newImagePDF(w io.Writer) *imagePDF {
	p := &imagePDF{bw: bufio.NewWriterSize(w, 256<<10), offsets: map[int]int64{}, next: 3}
	p.printf("%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")
	return p
}

func (p *imagePDF) printf(format string, args ...any) {
	n, _ := fmt.Fprintf(p.bw, format, args...)
	p.off += int64(n)
}

func (p *imagePDF) begin(nr int) {
	p.offsets[nr] = p.off
	p.printf("%d 0 obj\n", nr)
}

func (p *imagePDF) addPage(jpg []byte, pxW, pxH int, ptW, ptH float64) {
	page, content, img := p.next, p.next+1, p.next+2
	p.next += 3
	p.kids = append(p.kids, page)
	w, h := strconv.FormatFloat(ptW, 'f', 2, 64), strconv.FormatFloat(ptH, 'f', 2, 64)

	p.begin(page)
	p.printf("<</Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources <</XObject <</Im0 %d 0 R>>>> /Contents %d 0 R>>\nendobj\n",
		w, h, img, content)
	ops := fmt.Sprintf("q %s 0 0 %s 0 0 cm /Im0 Do Q", w, h)
	p.begin(content)
	p.printf("<</Length %d>>\nstream\n%s\nendstream\nendobj\n", len(ops), ops)
	p.begin(img)
	p.printf("<</Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d>>\nstream\n",
		pxW, pxH, len(jpg))
	n, _ := p.bw.Write(jpg)
	p.off += int64(n)
	p.printf("\nendstream\nendobj\n")
}

func (p *imagePDF) finish() error {
	p.begin(1)
	p.printf("<</Type /Catalog /Pages 2 0 R>>\nendobj\n")
	p.begin(2)
	p.printf("<</Type /Pages /Count %d /Kids [", len(p.kids))
	for i, k := range p.kids {
		if i > 0 {
			p.printf(" ")
		}
		p.printf("%d 0 R", k)
	}
	p.printf("]>>\nendobj\n")
	xref := p.off
	p.printf("xref\n0 %d\n0000000000 65535 f\r\n", p.next)
	for i := 1; i < p.next; i++ {
		p.printf("%010d 00000 n\r\n", p.offsets[i])
	}
	p.printf("trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n", p.next, xref)
	return p.bw.Flush()
}
