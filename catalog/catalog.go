package catalog

import (
	"fmt"
	"slices"
	"strings"
)

// Kind names one of the catalogs held by this package.
type Kind string

// The catalogs.
const (
	Guideline  Kind = "guideline"  // the standards (対策基準), sections 1-9
	Ransomware Kind = "ransomware" // the 11-item ransomware checklist (seed 003)
	Resilience Kind = "resilience" // Reference 5: requirements sheet of the resilience model
	Vendor     Kind = "vendor"     // outsourcing vendor requirements (seed 003, 8.1)
)

// Kinds lists the catalogs in display order.
var Kinds = []Kind{Guideline, Ransomware, Resilience, Vendor}

// Obligation says whether a requirement is required or recommended (【推奨事項】).
type Obligation string

// Obligations.
const (
	Mandatory   Obligation = "mandatory"
	Recommended Obligation = "recommended"
)

// Roles from the authority table (権限・責任等一覧表, guideline part 3 appendix).
const (
	RoleCISO          = "ciso"                 // 最高情報セキュリティ責任者
	RoleChiefOfficer  = "chief-officer"        // 統括情報セキュリティ責任者
	RoleOfficer       = "security-officer"     // 情報セキュリティ責任者
	RoleManager       = "security-manager"     // 情報セキュリティ管理者
	RoleSysAdmin      = "system-administrator" // 情報システム管理者
	RoleStaff         = "staff"                // 職員等
	RoleCSIRT         = "csirt"                // CSIRT
	RoleCommittee     = "committee"            // 情報セキュリティ委員会
	RoleAuditor       = "auditor"              // 情報セキュリティ監査統括責任者
	RoleSysOperator   = "system-operator"      // 情報システム担当者
	RoleVendorCompany = "vendor"               // 外部委託事業者 (companion catalogs)
)

// Verification methods.
const (
	VerifyModel      = "model"      // automatic from the kyojin model
	VerifyOperations = "operations" // automatic from operations data and logs
	VerifyEvidence   = "evidence"   // a document is produced as evidence
	VerifyInterview  = "interview"  // asked in an interview
)

// Editions of the guideline the catalog knows, oldest first.
var Editions = []string{"H30.9", "R2.12", "R4.3", "R6.10", "R7.3"}

// Network models (三層の対策 variants).
var NetworkModels = []string{"alpha", "alpha-prime", "beta", "beta-prime"}

// Zones of the three-layer model.
var Zones = []string{"mynumber", "lgwan", "internet"}

// Confidentiality levels, highest first (3A/3B/3C from R6.10; 3 in H30.9 maps to them).
var ConfidentialityLevels = []string{"3A", "3B", "3C", "3", "2", "1"}

// OrgKinds are the kinds of local public body.
var OrgKinds = []string{"prefecture", "city", "special-ward", "town", "village", "association"}

// Features are optional capabilities whose clauses apply only to bodies using them.
var Features = []string{"uses-cloud", "outsources-systems", "telework", "wireless-lan",
	"social-media", "byod", "web-meeting", "remote-maintenance", "mobile-devices"}

var (
	roles         = []string{RoleCISO, RoleChiefOfficer, RoleOfficer, RoleManager, RoleSysAdmin, RoleStaff, RoleCSIRT, RoleCommittee, RoleAuditor, RoleSysOperator, RoleVendorCompany}
	verifications = []string{VerifyModel, VerifyOperations, VerifyEvidence, VerifyInterview}
	changes       = []string{"added", "changed", "removed"}
)

// Text is a bilingual string; Japanese is required, English optional.
type Text struct {
	JA string `json:"ja"`
	EN string `json:"en,omitempty"`
}

// In returns the text in lang ("en" or anything else for Japanese), falling back to Japanese.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.JA
}

// Applies holds the conditions under which an entry applies. An empty list means "any".
type Applies struct {
	NetworkModels      []string `json:"network_models,omitempty"`
	Zones              []string `json:"zones,omitempty"`
	MinConfidentiality string   `json:"min_confidentiality,omitempty"`
	OrgKinds           []string `json:"org_kinds,omitempty"`
	Features           []string `json:"features,omitempty"`
}

// IsZero reports whether no condition is set.
func (a Applies) IsZero() bool {
	return len(a.NetworkModels) == 0 && len(a.Zones) == 0 && a.MinConfidentiality == "" &&
		len(a.OrgKinds) == 0 && len(a.Features) == 0
}

// EditionChange records what an edition of the guideline did to an entry.
type EditionChange struct {
	Edition string `json:"edition"`
	Change  string `json:"change"` // added | changed | removed
	Note    string `json:"note,omitempty"`
}

// Entry is one requirement of a catalog.
type Entry struct {
	ID           string          `json:"id"`
	Parent       string          `json:"parent,omitempty"`
	Catalog      Kind            `json:"catalog"`
	Section      string          `json:"section"`
	Subsection   string          `json:"subsection,omitempty"`
	Category     string          `json:"category,omitempty"`
	Title        Text            `json:"title"`
	Summary      Text            `json:"summary"`
	Obligation   Obligation      `json:"obligation"`
	Applies      Applies         `json:"applies"`
	Roles        []string        `json:"role"`
	Verification []string        `json:"verification"`
	Evidence     []string        `json:"evidence,omitempty"`
	Related      []string        `json:"related,omitempty"` // guideline clauses this entry rests on
	Editions     []EditionChange `json:"editions"`
	Source       string          `json:"source"` // data file and line, e.g. "data/guideline-1.yaml:12"

	children []string
}

// Children returns the IDs of the entry's direct sub-clauses in document order.
func (e *Entry) Children() []string { return slices.Clone(e.children) }

// Introduced returns the edition that introduced the entry.
func (e *Entry) Introduced() string {
	for _, c := range e.Editions {
		if c.Change == "added" {
			return c.Edition
		}
	}
	return "H30.9"
}

// Removed reports whether a later edition removed the entry.
func (e *Entry) Removed() bool {
	return slices.ContainsFunc(e.Editions, func(c EditionChange) bool { return c.Change == "removed" })
}

// Section is a heading of a catalog (e.g. "6", "6.1", or "mynumber" for Reference 5).
type Section struct {
	ID      string `json:"id"`
	Catalog Kind   `json:"catalog"`
	Title   Text   `json:"title"`
}

// Catalog is the loaded, validated set of entries of all catalogs.
type Catalog struct {
	entries  []*Entry
	byID     map[string]*Entry
	sections []Section
}

// Entries returns all entries in document order.
func (c *Catalog) Entries() []*Entry { return slices.Clone(c.entries) }

// Sections returns the section headings in document order.
func (c *Catalog) Sections() []Section { return slices.Clone(c.sections) }

// SectionTitle returns the heading of section id in catalog k.
func (c *Catalog) SectionTitle(k Kind, id string) (Text, bool) {
	for _, s := range c.sections {
		if s.Catalog == k && s.ID == id {
			return s.Title, true
		}
	}
	return Text{}, false
}

// Lookup returns the entry with the given ID. Full-width digits and parentheses are
// accepted ("６．１（１４）③" finds "6.1(14)③").
func (c *Catalog) Lookup(id string) (*Entry, bool) {
	e, ok := c.byID[NormalizeID(id)]
	return e, ok
}

// Filter selects entries. Zero fields select everything.
type Filter struct {
	Catalog    Kind       // "" = all catalogs
	Section    string     // "6" matches 6.1-6.6; "6.1" matches the subsection only
	Obligation Obligation // "" = both
	Profile    *Profile   // nil = no applicability filter
	Edition    string     // if set, only entries that exist in this edition
}

// Select returns the entries matching f in document order.
func (c *Catalog) Select(f Filter) []*Entry {
	var out []*Entry
	for _, e := range c.entries {
		if f.Catalog != "" && e.Catalog != f.Catalog {
			continue
		}
		if f.Section != "" && e.Section != f.Section && e.Subsection != f.Section {
			continue
		}
		if f.Obligation != "" && e.Obligation != f.Obligation {
			continue
		}
		if f.Edition != "" && !c.InEdition(e, f.Edition) {
			continue
		}
		if f.Profile != nil {
			if ok, _ := c.AppliesTo(e, *f.Profile); !ok {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// InEdition reports whether e is part of the given edition (introduced at or before it and
// not removed at or before it).
func (c *Catalog) InEdition(e *Entry, edition string) bool {
	at := slices.Index(Editions, edition)
	if at < 0 {
		return false
	}
	if slices.Index(Editions, e.Introduced()) > at {
		return false
	}
	for _, ch := range e.Editions {
		if ch.Change == "removed" && slices.Index(Editions, ch.Edition) <= at {
			return false
		}
	}
	return true
}

// RoleName returns the Japanese (or English) name of a role.
func RoleName(role, lang string) string {
	n, ok := roleNames[role]
	if !ok {
		return role
	}
	return n.In(lang)
}

var roleNames = map[string]Text{
	RoleCISO:          {"最高情報セキュリティ責任者（CISO）", "Chief information security officer (CISO)"},
	RoleChiefOfficer:  {"統括情報セキュリティ責任者", "Chief security officer (統括情報セキュリティ責任者)"},
	RoleOfficer:       {"情報セキュリティ責任者", "Department security officer"},
	RoleManager:       {"情報セキュリティ管理者", "Section security manager"},
	RoleSysAdmin:      {"情報システム管理者", "System administrator"},
	RoleSysOperator:   {"情報システム担当者", "System operator"},
	RoleStaff:         {"職員等", "Staff"},
	RoleCSIRT:         {"CSIRT", "CSIRT"},
	RoleCommittee:     {"情報セキュリティ委員会", "Security committee"},
	RoleAuditor:       {"情報セキュリティ監査統括責任者", "Chief auditor"},
	RoleVendorCompany: {"外部委託事業者", "Contractor"},
}

// VerificationName returns the display name of a verification method.
func VerificationName(v, lang string) string {
	n, ok := verificationNames[v]
	if !ok {
		return v
	}
	return n.In(lang)
}

var verificationNames = map[string]Text{
	VerifyModel:      {"モデルから自動判定", "automatic from the model"},
	VerifyOperations: {"運用データ・ログから自動判定", "automatic from operations and logs"},
	VerifyEvidence:   {"証跡文書", "evidence document"},
	VerifyInterview:  {"ヒアリング", "interview"},
}

// KindName returns the display name of a catalog.
func KindName(k Kind, lang string) string {
	n, ok := kindNames[k]
	if !ok {
		return string(k)
	}
	return n.In(lang)
}

var kindNames = map[Kind]Text{
	Guideline:  {"ガイドライン対策基準", "Guideline standards"},
	Ransomware: {"ランサムウェア対策チェック（11項目）", "Ransomware checklist (11 items)"},
	Resilience: {"強靱性向上モデル要件シート（参考5）", "Resilience model requirements sheet (Reference 5)"},
	Vendor:     {"外部委託事業者への要件", "Outsourcing vendor requirements"},
}

// ObligationName returns the display name of an obligation.
func ObligationName(o Obligation, lang string) string {
	switch {
	case o == Recommended && lang == "en":
		return "recommended"
	case o == Recommended:
		return "推奨"
	case lang == "en":
		return "mandatory"
	default:
		return "必須"
	}
}

func joinQuoted(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
