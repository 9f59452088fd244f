package policy

import (
	"fmt"
	"strings"
)

const (
	nsChart = "http://schemas.openxmlformats.org/drawingml/2006/chart"
	nsA     = "http://schemas.openxmlformats.org/drawingml/2006/main"
	nsR     = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
	nsWP    = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
)

// chartInline places chart n (1-based) as an inline drawing, text width
// by half of it, in its own paragraph.
func chartInline(n int) string {
	const cx, cy = textWidth * 635, textWidth * 635 / 2 // twips → EMU
	return fmt.Sprintf(`<w:p><w:r><w:drawing><wp:inline xmlns:wp="%s" distT="0" distB="0" distL="0" distR="0"><wp:extent cx="%d" cy="%d"/><wp:docPr id="%d" name="Chart %d"/>`+
		`<a:graphic xmlns:a="%s"><a:graphicData uri="%s"><c:chart xmlns:c="%s" xmlns:r="%s" r:id="rIdChart%d"/></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>`,
		nsWP, cx, cy, 1000+n, n, nsA, nsChart, nsChart, nsR, n)
}

func chartTypes(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `<Override PartName="/word/charts/chart%d.xml" ContentType="application/vnd.openxmlformats-officedocument.drawingml.chart+xml"/>`, i)
	}
	return b.String()
}

func chartRels(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `<Relationship Id="rIdChart%d" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chart" Target="charts/chart%d.xml"/>`, i, i)
	}
	return b.String()
}

// chartXML is a horizontal bar chart part. The values are written as
// caches of a (non-embedded) sheet range, which Word and LibreOffice both
// draw from; there is no workbook to edit, the figures are in the tables.
func chartXML(title string, rows [][]string) string {
	var cat, val strings.Builder
	n, top := 0, 0
	for _, r := range rows[min(1, len(rows)):] {
		if len(r) < 2 {
			continue
		}
		var v int
		fmt.Sscan(r[1], &v)
		top = max(top, v)
		fmt.Fprintf(&cat, `<c:pt idx="%d"><c:v>%s</c:v></c:pt>`, n, esc(r[0]))
		fmt.Fprintf(&val, `<c:pt idx="%d"><c:v>%s</c:v></c:pt>`, n, esc(r[1]))
		n++
	}
	series := "件数"
	if len(rows) > 0 && len(rows[0]) > 1 {
		series = rows[0][1]
	}
	rich := `<c:rich><a:bodyPr/><a:p><a:pPr><a:defRPr sz="1100" b="1"/></a:pPr><a:r><a:rPr lang="ja-JP" sz="1100" b="1"><a:latin typeface="IPAexGothic"/><a:ea typeface="IPAexGothic"/></a:rPr><a:t>` + esc(title) + `</a:t></a:r></a:p></c:rich>`
	txPr := `<c:txPr><a:bodyPr/><a:p><a:pPr><a:defRPr sz="900"><a:latin typeface="IPAexGothic"/><a:ea typeface="IPAexGothic"/></a:defRPr></a:pPr><a:endParaRPr lang="ja-JP"/></a:p></c:txPr>`
	return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` +
		`<c:chartSpace xmlns:c="` + nsChart + `" xmlns:a="` + nsA + `" xmlns:r="` + nsR + `"><c:roundedCorners val="0"/><c:chart>` +
		`<c:title><c:tx>` + rich + `</c:tx><c:overlay val="0"/></c:title><c:autoTitleDeleted val="0"/><c:plotArea><c:layout/>` +
		`<c:barChart><c:barDir val="bar"/><c:grouping val="clustered"/><c:varyColors val="0"/><c:ser><c:idx val="0"/><c:order val="0"/>` +
		`<c:tx><c:strRef><c:f>Sheet1!$B$1</c:f><c:strCache><c:ptCount val="1"/><c:pt idx="0"><c:v>` + esc(series) + `</c:v></c:pt></c:strCache></c:strRef></c:tx>` +
		`<c:spPr><a:solidFill><a:srgbClr val="3A6EA5"/></a:solidFill></c:spPr><c:invertIfNegative val="0"/>` +
		fmt.Sprintf(`<c:cat><c:strRef><c:f>Sheet1!$A$2:$A$%d</c:f><c:strCache><c:ptCount val="%d"/>%s</c:strCache></c:strRef></c:cat>`, n+1, n, cat.String()) +
		fmt.Sprintf(`<c:val><c:numRef><c:f>Sheet1!$B$2:$B$%d</c:f><c:numCache><c:formatCode>General</c:formatCode><c:ptCount val="%d"/>%s</c:numCache></c:numRef></c:val>`, n+1, n, val.String()) +
		`</c:ser><c:gapWidth val="60"/><c:axId val="1001"/><c:axId val="1002"/></c:barChart>` +
		`<c:catAx><c:axId val="1001"/><c:scaling><c:orientation val="maxMin"/></c:scaling><c:delete val="0"/><c:axPos val="l"/><c:numFmt formatCode="General" sourceLinked="0"/><c:majorTickMark val="none"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>` + txPr + `<c:crossAx val="1002"/><c:crosses val="autoZero"/><c:auto val="1"/><c:lblAlgn val="ctr"/><c:lblOffset val="100"/><c:noMultiLvlLbl val="0"/></c:catAx>` +
		`<c:valAx><c:axId val="1002"/><c:scaling><c:orientation val="minMax"/></c:scaling><c:delete val="0"/><c:axPos val="b"/><c:majorGridlines/><c:numFmt formatCode="0" sourceLinked="0"/><c:majorTickMark val="out"/><c:minorTickMark val="none"/><c:tickLblPos val="nextTo"/>` + txPr + `<c:crossAx val="1001"/><c:crosses val="autoZero"/><c:crossBetween val="between"/>` + fmt.Sprintf(`<c:majorUnit val="%d"/>`, max(1, (top+4)/5)) + `</c:valAx>` +
		`</c:plotArea><c:plotVisOnly val="1"/><c:dispBlanksAs val="gap"/></c:chart></c:chartSpace>`
}
