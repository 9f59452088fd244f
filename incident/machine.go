package incident

import (
	"slices"
	"time"
)

// State is a step of the first-response flow of seed 003 (対応例: the user
// reports to the CSIRT desk, the CSIRT triages and rates the impact, handles
// the incident — decide the policy, preserve evidence, contain, eradicate —
// and reports the result to the CSIRT lead and the CISO), mapped on the
// guideline's clauses 1(9)③ (single desk), 5.3(3) (triage, containment,
// recovery, investigation) and 7.3(1) (evidence, containment, recovery).
type State string

// States in flow order.
const (
	StateReported   State = "reported"    // reported, not yet taken by the desk
	StateReceived   State = "received"    // received by the CSIRT desk (1(9)③)
	StateTriage     State = "triage"      // fact check and impact rating (5.3(3)①)
	StatePolicy     State = "policy"      // handling: deciding the response policy
	StateEvidence   State = "evidence"    // handling: preserving evidence (7.3(1))
	StateContain    State = "contain"     // handling: containment (5.3(3)③)
	StateEradicate  State = "eradicate"   // handling: eradication
	StateRecovery   State = "recovery"    // recovery (5.3(3)③)
	StateLeadReport State = "lead-report" // result reported to the CSIRT lead and the CISO (5.3(3)②④)
	StateClosed     State = "closed"
)

// States lists the states in flow order.
var States = []State{StateReported, StateReceived, StateTriage, StatePolicy, StateEvidence, StateContain, StateEradicate, StateRecovery, StateLeadReport, StateClosed}

var stateLabels = map[State]Label{
	StateReported:   {"報告済み（窓口未受付）", "Reported"},
	StateReceived:   {"CSIRT 窓口で受付", "Received by the CSIRT desk"},
	StateTriage:     {"トリアージ（影響度の判定）", "Triage"},
	StatePolicy:     {"対応方針の検討", "Deciding the policy"},
	StateEvidence:   {"証拠保全", "Preserving evidence"},
	StateContain:    {"封じ込め", "Containment"},
	StateEradicate:  {"根絶", "Eradication"},
	StateRecovery:   {"復旧", "Recovery"},
	StateLeadReport: {"CSIRT 責任者・CISO へ報告", "Reported to the CSIRT lead and CISO"},
	StateClosed:     {"完了", "Closed"},
}

// Label returns the display name.
func (s State) Label() Label { return stateLabels[s] }

// Valid reports whether s is a known state.
func (s State) Valid() bool { _, ok := stateLabels[s]; return ok }

// Handling reports whether s is one of the incident-handling sub-steps.
func (s State) Handling() bool {
	return s == StatePolicy || s == StateEvidence || s == StateContain || s == StateEradicate
}

// transitions are the allowed moves. Besides the forward flow, triage may
// close a report that is not an incident (5.3(3)①), containment may go
// back to evidence when new traces appear, and eradication back to
// containment when the attacker is still present.
var transitions = map[State][]State{
	StateReported:   {StateReceived},
	StateReceived:   {StateTriage},
	StateTriage:     {StatePolicy, StateClosed},
	StatePolicy:     {StateEvidence},
	StateEvidence:   {StateContain},
	StateContain:    {StateEradicate, StateEvidence},
	StateEradicate:  {StateRecovery, StateContain},
	StateRecovery:   {StateLeadReport},
	StateLeadReport: {StateClosed},
}

// Next lists the states inc may move to.
func Next(from State) []State { return slices.Clone(transitions[from]) }

// CanMove reports whether from → to is an allowed transition.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// Move applies the transition to inc at now, refusing illegal moves and
// moves whose preconditions are not met. It does not persist anything.
func Move(inc *Incident, to State, comment string, now time.Time) error {
	if !to.Valid() {
		return refuse("不明な状態です。", "unknown state")
	}
	if !CanMove(inc.State, to) {
		return refuse("「"+inc.State.Label().JA+"」から「"+to.Label().JA+"」には進めません。",
			"cannot move from "+string(inc.State)+" to "+string(to))
	}
	switch {
	case inc.State == StateTriage && to == StatePolicy && inc.Impact == 0:
		return refuse("トリアージで影響度を判定してから対応に進んでください。", "rate the impact before handling")
	case inc.State == StateTriage && to == StateClosed && comment == "":
		return refuse("インシデントに当たらないと判断した理由をコメントに書いてください。", "say why this is not an incident")
	case inc.State == StateLeadReport && to == StateClosed && inc.Review.Cause == "":
		return refuse("事後レビューの原因を記入してから完了にしてください。", "record the cause in the review before closing")
	}
	inc.State, inc.StateSince, inc.UpdatedAt = to, now, now
	if inc.Phases == nil {
		inc.Phases = map[State]time.Time{}
	}
	if _, ok := inc.Phases[to]; !ok {
		inc.Phases[to] = now
	}
	// Contained is when containment was finished: the first move past it.
	if inc.ContainedAt.IsZero() && (to == StateEradicate || to == StateRecovery) {
		inc.ContainedAt = now
	}
	if to == StateClosed {
		inc.ClosedAt = now
	}
	return nil
}
