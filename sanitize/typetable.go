package sanitize

import (
	"mime"
	"path"
	"strings"
)

// typeInfo lists, per type, the file-name extensions and MIME types that
// may legitimately claim it. The first extension is used for output names.
var typeInfo = map[Type]struct {
	exts  []string
	mimes []string
}{
	TypeText: {[]string{"txt", "text", "log"}, []string{"text/plain"}},
	// Browsers on Windows declare CSV as application/vnd.ms-excel.
	TypeCSV: {[]string{"csv"}, []string{"text/csv", "application/csv", "text/comma-separated-values", "application/vnd.ms-excel", "text/plain"}},
	TypePDF: {[]string{"pdf"}, []string{"application/pdf", "application/x-pdf"}},
	TypeDOCX: {[]string{"docx", "dotx"}, []string{"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.template"}},
	TypeDOCM: {[]string{"docm", "dotm"}, []string{"application/vnd.ms-word.document.macroenabled.12", "application/vnd.ms-word.template.macroenabled.12"}},
	TypeXLSX: {[]string{"xlsx", "xltx"}, []string{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
		"application/vnd.openxmlformats-officedocument.spreadsheetml.template"}},
	TypeXLSM: {[]string{"xlsm", "xltm"}, []string{"application/vnd.ms-excel.sheet.macroenabled.12", "application/vnd.ms-excel.template.macroenabled.12"}},
	TypePPTX: {[]string{"pptx", "ppsx", "potx"}, []string{"application/vnd.openxmlformats-officedocument.presentationml.presentation",
		"application/vnd.openxmlformats-officedocument.presentationml.slideshow", "application/vnd.openxmlformats-officedocument.presentationml.template"}},
	TypePPTM: {[]string{"pptm", "ppsm", "potm"}, []string{"application/vnd.ms-powerpoint.presentation.macroenabled.12",
		"application/vnd.ms-powerpoint.slideshow.macroenabled.12", "application/vnd.ms-powerpoint.template.macroenabled.12"}},
	TypeDOC:  {[]string{"doc", "dot"}, []string{"application/msword"}},
	TypeXLS:  {[]string{"xls", "xlt"}, []string{"application/vnd.ms-excel"}},
	TypePPT:  {[]string{"ppt", "pps", "pot"}, []string{"application/vnd.ms-powerpoint"}},
	TypeRTF:  {[]string{"rtf"}, []string{"application/rtf", "text/rtf"}},
	TypePNG:  {[]string{"png"}, []string{"image/png"}},
	TypeJPEG: {[]string{"jpg", "jpeg", "jpe", "jfif"}, []string{"image/jpeg", "image/pjpeg"}},
	TypeGIF:  {[]string{"gif"}, []string{"image/gif"}},
	TypeBMP:  {[]string{"bmp", "dib"}, []string{"image/bmp", "image/x-ms-bmp", "image/x-bmp"}},
	TypeTIFF: {[]string{"tif", "tiff"}, []string{"image/tiff"}},
	TypeWebP: {[]string{"webp"}, []string{"image/webp"}},
	TypeZIP:  {[]string{"zip"}, []string{"application/zip", "application/x-zip-compressed", "application/x-zip"}},
	Type7z:   {[]string{"7z"}, []string{"application/x-7z-compressed"}},
	// An encrypted OOXML package travels under any Office extension.
	TypeEncryptedOffice: {[]string{"docx", "docm", "xlsx", "xlsm", "pptx", "pptm", "doc", "xls", "ppt"}, nil},
}

// riskyExts are extensions that, as the inner part of a double extension,
// indicate a disguise (invoice.pdf.exe) besides every extension in typeInfo.
var riskyExts = map[string]bool{
	"exe": true, "scr": true, "com": true, "bat": true, "cmd": true, "pif": true, "cpl": true,
	"js": true, "jse": true, "vbs": true, "vbe": true, "wsf": true, "wsh": true, "ps1": true,
	"hta": true, "lnk": true, "msi": true, "jar": true, "dll": true, "iso": true, "img": true,
	"vhd": true, "html": true, "htm": true, "svg": true, "one": true, "xll": true, "reg": true,
}

// KnownTypes returns every type the policy may name.
func KnownTypes() []Type {
	out := []Type{TypeUnknown}
	for t := range typeInfo {
		out = append(out, t)
	}
	return out
}

// ExtFor returns the usual extension of t ("" for unknown types).
func ExtFor(t Type) string {
	if info, ok := typeInfo[t]; ok && t != TypeEncryptedOffice {
		return info.exts[0]
	}
	return ""
}

// TypeForExt maps a file-name extension (without dot, any case) to the type
// that claims it, for code that only has a name (e.g. an archive inspector).
// Ambiguous or unknown extensions give TypeUnknown.
func TypeForExt(ext string) Type {
	ext = strings.ToLower(ext)
	for _, t := range []Type{TypeText, TypeCSV, TypePDF, TypeDOCX, TypeDOCM, TypeXLSX, TypeXLSM, TypePPTX, TypePPTM,
		TypeDOC, TypeXLS, TypePPT, TypeRTF, TypePNG, TypeJPEG, TypeGIF, TypeBMP, TypeTIFF, TypeWebP, TypeZIP, Type7z} {
		for _, e := range typeInfo[t].exts {
			if e == ext {
				return t
			}
		}
	}
	return TypeUnknown
}

// extAccepted reports whether ext may name content of type t.
func extAccepted(t Type, ext string) bool {
	for _, e := range typeInfo[t].exts {
		if e == ext {
			return true
		}
	}
	return false
}

// mimeAccepted reports whether the declared MIME type fits t. Empty and
// generic declarations say nothing and are accepted.
func mimeAccepted(t Type, declared string) bool {
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(declared))
	}
	if mt == "" || mt == "application/octet-stream" {
		return true
	}
	if t == TypeEncryptedOffice {
		return true
	}
	for _, m := range typeInfo[t].mimes {
		if m == mt {
			return true
		}
	}
	return false
}

// baseName strips any directory part, with either separator.
func baseName(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	return path.Base("/" + name)
}
