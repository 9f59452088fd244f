package store

import (
	"context"
	"time"
)

// Incident is one security incident of a security-cloud tenant, as handled
// by the CSIRT (guideline clause 1(9), 5.3(3)). The store keeps the columns
// it filters on; everything else package incident owns is kept as its JSON
// in Data, so the domain can grow without a migration.
type Incident struct {
	Tenant    string    `json:"tenant"`
	ID        string    `json:"id"`
	Ref       string    `json:"ref"` // reference number shown to reporters, unique
	Title     string    `json:"title"`
	Type      string    `json:"type"`
	Source    string    `json:"source"`
	Impact    int       `json:"impact"` // 0 = not yet triaged
	State     string    `json:"state"`
	Assignee  string    `json:"assignee"`
	Reporter  string    `json:"reporter"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// StateSince is when the current state was entered (SLA timers).
	StateSince  time.Time `json:"state_since"`
	ContainedAt time.Time `json:"contained_at"`
	ClosedAt    time.Time `json:"closed_at"`
	// WarnAt is when the first SLA warning of the incident as stored
	// starts (zero: none), so that the warnings are found by index.
	WarnAt time.Time `json:"warn_at"`
	// Version increases with every update (optimistic locking).
	Version int64  `json:"version"`
	Data    string `json:"data"` // JSON owned by package incident
}

// IncidentEvent is one line of an incident's timeline: who did what, when.
type IncidentEvent struct {
	Tenant     string    `json:"tenant"`
	IncidentID string    `json:"incident_id"`
	Seq        int       `json:"seq"` // 1, 2, … per incident, set by the store
	At         time.Time `json:"at"`
	Actor      string    `json:"actor"`
	Kind       string    `json:"kind"` // "create", "transition", "assign", "evidence", …
	From       string    `json:"from"`
	To         string    `json:"to"`
	Comment    string    `json:"comment"`
}

// IncidentEvidence is an attachment of an incident. Sealed is the file
// encrypted by package incident; SHA256 is the plaintext's, taken at upload.
type IncidentEvidence struct {
	Tenant      string    `json:"tenant"`
	IncidentID  string    `json:"incident_id"`
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Sealed      []byte    `json:"sealed,omitempty"` // left empty by ListEvidence
	UploadedBy  string    `json:"uploaded_by"`
	UploadedAt  time.Time `json:"uploaded_at"`
}

// IncidentFilter selects incidents. Tenants restricts the result to those
// tenants unless AllTenants is set; with neither, nothing matches (fail
// closed, like auth.TenantScope). Zero fields of the rest match everything.
type IncidentFilter struct {
	AllTenants bool
	Tenants    []string
	State      string
	Type       string
	Impact     int
	Open       bool      // only incidents not closed (ClosedAt unset)
	WarnBy     time.Time // only incidents whose WarnAt is set and not after WarnBy
	BySLA      bool      // order by WarnAt, earliest first, instead of newest first
	Since      time.Time
	Until      time.Time // created before
	Limit      int       // 0 = no limit
	Offset     int
}

// IncidentRecord is an incident with its timeline and evidence, as backed up.
type IncidentRecord struct {
	Incident Incident           `json:"incident"`
	Events   []IncidentEvent    `json:"events"`
	Evidence []IncidentEvidence `json:"evidence"`
}

// IncidentStore is the part of Store that keeps incidents (schema 5).
// Every read takes the tenant, so that a handler cannot fetch another
// tenant's record by id alone.
type IncidentStore interface {
	// CreateIncident inserts inc (Version 1) and its first timeline event
	// in one transaction; ErrConflict when the id or ref is taken.
	CreateIncident(ctx context.Context, inc *Incident, ev *IncidentEvent) error
	// Incident returns the incident; ErrNotFound when it does not exist
	// in that tenant.
	Incident(ctx context.Context, tenant, id string) (*Incident, error)
	// IncidentByRef finds an incident by its reference number in tenant.
	IncidentByRef(ctx context.Context, tenant, ref string) (*Incident, error)
	// UpdateIncident stores inc if its stored version is still
	// inc.Version (ErrStale otherwise), increments Version and appends ev
	// (when not nil) to the timeline, atomically.
	UpdateIncident(ctx context.Context, inc *Incident, ev *IncidentEvent) error
	// ListIncidents returns the newest incidents first.
	ListIncidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	CountIncidents(ctx context.Context, f IncidentFilter) (int, error)
	// IncidentEvents returns the timeline in order.
	IncidentEvents(ctx context.Context, tenant, id string) ([]IncidentEvent, error)
	// AddEvidence stores an attachment and its timeline event atomically.
	AddEvidence(ctx context.Context, e *IncidentEvidence, ev *IncidentEvent) error
	// ListEvidence returns the attachments without their content.
	ListEvidence(ctx context.Context, tenant, incidentID string) ([]IncidentEvidence, error)
	// Evidence returns one attachment with its sealed content.
	Evidence(ctx context.Context, tenant, incidentID, id string) (*IncidentEvidence, error)
}
