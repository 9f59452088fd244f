package store

import (
	"context"
	"errors"
	"time"
)

// Alert statuses (issue 8 §3: alerts are shown and handled in the console).
const (
	AlertNew          = "new"
	AlertAcknowledged = "acknowledged"
	AlertClosed       = "closed"
	AlertSuppressed   = "suppressed"
)

// AlertStatuses lists the statuses in workflow order.
var AlertStatuses = []string{AlertNew, AlertAcknowledged, AlertClosed, AlertSuppressed}

// MaxAlertEvents bounds the events kept with one alert: a flood of
// matches increments Count but does not grow the row without bound.
const MaxAlertEvents = 20

// ErrInvalid is returned for a record that fails validation (empty tenant,
// unknown status…).
var ErrInvalid = errors.New("store: invalid record")

// Tenants is the set of security-cloud tenants a query may touch. The zero
// value touches nothing (fail closed); All is the prefecture operator's
// view. Every AlertStore method takes one, and on PostgreSQL it is also
// enforced by row-level security.
type Tenants struct {
	All bool
	IDs []string
}

// AllTenants is the scope of the system itself (detection writing alerts).
var AllTenants = Tenants{All: true}

// OneTenant is the scope of one tenant.
func OneTenant(id string) Tenants { return Tenants{IDs: []string{id}} }

// Has reports whether id is within the scope.
func (t Tenants) Has(id string) bool {
	if t.All {
		return true
	}
	for _, x := range t.IDs {
		if x == id {
			return true
		}
	}
	return false
}

// Empty reports whether the scope touches nothing.
func (t Tenants) Empty() bool { return !t.All && len(t.IDs) == 0 }

// Alert is one detection result kept for handling. Hits with the same
// tenant, rule and dedup key within the dedup window are one alert: Count
// grows and LastSeen moves; Events keeps the first MaxAlertEvents.
type Alert struct {
	ID     int64  `json:"id"`
	Tenant string `json:"tenant"`
	Rule   string `json:"rule"`
	Title  string `json:"title"`
	Level  string `json:"level"` // Sigma level: informational, low, medium, high, critical
	// Credit names the rule and its author; the Detection Rule License of
	// the shared Sigma rules requires it wherever the alert is shown.
	Credit    string       `json:"credit"`
	Source    string       `json:"source"` // parser of the first event (squid, bind, …) or the raising component
	Host      string       `json:"host"`
	SrcIP     string       `json:"src_ip"`
	DstIP     string       `json:"dst_ip"`
	DedupKey  string       `json:"dedup_key"`
	FirstSeen time.Time    `json:"first_seen"`
	LastSeen  time.Time    `json:"last_seen"`
	Count     int64        `json:"count"`
	Status    string       `json:"status"`
	Assignee  string       `json:"assignee"`
	Events    []AlertEvent `json:"events"`
	Notes     []AlertNote  `json:"notes"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// AlertEvent is one event behind an alert: its time, source and raw line.
// Ref locates the full normalized event in the event store (tenant/day).
type AlertEvent struct {
	Time   time.Time `json:"time"`
	Source string    `json:"source,omitempty"`
	Host   string    `json:"host,omitempty"`
	Raw    string    `json:"raw"`
	Ref    string    `json:"ref,omitempty"`
}

// AlertNote is one line of the alert's handling history.
type AlertNote struct {
	Time   time.Time `json:"time"`
	Author string    `json:"author"`
	Text   string    `json:"text"`
}

// AlertFilter selects alerts. Tenants is required (zero sees nothing);
// other zero fields match everything.
type AlertFilter struct {
	Tenants Tenants
	Tenant  string // one tenant within Tenants
	Level   string
	Rule    string
	Status  string
	Since   time.Time // last seen at or after
	Until   time.Time // first seen before
	Text    string    // substring of title, rule, host, addresses (case-insensitive)
	Limit   int       // 0: 1000
	Offset  int
}

// Suppression drops matching alerts of one tenant's rule until a time;
// Host and SrcIP narrow it when set. Hits counts the alerts it dropped, so
// a suppression never hides that something happened.
type Suppression struct {
	ID        int64     `json:"id"`
	Tenant    string    `json:"tenant"`
	Rule      string    `json:"rule"`
	Host      string    `json:"host"`
	SrcIP     string    `json:"src_ip"`
	Until     time.Time `json:"until"`
	Reason    string    `json:"reason"`
	Who       string    `json:"who"`
	CreatedAt time.Time `json:"created_at"`
	Hits      int64     `json:"hits"`
	LastHit   time.Time `json:"last_hit"`
}

// Matches reports whether the suppression covers hit at time at.
func (s *Suppression) Matches(hit *Alert, at time.Time) bool {
	return s.Tenant == hit.Tenant && s.Rule == hit.Rule && at.Before(s.Until) &&
		(s.Host == "" || s.Host == hit.Host) && (s.SrcIP == "" || s.SrcIP == hit.SrcIP)
}

// RecordStats says what RecordAlerts did with a batch of hits.
type RecordStats struct {
	Created    int     // new alert rows
	CreatedIDs []int64 // their ids, for notification (package notify)
	Merged     int     // hits folded into an open alert (dedup)
	Suppressed int64   // hits dropped by an active suppression (counted on it)
}

// AlertStore keeps the security cloud's alerts and suppressions (issue 8 §3,
// §4). Every method is scoped by Tenants.
type AlertStore interface {
	// RecordAlerts stores a batch of hits in one transaction. Each hit
	// carries Tenant, Rule, DedupKey, FirstSeen, LastSeen, Count (≥ 1) and
	// its events. A hit matching an active suppression is counted on it
	// and dropped; a hit whose (tenant, rule, dedup key) has an alert that
	// is not closed and was last seen within window is merged into it;
	// any other hit becomes a new alert with status "new". A hit's ID, when
	// set, is a hint (the alert its writer last stored that key into): it
	// is used only if that alert is still open, within window and of the
	// hit's tenant, rule and key. RecordAlerts sets each hit's ID to the
	// alert it was stored in (0 when suppressed).
	RecordAlerts(ctx context.Context, hits []Alert, window time.Duration, now time.Time) (RecordStats, error)
	// Alert returns one alert with its events; ErrNotFound also when it
	// belongs to a tenant outside ts.
	Alert(ctx context.Context, ts Tenants, id int64) (*Alert, error)
	// ListAlerts returns the matching alerts, last seen first (without
	// their Events: Alert loads them), and how many match in all
	// (ignoring Limit and Offset).
	ListAlerts(ctx context.Context, f AlertFilter) ([]Alert, int, error)
	// SetAlertStatus moves an alert to status and appends note to its
	// history; ErrNotFound outside ts, ErrInvalid for an unknown status.
	SetAlertStatus(ctx context.Context, ts Tenants, id int64, status string, note AlertNote) error
	// AddSuppression stores s and sets its ID.
	AddSuppression(ctx context.Context, s *Suppression) error
	// Suppressions lists the suppressions of ts still active at at (zero:
	// all), newest first.
	Suppressions(ctx context.Context, ts Tenants, at time.Time) ([]Suppression, error)
	// RetainAlerts deletes tenant's alerts (with their events) last seen
	// before keepFrom, whatever their status: the tenant's retention
	// (issue 8 §1) applies to alerts as to events. It returns how many
	// alerts went.
	RetainAlerts(ctx context.Context, tenant string, keepFrom time.Time) (int64, error)
	// DropAlertsBefore deletes every tenant's alerts last seen before cut;
	// call it only when every tenant's retention has passed cut. On
	// PostgreSQL a day partition whose alerts were all last seen before
	// cut is dropped whole, which frees its space at once.
	DropAlertsBefore(ctx context.Context, cut time.Time) (int64, error)
}

// RaiseAlert records one alert raised outside the security cloud's
// detection (the console's tamper checks, an incident, a mail gateway
// verdict): a convenience over RecordAlerts for a single hit. It fills
// FirstSeen/LastSeen (now) and Count (1) when unset; a.DedupKey decides
// which raises within window are one alert. Tenant and Rule are required.
func RaiseAlert(ctx context.Context, s AlertStore, a Alert, window time.Duration, now time.Time) (RecordStats, error) {
	if a.FirstSeen.IsZero() {
		a.FirstSeen = now
	}
	if a.LastSeen.IsZero() {
		a.LastSeen = a.FirstSeen
	}
	if a.Count < 1 {
		a.Count = 1
	}
	return s.RecordAlerts(ctx, []Alert{a}, window, now)
}
