package incident

// Impact is the impact level rated at triage (影響度, seed 003 step 4). The
// scale and who must be told at each level are documented in
// docs/incident.md; clause 1(9)⑤ asks for reports to MIC and the
// prefecture, 1(9)⑥ for public disclosure by the CISO where warranted.
type Impact int

// Impact levels; 0 means not yet rated.
const (
	ImpactNone     Impact = 0
	ImpactLow      Impact = 1 // no effect on business or information
	ImpactMedium   Impact = 2 // limited to one section, no personal information involved
	ImpactHigh     Impact = 3 // a business system stopped, or personal information possibly exposed
	ImpactCritical Impact = 4 // several systems or bodies, confirmed leak, or residents affected
)

// Impacts lists the rated levels.
var Impacts = []Impact{ImpactLow, ImpactMedium, ImpactHigh, ImpactCritical}

var impactLabels = map[Impact]Label{
	ImpactNone:     {"未判定", "Not rated"},
	ImpactLow:      {"1 軽微", "1 Low"},
	ImpactMedium:   {"2 中", "2 Medium"},
	ImpactHigh:     {"3 高", "3 High"},
	ImpactCritical: {"4 重大", "4 Critical"},
}

// Label returns the display name.
func (i Impact) Label() Label { return impactLabels[i] }

// Valid reports whether i is a rated level.
func (i Impact) Valid() bool { return i >= ImpactLow && i <= ImpactCritical }

// NeedsPrefecture reports whether the level requires a report to the
// prefecture (the security cloud operator).
func (i Impact) NeedsPrefecture() bool { return i >= ImpactHigh }

// NeedsMIC reports whether the level requires a report to MIC.
func (i Impact) NeedsMIC() bool { return i >= ImpactCritical }
