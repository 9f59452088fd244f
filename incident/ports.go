package incident

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/kyojin/kyojin/model"
)

// Alert is the little of a security-cloud alert an incident needs. The
// alert store (another package) is adapted to AlertSource by the caller.
type Alert struct {
	Tenant   string
	ID       string
	Title    string
	Rule     string
	Severity string
	Time     time.Time
	Host     string // model host id, when the detector resolved one
	// Indicators seen in the alert (source IPs, domains, hashes).
	Indicators []Indicator
}

// ErrNoAlert is returned by an AlertSource for an unknown alert.
var ErrNoAlert = errors.New("incident: alert not found")

// AlertSource looks up alerts. Alert must return ErrNoAlert (or an error
// wrapping it) for an id that does not exist in that tenant.
type AlertSource interface {
	Alert(ctx context.Context, tenant, id string) (*Alert, error)
	// CountAlerts counts the tenant's alerts raised in [since, until).
	CountAlerts(ctx context.Context, tenant string, since, until time.Time) (int, error)
}

// MemoryAlerts is an AlertSource over a fixed list: the default until the
// security cloud's alert store is wired in, and the tests' source.
type MemoryAlerts struct {
	mu     sync.Mutex
	alerts []Alert
}

// Add records an alert.
func (m *MemoryAlerts) Add(a Alert) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.alerts = append(m.alerts, a)
}

// Alert implements AlertSource.
func (m *MemoryAlerts) Alert(_ context.Context, tenant, id string) (*Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, a := range m.alerts {
		if a.Tenant == tenant && a.ID == id {
			a.Indicators = slices.Clone(a.Indicators)
			return &a, nil
		}
	}
	return nil, ErrNoAlert
}

// CountAlerts implements AlertSource.
func (m *MemoryAlerts) CountAlerts(_ context.Context, tenant string, since, until time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, a := range m.alerts {
		if a.Tenant == tenant && !a.Time.Before(since) && a.Time.Before(until) {
			n++
		}
	}
	return n, nil
}

// Notice is a message about an incident for the notification channels.
type Notice struct {
	Tenant     string
	IncidentID string
	Ref        string
	Kind       string // "created", "transition", "escalation", "sla"
	Subject    string // Japanese
	Body       string // Japanese
	// For channels that compose their own messages (NotifyChannel): the
	// incident after the action, who acted, the state left by a
	// "transition" (with its comment) and the warning of an "sla" notice.
	Incident *Incident
	Actor    string
	From     State
	Comment  string
	Warning  *Warning
}

// Notifier sends notices (mail, webhooks: package notify).
type Notifier interface {
	Notify(ctx context.Context, n Notice) error
}

// LogNotifier writes notices to the log: the default until package notify
// is wired in.
type LogNotifier struct{ Log *slog.Logger }

// Notify implements Notifier.
func (l LogNotifier) Notify(ctx context.Context, n Notice) error {
	if l.Log != nil {
		l.Log.InfoContext(ctx, "incident notice", "tenant", n.Tenant, "incident", n.IncidentID, "ref", n.Ref, "kind", n.Kind, "subject", n.Subject)
	}
	return nil
}

// IndicatorPublisher shares indicators with every member body (the
// security cloud's threat-intelligence lists, package intel).
type IndicatorPublisher interface {
	Publish(ctx context.Context, fromTenant, publisher string, indicators []Indicator) error
}

// MemoryPublisher records what was published (tests, demo).
type MemoryPublisher struct {
	mu        sync.Mutex
	Published []Published
}

// Published is one call of MemoryPublisher.Publish.
type Published struct {
	From, By   string
	Indicators []Indicator
}

// Publish implements IndicatorPublisher.
func (m *MemoryPublisher) Publish(_ context.Context, from, by string, ind []Indicator) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Published = append(m.Published, Published{from, by, slices.Clone(ind)})
	return nil
}

// ModelSource returns a tenant's municipality model, or nil when none is
// loaded (links are then accepted unchecked).
type ModelSource interface {
	Model(tenant string) *model.Model
}

// SingleModel is the console's one model, for its home tenant.
type SingleModel struct {
	Tenant string
	M      *model.Model
}

// Model implements ModelSource.
func (s SingleModel) Model(tenant string) *model.Model {
	if tenant == s.Tenant {
		return s.M
	}
	return nil
}
