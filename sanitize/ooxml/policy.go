package ooxml

import (
	"strings"

	"github.com/kyojin/kyojin/sanitize"
)

// Placeholder is the target written into every external relationship the
// handler neutralises. Office and LibreOffice open a package whose external
// relationships point here without complaint, and nothing is fetched: the
// relationship stays (so the XML that references its id stays valid) but no
// longer names a remote host, a UNC path or a local file (issue 3 §2 OOXML:
// "replace the target so Office still opens the file").
const Placeholder = "about:blank"

// relRule says what happens to a relationship of one type.
type relRule struct {
	allow     bool
	construct string // for removals: the construct named in the audit action
}

// relTypeRules maps the last segment of a relationship type URI to a rule.
// Anything not listed is removed as "unknown relationship" (allowlist).
// ECMA-376 Part 1 §15 (Part Summary) lists the standard relationship types;
// the Microsoft ones come from [MS-OFFMACRO2], [MS-OI29500] and [MS-XLSX].
var relTypeRules = map[string]relRule{
	// Allowed: document content, styling, media and metadata.
	"officeDocument": {allow: true}, "core-properties": {allow: true},
	"extended-properties": {allow: true}, "custom-properties": {allow: true},
	"thumbnail": {allow: true}, "styles": {allow: true}, "stylesWithEffects": {allow: true},
	"settings": {allow: true}, "webSettings": {allow: true}, "fontTable": {allow: true},
	"theme": {allow: true}, "themeOverride": {allow: true}, "numbering": {allow: true},
	"footnotes": {allow: true}, "endnotes": {allow: true}, "comments": {allow: true},
	"commentsExtended": {allow: true}, "commentsIds": {allow: true},
	"commentsExtensible": {allow: true}, "people": {allow: true}, "header": {allow: true},
	"footer": {allow: true}, "image": {allow: true}, "hyperlink": {allow: true},
	"customXml": {allow: true}, "customXmlProps": {allow: true},
	"glossaryDocument": {allow: true}, "chart": {allow: true}, "chartUserShapes": {allow: true},
	"chartStyle": {allow: true}, "chartColorStyle": {allow: true}, "diagramData": {allow: true},
	"diagramLayout": {allow: true}, "diagramQuickStyle": {allow: true},
	"diagramColors": {allow: true}, "diagramDrawing": {allow: true}, "drawing": {allow: true},
	"vmlDrawing": {allow: true}, "worksheet": {allow: true}, "chartsheet": {allow: true},
	"dialogsheet": {allow: true}, "sharedStrings": {allow: true}, "calcChain": {allow: true},
	"table": {allow: true}, "tableSingleCells": {allow: true}, "pivotTable": {allow: true},
	"pivotCacheDefinition": {allow: true}, "pivotCacheRecords": {allow: true},
	"slide": {allow: true}, "slideLayout": {allow: true}, "slideMaster": {allow: true},
	"notesSlide": {allow: true}, "notesMaster": {allow: true}, "handoutMaster": {allow: true},
	"presProps": {allow: true}, "viewProps": {allow: true}, "tableStyles": {allow: true},
	"tags": {allow: true}, "commentAuthors": {allow: true}, "font": {allow: true},
	"media": {allow: true}, "audio": {allow: true}, "video": {allow: true},
	"hdphoto": {allow: true}, "slicer": {allow: true}, "slicerCache": {allow: true},
	"timeline": {allow: true}, "timelineCache": {allow: true}, "threadedComment": {allow: true},
	"person": {allow: true}, "sheetMetadata": {allow: true}, "volatileDependencies": {allow: true},
	"classificationlabels": {allow: true}, "authors": {allow: true},
	// Allowed only because their targets are external and get the placeholder:
	// frames of a frameset and master-document subdocuments.
	"frame": {allow: true}, "subDocument": {allow: true},

	// Removed: macros ([MS-OFFMACRO2] §2.2), ActiveX ([MS-OFFMACRO2] §2.2.6),
	// OLE objects and embedded packages (ECMA-376 Part 1 §15.2.10, §15.2.11).
	"vbaProject": {construct: "vbaProject"}, "vbaProjectSignature": {construct: "vbaProject"},
	"vbaProjectSignatureAgile": {construct: "vbaProject"}, "vbaProjectSignatureV3": {construct: "vbaProject"},
	"wordVbaData": {construct: "vbaData"}, "keyMapCustomizations": {construct: "keyMapCustomizations"},
	"attachedToolbars": {construct: "vbaProject"},
	"activeXControl":   {construct: "activeX"}, "activeXControlBinary": {construct: "activeX"},
	"control": {construct: "activeX"}, "ctrlProp": {construct: "formControl"},
	"oleObject": {construct: "oleObject"}, "package": {construct: "embedding"},
	"xlMacrosheet": {construct: "macroSheet"}, "xlIntlMacrosheet": {construct: "macroSheet"},
	// Workbook links and data connections to external sources (ECMA-376 Part 1
	// §18.14 externalLink, §18.13 connections, §18.12 queryTable).
	"externalLink": {construct: "externalLink"}, "externalLinkPath": {construct: "externalLink"},
	"connections": {construct: "dataConnection"}, "queryTable": {construct: "dataConnection"},
	"mailMergeSource": {construct: "dataConnection"}, "mailMergeHeaderSource": {construct: "dataConnection"},
	"recipientData": {construct: "dataConnection"},
	// Remote templates (ECMA-376 Part 1 §17.15.1.6 attachedTemplate).
	"attachedTemplate": {construct: "attachedTemplate"},
	// Imported chunks carry a whole foreign document (§17.17.2.1 altChunk).
	"aFChunk": {construct: "altChunk"},
	// Ribbon customisation ([MS-CUSTOMUI]): its callbacks name macros.
	"extensibility": {construct: "customUI"},
	// Office add-ins load remote web code.
	"webextension": {construct: "webExtension"}, "webextensiontaskpanes": {construct: "webExtension"},
	// Signatures no longer match a rebuilt package; printer settings and
	// the rest are opaque binaries nobody needs to read a document.
	"origin": {construct: "signature"}, "signature": {construct: "signature"},
	"digital-signature": {construct: "signature"},
	"printerSettings":   {construct: "printerSettings"}, "customProperty": {construct: "opaque binary"},
	"transform": {construct: "xslTransform"}, "revisionHeaders": {construct: "sharedWorkbook"},
	"usernames": {construct: "sharedWorkbook"},
}

// knownRelPrefixes are the namespaces relationship types may live in. A type
// outside them is unknown and removed.
var knownRelPrefixes = []string{
	"http://schemas.openxmlformats.org/",
	"http://purl.oclc.org/ooxml/",
	"http://schemas.microsoft.com/office/",
}

func ruleFor(relType string) relRule {
	known := false
	for _, p := range knownRelPrefixes {
		if strings.HasPrefix(relType, p) {
			known = true
			break
		}
	}
	if !known {
		return relRule{construct: "unknown relationship"}
	}
	seg := relType[strings.LastIndexByte(relType, '/')+1:]
	if r, ok := relTypeRules[seg]; ok {
		return r
	}
	return relRule{construct: "unknown relationship"}
}

func isHyperlinkRel(relType string) bool {
	return strings.HasSuffix(relType, "/hyperlink")
}

// forbiddenCT lists content-type fragments (lower case) that are never
// written to the output whatever relationship points at them.
var forbiddenCT = []struct{ frag, construct string }{
	{"vbaproject", "vbaProject"},
	{"vbadata", "vbaData"},
	{"keymapcustomizations", "keyMapCustomizations"},
	{"attachedtoolbars", "vbaProject"},
	{"activex", "activeX"},
	{"oleobject", "oleObject"},
	{"externallink", "externalLink"},
	{"spreadsheetml.connections", "dataConnection"},
	{"querytable", "dataConnection"},
	{"macrosheet", "macroSheet"},
	{"controlproperties", "formControl"},
	{"webextension", "webExtension"},
	{"taskpanes", "webExtension"},
	{"printersettings", "printerSettings"},
	{"macroenabled", "macro-enabled part"},
	{"digital-signature", "signature"},
}

// allowedCTPrefixes is the content-type allowlist (lower case prefixes).
var allowedCTPrefixes = []string{
	"application/vnd.openxmlformats-officedocument.",
	"application/vnd.openxmlformats-package.core-properties+xml",
	"application/vnd.openxmlformats-package.relationships+xml",
	"application/vnd.ms-office.", "application/vnd.ms-word.", "application/vnd.ms-excel.",
	"application/vnd.ms-powerpoint.",
	"image/", "audio/", "video/",
	"application/xml", "text/xml",
	"application/x-fontdata", "application/x-font-ttf", "application/x-font-opentype",
	"application/vnd.ms-package.obfuscated-opentype", "font/",
}

// packageCTs are content types of whole embedded packages (an xlsx inside a
// docx, a Word 97 file inside a pptx ...): embeddings, never kept.
var packageCTs = map[string]bool{
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   true,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": true,
	"application/vnd.openxmlformats-officedocument.presentationml.slide":        true,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.template":      true,
	"application/vnd.openxmlformats-officedocument.wordprocessingml.template":   true,
	"application/vnd.ms-excel.sheet.binary.macroenabled.12":                     true,
}

// checkCT returns "" when a part of content type ct may be kept, otherwise
// the construct it is removed as.
func checkCT(ct string) string {
	l := strings.ToLower(strings.TrimSpace(ct))
	if i := strings.IndexByte(l, ';'); i >= 0 {
		l = strings.TrimSpace(l[:i])
	}
	if l == "" {
		return "untyped part"
	}
	for _, f := range forbiddenCT {
		if strings.Contains(l, f.frag) {
			return f.construct
		}
	}
	if packageCTs[l] {
		return "embedding"
	}
	for _, p := range allowedCTPrefixes {
		if strings.HasPrefix(l, p) {
			return ""
		}
	}
	return "embedding"
}

// mainType describes a supported main-document content type.
type mainType struct {
	out     sanitize.Type
	plainCT string // content type written to the output
	macro   bool   // macro-enabled variant
	other   bool   // template or slideshow variant turned into a document
}

const (
	ctDocx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
	ctXlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
	ctPptx = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
)

// mainTypes lists the main parts the handler accepts ([MS-OFFMACRO2] §2.1
// for the macro-enabled content types). Add-ins (xlam, ppam) and binary
// workbooks (xlsb) are not documents and are not accepted.
var mainTypes = map[string]mainType{
	ctDocx: {out: sanitize.TypeDOCX, plainCT: ctDocx},
	"application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": {out: sanitize.TypeDOCX, plainCT: ctDocx, other: true},
	"application/vnd.ms-word.document.macroenabled.main+xml":                           {out: sanitize.TypeDOCX, plainCT: ctDocx, macro: true},
	"application/vnd.ms-word.template.macroenabledtemplate.main+xml":                   {out: sanitize.TypeDOCX, plainCT: ctDocx, macro: true, other: true},
	ctXlsx: {out: sanitize.TypeXLSX, plainCT: ctXlsx},
	"application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": {out: sanitize.TypeXLSX, plainCT: ctXlsx, other: true},
	"application/vnd.ms-excel.sheet.macroenabled.main+xml":                          {out: sanitize.TypeXLSX, plainCT: ctXlsx, macro: true},
	"application/vnd.ms-excel.template.macroenabled.main+xml":                       {out: sanitize.TypeXLSX, plainCT: ctXlsx, macro: true, other: true},
	ctPptx: {out: sanitize.TypePPTX, plainCT: ctPptx},
	"application/vnd.openxmlformats-officedocument.presentationml.template.main+xml":  {out: sanitize.TypePPTX, plainCT: ctPptx, other: true},
	"application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml": {out: sanitize.TypePPTX, plainCT: ctPptx, other: true},
	"application/vnd.ms-powerpoint.presentation.macroenabled.main+xml":                {out: sanitize.TypePPTX, plainCT: ctPptx, macro: true},
	"application/vnd.ms-powerpoint.template.macroenabled.main+xml":                    {out: sanitize.TypePPTX, plainCT: ctPptx, macro: true, other: true},
	"application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml":                   {out: sanitize.TypePPTX, plainCT: ctPptx, macro: true, other: true},
}

// allowedFields is the allowlist of Word field keywords whose code may stay
// (ECMA-376 Part 1 §17.16.5 lists them all). Everything else — DDE, DDEAUTO,
// INCLUDETEXT, INCLUDEPICTURE, IMPORT, LINK, EMBED, DATABASE, MACROBUTTON,
// ADDIN, RD, ASK, FILLIN, and any keyword we do not know — loses its code and
// keeps its last displayed result as plain text. HYPERLINK is decided
// separately (keep_hyperlinks).
var allowedFields = map[string]bool{
	"PAGE": true, "NUMPAGES": true, "SECTIONPAGES": true, "SECTION": true, "DATE": true,
	"TIME": true, "CREATEDATE": true, "SAVEDATE": true, "PRINTDATE": true, "EDITTIME": true,
	"TOC": true, "TC": true, "TOA": true, "TA": true, "REF": true, "PAGEREF": true,
	"NOTEREF": true, "SEQ": true, "STYLEREF": true, "XE": true, "INDEX": true,
	"MERGEFIELD": true, "MERGEREC": true, "MERGESEQ": true, "NEXT": true, "NEXTIF": true,
	"SKIPIF": true, "FORMTEXT": true, "FORMCHECKBOX": true, "FORMDROPDOWN": true,
	"AUTHOR": true, "TITLE": true, "SUBJECT": true, "KEYWORDS": true, "COMMENTS": true,
	"LASTSAVEDBY": true, "NUMWORDS": true, "NUMCHARS": true, "DOCPROPERTY": true,
	"DOCVARIABLE": true, "INFO": true, "FILESIZE": true, "TEMPLATE": true, "FILENAME": true,
	"USERNAME": true, "USERINITIALS": true, "USERADDRESS": true, "SYMBOL": true, "EQ": true,
	"ADVANCE": true, "BIBLIOGRAPHY": true, "CITATION": true, "LISTNUM": true, "AUTONUM": true,
	"AUTONUMLGL": true, "AUTONUMOUT": true, "BARCODE": true, "DISPLAYBARCODE": true,
	"SET": true, "IF": true, "COMPARE": true, "=": true, "QUOTE": true, "GOTOBUTTON": true,
	"SHAPE": true, "GREETINGLINE": true, "ADDRESSBLOCK": true, "BIDIOUTLINE": true,
}
