package notify

import (
	"fmt"
	"strings"
	"time"
)

// Kind is what a notification is about; each kind has one template per
// language.
type Kind string

// The kinds of notification.
const (
	KindAlert           Kind = "alert"
	KindIncidentOpened  Kind = "incident-opened"
	KindIncidentState   Kind = "incident-state"
	KindIncidentSLAWarn Kind = "incident-sla-warning"
	KindEscalation      Kind = "escalation"
	KindTamper          Kind = "tamper"
	KindTest            Kind = "test"
	// KindDigest is produced by the dispatcher itself when a route's quiet
	// interval gathers several notifications into one.
	KindDigest Kind = "digest"
)

// Kinds lists every kind a caller may send.
var Kinds = []Kind{KindAlert, KindIncidentOpened, KindIncidentState, KindIncidentSLAWarn, KindEscalation, KindTamper, KindTest}

func (k Kind) valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return k == KindDigest
}

// UnmarshalText accepts the kind names.
func (k *Kind) UnmarshalText(b []byte) error {
	v := Kind(b)
	if !v.valid() {
		return valueError("不明な通知の種類です: "+string(b), "unknown notification kind: "+string(b),
			"alert, incident-opened, incident-state, incident-sla-warning, escalation, tamper, test のいずれか",
			"one of alert, incident-opened, incident-state, incident-sla-warning, escalation, tamper, test")
	}
	*k = v
	return nil
}

// Severity orders notifications; the names are Sigma's levels.
type Severity int

// Severities from least to most severe.
const (
	SevInfo Severity = iota
	SevLow
	SevMedium
	SevHigh
	SevCritical
)

var sevNames = []string{"informational", "low", "medium", "high", "critical"}
var sevJA = []string{"情報", "低", "中", "高", "緊急"}

func (s Severity) String() string {
	if s < 0 || int(s) >= len(sevNames) {
		return "unknown"
	}
	return sevNames[s]
}

// Japanese is the label shown in Japanese templates.
func (s Severity) Japanese() string {
	if s < 0 || int(s) >= len(sevJA) {
		return "不明"
	}
	return sevJA[s]
}

// ParseSeverity accepts Sigma levels ("informational" or "info", low,
// medium, high, critical), case-insensitively.
func ParseSeverity(s string) (Severity, error) {
	v := strings.ToLower(strings.TrimSpace(s))
	if v == "info" {
		return SevInfo, nil
	}
	for i, n := range sevNames {
		if v == n {
			return Severity(i), nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q", s)
}

// UnmarshalText implements strict decoding of severities.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return valueError("不明な重要度です: "+string(b), "unknown severity: "+string(b),
			"informational, low, medium, high, critical のいずれか", "one of informational, low, medium, high, critical")
	}
	*s = v
	return nil
}

// MarshalText writes the Sigma level name.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Message is one notification as the caller describes it. Data holds the
// subject matter shown by the kind's template (see docs/notify.md for the
// keys each template uses); values are shown as text and never interpreted.
type Message struct {
	Kind     Kind           `json:"kind"`
	Tenant   string         `json:"tenant"`
	Severity Severity       `json:"severity"`
	Title    string         `json:"title"`          // one line: rule title, incident title…
	Data     map[string]any `json:"data,omitempty"` // kind-specific fields
	Link     string         `json:"link,omitempty"` // console URL of the object
	// Ref identifies the alert or incident (used by escalation and digests).
	Ref Ref `json:"ref,omitzero"`
	// Time is when the event happened; zero means now.
	Time time.Time `json:"time"`
}

// Ref names an alert or an incident of a tenant.
type Ref struct {
	Kind   string `json:"kind"` // "alert", "incident", "tamper"…
	ID     string `json:"id"`
	Tenant string `json:"tenant"`
}

func (r Ref) String() string { return r.Kind + ":" + r.Tenant + ":" + r.ID }

func (m *Message) check() error {
	if !m.Kind.valid() {
		return fmt.Errorf("notify: unknown kind %q", m.Kind)
	}
	if m.Severity < SevInfo || m.Severity > SevCritical {
		return fmt.Errorf("notify: severity %d out of range", m.Severity)
	}
	return nil
}
