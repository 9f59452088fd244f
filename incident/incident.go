package incident

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/kyojin/kyojin/store"
)

// Label is a bilingual display name.
type Label struct{ JA, EN string }

// In returns the label in lang ("en" or Japanese).
func (l Label) In(lang string) string {
	if lang == "en" {
		return l.EN
	}
	return l.JA
}

// Type is the kind of incident. The list follows the cases of seed 003
// (ransomware, a vendor's breach, a VDI break-in, defaced websites) plus
// the usual remainder.
type Type string

// Incident types.
const (
	TypeRansomware   Type = "ransomware"
	TypeVendorLeak   Type = "vendor-leak"
	TypeDefacement   Type = "web-defacement"
	TypeRemoteAccess Type = "remote-access-takeover"
	TypeMalware      Type = "malware"
	TypeUnauthorized Type = "unauthorized-access"
	TypeDeviceLoss   Type = "device-loss"
	TypeOther        Type = "other"
)

// Types lists the types in display order.
var Types = []Type{TypeRansomware, TypeVendorLeak, TypeDefacement, TypeRemoteAccess, TypeMalware, TypeUnauthorized, TypeDeviceLoss, TypeOther}

var typeLabels = map[Type]Label{
	TypeRansomware:   {"ランサムウェア", "Ransomware"},
	TypeVendorLeak:   {"委託先での情報漏えい", "Data leak at a vendor"},
	TypeDefacement:   {"Web サイトの改ざん", "Web defacement"},
	TypeRemoteAccess: {"リモートアクセスのアカウント乗っ取り", "Remote access account takeover"},
	TypeMalware:      {"マルウェア感染", "Malware"},
	TypeUnauthorized: {"不正アクセス", "Unauthorized access"},
	TypeDeviceLoss:   {"端末・記録媒体の紛失・盗難", "Lost or stolen device or media"},
	TypeOther:        {"その他", "Other"},
}

// Label returns the display name.
func (t Type) Label() Label { return typeLabels[t] }

// Valid reports whether t is a known type.
func (t Type) Valid() bool { _, ok := typeLabels[t]; return ok }

// Source is how the incident came to the CSIRT.
type Source string

// Sources.
const (
	SourceAlerts  Source = "alerts"  // security cloud alerts
	SourceStaff   Source = "staff"   // 職員からの報告 (5.3(1))
	SourceOutside Source = "outside" // residents, vendors (5.3(2))
	SourceManual  Source = "manual"  // entered by the CSIRT
)

var sourceLabels = map[Source]Label{
	SourceAlerts:  {"監視アラート", "Alerts"},
	SourceStaff:   {"職員からの報告", "Staff report"},
	SourceOutside: {"外部からの報告", "Outside report"},
	SourceManual:  {"CSIRT による登録", "Entered by the CSIRT"},
}

// Label returns the display name.
func (s Source) Label() Label { return sourceLabels[s] }

// Valid reports whether s is a known source.
func (s Source) Valid() bool { _, ok := sourceLabels[s]; return ok }

// Link points at an object of the tenant's model.
type Link struct {
	Kind string `json:"kind"` // host, system, zone, asset
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// LinkKinds are the model objects an incident can point at.
var LinkKinds = []string{"host", "system", "zone", "asset"}

// CheckItem is one playbook step as done (or not) in this incident.
type CheckItem struct {
	ID   string    `json:"id"`
	JA   string    `json:"ja"`
	EN   string    `json:"en"`
	Done bool      `json:"done"`
	By   string    `json:"by,omitempty"`
	At   time.Time `json:"at,omitzero"`
}

// Escalation records a report outside the body (clause 1(9)⑤).
type Escalation struct {
	At      time.Time `json:"at,omitzero"`
	By      string    `json:"by,omitempty"`
	Comment string    `json:"comment,omitempty"`
}

// Done reports whether the escalation happened.
func (e Escalation) Done() bool { return !e.At.IsZero() }

// Action is a corrective action decided in the post-incident review
// (clause 5.3(3)④⑤).
type Action struct {
	ID      string    `json:"id"`
	Action  string    `json:"action"`
	Owner   string    `json:"owner"`
	Due     time.Time `json:"due"`
	Clauses []string  `json:"clauses,omitempty"`
	Done    bool      `json:"done,omitempty"`
}

// Review is the post-incident review.
type Review struct {
	Cause   string    `json:"cause,omitempty"`
	Lessons string    `json:"lessons,omitempty"`
	Actions []Action  `json:"actions,omitempty"`
	By      string    `json:"by,omitempty"`
	At      time.Time `json:"at,omitzero"`
}

// Indicator is an indicator of compromise (domain, ip, url, sha256).
type Indicator struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// Incident is the domain view of one incident.
type Incident struct {
	Tenant      string
	ID          string
	Ref         string
	Title       string
	Type        Type
	Source      Source
	Impact      Impact
	State       State
	Assignee    string
	Reporter    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	StateSince  time.Time
	ContainedAt time.Time
	ClosedAt    time.Time
	Version     int64
	Details
}

// Details are the parts kept as JSON in store.Incident.Data.
type Details struct {
	Description string      `json:"description,omitempty"`
	Contact     string      `json:"contact,omitempty"` // outside reporter's contact, as given
	Alerts      []string    `json:"alerts,omitempty"`
	Links       []Link      `json:"links,omitempty"`
	Clauses     []string    `json:"clauses,omitempty"`
	Playbook    string      `json:"playbook,omitempty"`
	Checklist   []CheckItem `json:"checklist,omitempty"`
	Prefecture  Escalation  `json:"prefecture,omitzero"`
	MIC         Escalation  `json:"mic,omitzero"`
	Review      Review      `json:"review,omitzero"`
	Indicators  []Indicator `json:"indicators,omitempty"`
	Published   Escalation  `json:"published,omitzero"` // indicators shared with member bodies
	// Phases records when each state was first entered (reports, statistics).
	Phases map[State]time.Time `json:"phases,omitempty"`
	// Notified records which SLA warnings were sent (NotifyWarnings).
	Notified map[string]time.Time `json:"notified,omitempty"`
}

func fromStore(r *store.Incident) (*Incident, error) {
	inc := &Incident{Tenant: r.Tenant, ID: r.ID, Ref: r.Ref, Title: r.Title, Type: Type(r.Type), Source: Source(r.Source),
		Impact: Impact(r.Impact), State: State(r.State), Assignee: r.Assignee, Reporter: r.Reporter, CreatedAt: r.CreatedAt,
		UpdatedAt: r.UpdatedAt, StateSince: r.StateSince, ContainedAt: r.ContainedAt, ClosedAt: r.ClosedAt, Version: r.Version}
	if r.Data != "" {
		if err := json.Unmarshal([]byte(r.Data), &inc.Details); err != nil {
			return nil, fmt.Errorf("incident %s: decode details: %w", r.ID, err)
		}
	}
	return inc, nil
}

func (inc *Incident) toStore() (*store.Incident, error) {
	data, err := json.Marshal(&inc.Details)
	if err != nil {
		return nil, fmt.Errorf("incident %s: encode details: %w", inc.ID, err)
	}
	return &store.Incident{Tenant: inc.Tenant, ID: inc.ID, Ref: inc.Ref, Title: inc.Title, Type: string(inc.Type), Source: string(inc.Source),
		Impact: int(inc.Impact), State: string(inc.State), Assignee: inc.Assignee, Reporter: inc.Reporter, CreatedAt: inc.CreatedAt,
		UpdatedAt: inc.UpdatedAt, StateSince: inc.StateSince, ContainedAt: inc.ContainedAt, ClosedAt: inc.ClosedAt, WarnAt: inc.WarnAt(),
		Version: inc.Version, Data: string(data)}, nil
}

// TimeToContain is how long containment took from the report; zero when
// not yet contained.
func (inc *Incident) TimeToContain() time.Duration {
	if inc.ContainedAt.IsZero() {
		return 0
	}
	return inc.ContainedAt.Sub(inc.CreatedAt)
}

// UserError is a refusal whose message can be shown to the user.
type UserError struct{ Msg Label }

func (e *UserError) Error() string { return e.Msg.EN }

func refuse(ja, en string) error { return &UserError{Label{ja, en}} }
