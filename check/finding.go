// Package check proves that a municipality's model keeps the three-zone
// separation (三層の対策) the guideline requires: the network connection,
// server-to-server and terminal-to-server rules of Appendix 2 (steps 1-3),
// the requirements sheet of Reference 5, standards clause 3 and the α, α',
// β and β' model descriptions. Each rule yields findings that name the
// objects involved, the clause they violate, and how to fix them.
package check

import (
	"fmt"
	"strings"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
)

// Severity ranks findings.
type Severity int

const (
	Info Severity = iota
	Low
	Medium
	High
	Critical
)

var sevNames = []string{"info", "low", "medium", "high", "critical"}
var sevJA = []string{"情報", "低", "中", "高", "重大"}

func (s Severity) String() string { return sevNames[s] }

// JA is the Japanese label.
func (s Severity) JA() string { return sevJA[s] }

// Label returns the label in lang.
func (s Severity) Label(lang string) string {
	if lang == "en" {
		return s.String()
	}
	return s.JA()
}

// ParseSeverity reads "info".."critical" (or the Japanese labels).
func ParseSeverity(s string) (Severity, error) {
	for i := range sevNames {
		if strings.EqualFold(s, sevNames[i]) || s == sevJA[i] {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (use info, low, medium, high or critical)", s)
}

func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Finding is one violation.
type Finding struct {
	Rule        string    `json:"rule"`
	Severity    Severity  `json:"severity"`
	Title       diag.Text `json:"title"`
	Message     diag.Text `json:"message"`
	Objects     []string  `json:"objects"`
	Clauses     []string  `json:"clauses"`
	Remediation diag.Text `json:"remediation"`
	File        string    `json:"file,omitempty"`
	Line        int       `json:"line,omitempty"`
}

// Verdict of an inventory row against the rules.
type Verdict string

const (
	OK Verdict = "OK"
	NG Verdict = "NG"
)

// ConnectionRow is a line of the network-connection inventory (Appendix 2
// step 1): traffic between a zone and another zone or an external network,
// aggregated over flows.
type ConnectionRow struct {
	FromZone  string   `json:"from_zone"`
	To        string   `json:"to"` // zone id or external endpoint name
	ToKind    string   `json:"to_kind"`
	Mechanism string   `json:"mechanism"`
	Ports     []string `json:"ports"`
	Flows     int      `json:"flows"`
	Verdict   Verdict  `json:"verdict"`
	Rules     []string `json:"rules,omitempty"`
}

// PairRow is a line of the server-to-server or terminal-to-server inventory
// (Appendix 2 steps 2 and 3).
type PairRow struct {
	Flow      string   `json:"flow"`
	From      string   `json:"from"`
	FromZone  string   `json:"from_zone"`
	FromRole  string   `json:"from_role"`
	Count     int      `json:"count"` // terminals in the group
	To        string   `json:"to"`
	ToZone    string   `json:"to_zone"`
	ToRole    string   `json:"to_role"`
	Ports     []string `json:"ports"`
	Mechanism string   `json:"mechanism"`
	Verdict   Verdict  `json:"verdict"`
	Rules     []string `json:"rules,omitempty"`
}

// Summary counts what was checked.
type Summary struct {
	Zones, Systems, Assets, Hosts, Terminals, Communications, Flows int
	BySeverity                                                      [5]int
}

// Result is the outcome of checking one model.
type Result struct {
	Organization string          `json:"organization"`
	Code         string          `json:"code"`
	NetworkModel string          `json:"network_model"`
	Findings     []Finding       `json:"findings"`
	Connections  []ConnectionRow `json:"connections"`
	ServerPairs  []PairRow       `json:"server_to_server"`
	TerminalRows []PairRow       `json:"terminal_to_server"`
	Summary      Summary         `json:"summary"`
	Model        *model.Model    `json:"-"`
}

// Max returns the highest severity found, or -1 when there are no findings.
func (r *Result) Max() Severity {
	max := Severity(-1)
	for _, f := range r.Findings {
		if f.Severity > max {
			max = f.Severity
		}
	}
	return max
}
