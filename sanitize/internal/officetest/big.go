package officetest

import (
	"archive/zip"
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math/rand"
	"strings"
	"testing"
)

// noisePNG returns a w×h PNG of pseudo-random pixels: incompressible, like
// the photographs real documents carry.
func noisePNG(tb testing.TB, seed int64, w, h int) []byte {
	tb.Helper()
	r := rand.New(rand.NewSource(seed))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = byte(r.Intn(256))
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	img.Set(0, 0, color.NRGBA{1, 2, 3, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		tb.Fatal(err)
	}
	return b.Bytes()
}

// sized builds parts until the deflated package reaches about target bytes:
// text parts grow with n, and images of imgSize are added to make up the
// rest (a share of images), as real documents mix text and pictures.
type sizedDoc struct {
	textUnits int // paragraphs, rows or slides
	images    int
	imgSide   int
}

func plan(target int, imgShare float64) sizedDoc {
	imgBytes := int(float64(target) * imgShare)
	side := 256 // ~256 KiB per image
	if target < 1<<20 {
		side = 64 // ~16 KiB
	}
	per := side * side * 4
	return sizedDoc{textUnits: max(1, int(float64(target)*(1-imgShare))/40), images: max(1, imgBytes/per), imgSide: side}
}

func drawing(rid string, id int) string {
	return fmt.Sprintf(`<w:p><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="914400" cy="914400"/><wp:docPr id="%d" name="Picture %d"/>`+
		`<a:graphic xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main"><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">`+
		`<pic:pic xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:nvPicPr><pic:cNvPr id="%d" name="p%d.png"/><pic:cNvPicPr/></pic:nvPicPr>`+
		`<pic:blipFill><a:blip r:embed="%s"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="914400" cy="914400"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic>`+
		`</a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`, id, id, id, id, rid)
}

// BigDocx returns a docx of about target bytes: paragraphs of Japanese and
// English text with a PAGE field every 50 paragraphs, and pictures.
func BigDocx(tb testing.TB, target int) []byte {
	tb.Helper()
	p := plan(target*12/5, 0.6) // factors calibrated so the zip is about target bytes
	var body strings.Builder
	var rels []Rel
	var media []Part
	imgs := make([][]byte, min(p.images, 8))
	for i := range imgs {
		imgs[i] = noisePNG(tb, int64(i), p.imgSide, p.imgSide)
	}
	r := rand.New(rand.NewSource(7))
	words := []string{"地方公共団体", "情報セキュリティ", "無害化", "security", "policy", "LGWAN", "ファイル", "転送", "sanitization", "zone"}
	for i := 0; i < p.textUnits/8; i++ {
		body.WriteString(`<w:p><w:r><w:t xml:space="preserve">`)
		for k := 0; k < 12; k++ {
			body.WriteString(words[r.Intn(len(words))])
			body.WriteByte(' ')
		}
		fmt.Fprintf(&body, "%d</w:t></w:r></w:p>", r.Int63())
		if i%50 == 0 {
			body.WriteString(PageField)
		}
		if n := len(rels); n < p.images && i%max(1, p.textUnits/8/p.images) == 0 {
			rid := fmt.Sprintf("rIdImg%d", n)
			rels = append(rels, Rel{rid, "image", fmt.Sprintf("media/image%d.png", n), ""})
			media = append(media, Part{fmt.Sprintf("word/media/image%d.png", n), string(imgs[n%len(imgs)])})
			body.WriteString(drawing(rid, n+1))
		}
	}
	doc := WordBody(body.String())
	doc = strings.Replace(doc, `<w:document `, `<w:document xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" `, 1)
	parts := []Part{
		{"[Content_Types].xml", ContentTypes("/word/document.xml=" + CTDocx)},
		{"_rels/.rels", fmt.Sprintf(rootRel, "word/document.xml")},
		{"word/document.xml", doc},
		{"word/_rels/document.xml.rels", Rels(rels...)},
	}
	return Zip(tb, append(parts, media...)...)
}

// BigXlsx returns an xlsx of about target bytes: one sheet with many rows of
// numbers, dates and inline strings (sheet XML dominates), plus pictures.
func BigXlsx(tb testing.TB, target int) []byte {
	tb.Helper()
	p := plan(target*12/5, 0.2)
	var sd strings.Builder
	r := rand.New(rand.NewSource(9))
	rows := p.textUnits / 3
	for i := 1; i <= rows; i++ {
		fmt.Fprintf(&sd, `<row r="%d"><c r="A%d"><v>%d</v></c><c r="B%d"><v>%.4f</v></c><c r="C%d" t="inlineStr"><is><t>項目%d</t></is></c><c r="D%d"><f>A%d*B%d</f><v>%.2f</v></c></row>`,
			i, i, r.Intn(1000000), i, r.Float64()*1000, i, r.Intn(5000), i, i, i, r.Float64()*1e6)
	}
	var media []Part
	img := noisePNG(tb, 3, p.imgSide, p.imgSide)
	for n := 0; n < p.images; n++ {
		media = append(media, Part{fmt.Sprintf("xl/media/image%d.png", n), string(img)})
	}
	var drawRels []Rel
	var anchors strings.Builder
	for n := range media {
		rid := fmt.Sprintf("rIdI%d", n)
		drawRels = append(drawRels, Rel{rid, "image", fmt.Sprintf("../media/image%d.png", n), ""})
		fmt.Fprintf(&anchors, `<xdr:oneCellAnchor><xdr:from><xdr:col>6</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>%d</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="914400" cy="914400"/>`+
			`<xdr:pic><xdr:nvPicPr><xdr:cNvPr id="%d" name="p%d"/><xdr:cNvPicPr/></xdr:nvPicPr><xdr:blipFill><a:blip r:embed="%s"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>`+
			`<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/></xdr:oneCellAnchor>`, n*6, n+2, n, rid)
	}
	drawingXML := xmlHead + `<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		anchors.String() + `</xdr:wsDr>`
	extra := append([]Part{
		{"xl/worksheets/_rels/sheet1.xml.rels", Rels(Rel{"rIdD", "drawing", "../drawings/drawing1.xml", ""})},
		{"xl/drawings/drawing1.xml", drawingXML},
		{"xl/drawings/_rels/drawing1.xml.rels", Rels(drawRels...)},
	}, media...)
	return Xlsx(tb, CTXlsx, sd.String(), `<drawing r:id="rIdD"/>`, "", "", nil, extra,
		"/xl/drawings/drawing1.xml=application/vnd.openxmlformats-officedocument.drawing+xml")
}

// BigPptx returns a pptx of about target bytes: slides with text boxes and
// a picture each.
func BigPptx(tb testing.TB, target int) []byte {
	tb.Helper()
	p := plan(target*8/5, 0.8)
	img := noisePNG(tb, 5, p.imgSide, p.imgSide)
	var slides []string
	var rels [][]Rel
	var media []Part
	for n := 0; n < p.images; n++ {
		pic := fmt.Sprintf(`<p:pic><p:nvPicPr><p:cNvPr id="9" name="pic"/><p:cNvPicPr/><p:nvPr/></p:nvPicPr><p:blipFill><a:blip r:embed="rIdP"/><a:stretch><a:fillRect/></a:stretch></p:blipFill>` +
			`<p:spPr><a:xfrm><a:off x="4000000" y="3000000"/><a:ext cx="2000000" cy="2000000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr></p:pic>`)
		slides = append(slides, TextShape(2, fmt.Sprintf("スライド %d 地方公共団体の情報セキュリティ", n), "")+TextShape(3, "無害化 sanitization pipeline", "")+pic)
		rels = append(rels, []Rel{{"rIdP", "image", fmt.Sprintf("../media/image%d.png", n), ""}})
		media = append(media, Part{fmt.Sprintf("ppt/media/image%d.png", n), string(img)})
	}
	return Pptx(tb, CTPptx, slides, rels, media)
}

// RewriteFloor is the benchmark floor of issue 3 §4: read every entry of the
// package and write it again with the same compression, changing nothing.
func RewriteFloor(data []byte, w *bytes.Buffer) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return err
	}
	zw := zip.NewWriter(w)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: f.Method, Modified: f.Modified})
		if err != nil {
			rc.Close()
			return err
		}
		if _, err := io.Copy(fw, rc); err != nil {
			rc.Close()
			return err
		}
		rc.Close()
	}
	return zw.Close()
}
