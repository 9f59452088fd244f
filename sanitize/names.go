package sanitize

import (
	"strings"
	"unicode"
)

// NameIssue is a problem with a claimed file name or MIME type. Each is
// decided by the policy's names section (default: block), per clause 3(2)
// of the MIC guideline: a file whose name disguises its type is not let in.
type NameIssue string

const (
	IssueExtensionMismatch NameIssue = "extension_mismatch" // extension does not fit the content
	IssueMIMEMismatch      NameIssue = "mime_mismatch"      // declared MIME type does not fit the content
	IssueDoubleExtension   NameIssue = "double_extension"   // e.g. invoice.pdf.exe
	IssueBidiControl       NameIssue = "bidi_control"       // RLO and other bidi or invisible format characters
	IssueNoExtension       NameIssue = "no_extension"       // nothing to compare with
	IssuePolyglot          NameIssue = "polyglot"           // content is valid as more than one type
)

// isBidiOrInvisible reports characters that can make a name display
// differently from what it is: the bidi embeddings, overrides and isolates
// (U+202A–U+202E, U+2066–U+2069), marks (U+200E, U+200F, U+061C) and other
// format characters such as zero-width joiners.
func isBidiOrInvisible(r rune) bool {
	switch {
	case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069, r == 0x200E, r == 0x200F, r == 0x061C:
		return true
	}
	return unicode.Is(unicode.Cf, r)
}

// splitExt returns the lowercased last extension and the one before it
// ("" when absent), after dropping the trailing dots and spaces Windows
// ignores.
func splitExt(name string) (ext, inner string) {
	base := strings.TrimRight(baseName(name), ". ")
	parts := strings.Split(base, ".")
	if len(parts) < 2 || parts[0] == "" && len(parts) == 2 {
		return "", ""
	}
	ext = strings.ToLower(strings.TrimSpace(parts[len(parts)-1]))
	if len(parts) >= 3 {
		inner = strings.ToLower(strings.TrimSpace(parts[len(parts)-2]))
	}
	return ext, inner
}

// CheckName lists the issues of a claimed name and MIME type against the
// detected type.
func CheckName(name, declaredMIME string, d Detection) []NameIssue {
	var out []NameIssue
	if strings.IndexFunc(name, isBidiOrInvisible) >= 0 {
		out = append(out, IssueBidiControl)
	}
	ext, inner := splitExt(name)
	switch {
	case ext == "":
		out = append(out, IssueNoExtension)
	case d.Type != TypeUnknown && !extAccepted(d.Type, ext):
		out = append(out, IssueExtensionMismatch)
	}
	if inner != "" && (riskyExts[inner] || TypeForExt(inner) != TypeUnknown) {
		out = append(out, IssueDoubleExtension)
	}
	if d.Type != TypeUnknown && !mimeAccepted(d.Type, declaredMIME) {
		out = append(out, IssueMIMEMismatch)
	}
	if len(d.Also) > 0 {
		out = append(out, IssuePolyglot)
	}
	return out
}

// OutputName derives a safe delivery name: directory parts, control and
// bidi characters removed, the extension set to the output type's.
func OutputName(claimed string, out Type) string {
	base := baseName(claimed)
	base = strings.Map(func(r rune) rune {
		if isBidiOrInvisible(r) || unicode.IsControl(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			return -1
		}
		return r
	}, base)
	base = strings.TrimRight(base, ". ")
	ext, _ := splitExt(base)
	if ext != "" {
		base = base[:strings.LastIndex(base, ".")]
	}
	if base == "" || base == "." || base == ".." {
		base = "file"
	}
	want := ExtFor(out)
	if want == "" {
		return base
	}
	if ext != "" && extAccepted(out, ext) {
		want = ext
	}
	return base + "." + want
}
