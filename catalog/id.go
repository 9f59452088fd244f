package catalog

import (
	"regexp"
	"slices"
	"strings"
)

// Guideline IDs: section or subsection, optional "(n)", optional circled number, optional
// katakana item, optional "@edition". Circled numbers ①-⑳ and the katakana (ア)-(ン) are the
// guideline's own markers.
var (
	guidelineID  = regexp.MustCompile(`^([1-9])(?:\.([1-9]))?(\([1-9][0-9]?\))?([①-⑳](\([ア-ン]\))?)?(@(?:R2\.12|R4\.3|R6\.10|R7\.3))?$`)
	ransomwareID = regexp.MustCompile(`^RW-[0-9]{2}$`)
	resilienceID = regexp.MustCompile(`^R5-[0-9]{2}[①-⑳]?$`)
	vendorID     = regexp.MustCompile(`^VR-[0-9]{2}$`)
)

var idReplacer = strings.NewReplacer(
	"（", "(", "）", ")", "．", ".", "＠", "@", "－", "-",
	"０", "0", "１", "1", "２", "2", "３", "3", "４", "4",
	"５", "5", "６", "6", "７", "7", "８", "8", "９", "9",
	"Ｒ", "R", "Ｗ", "W", "Ｖ", "V",
)

// NormalizeID maps full-width digits and punctuation to ASCII and trims spaces, so that IDs
// typed with a Japanese input method still match.
func NormalizeID(id string) string {
	return idReplacer.Replace(strings.Join(strings.Fields(id), ""))
}

// idInfo is what an ID says about itself.
type idInfo struct {
	section    string
	subsection string
	parent     string // candidate parent ID ("" for top level)
	edition    string // "" for baseline
	clause     bool   // the ID names a "(n)" clause or a subsection without clauses
}

// parseID validates id for catalog k and derives section, subsection and the candidate
// parent. ok is false when the ID does not follow the catalog's numbering.
func parseID(k Kind, id string) (info idInfo, ok bool) {
	switch k {
	case Guideline:
		m := guidelineID.FindStringSubmatch(id)
		if m == nil {
			return info, false
		}
		info.section = m[1]
		if m[2] != "" {
			info.subsection = m[1] + "." + m[2]
		}
		// Sections 4-9 are split into subsections; 1-3 are not (guideline 第3章 structure).
		hasSubs := m[1] >= "4"
		if hasSubs != (m[2] != "") {
			return info, false
		}
		if m[6] != "" {
			info.edition = m[6][1:]
			info.parent = strings.TrimSuffix(id, m[6])
			return info, true
		}
		switch {
		case m[5] != "":
			info.parent = strings.TrimSuffix(id, m[5])
		case m[4] != "":
			info.parent = strings.TrimSuffix(id, m[4])
		case m[3] != "":
			info.clause = true
		default:
			// A bare subsection ("4.3") is an entry only where the guideline has no "(n)".
			if m[2] == "" {
				return info, false
			}
			info.clause = true
		}
		return info, true
	case Ransomware:
		return info, ransomwareID.MatchString(id)
	case Resilience:
		if !resilienceID.MatchString(id) {
			return info, false
		}
		if r := []rune(id); len(r) == 6 {
			info.parent = string(r[:5])
		}
		return info, true
	case Vendor:
		return info, vendorID.MatchString(id)
	}
	return info, false
}

func validEdition(s string) bool { return slices.Contains(Editions, s) }
