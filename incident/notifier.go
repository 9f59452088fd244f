package incident

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/store"
)

// NotifyChannel is the Notifier over package notify: incident notices
// become mail and signed webhooks through the dispatcher's routes (kinds
// incident-opened, incident-state, incident-sla-warning), and a new
// incident starts its tenant's escalation ladder, which climbs until the
// CSIRT desk receives the incident (Service.Acknowledged). Clause 1(9)
// (連絡体制) and 7.3 (who is told, in which order).
type NotifyChannel struct {
	D *notify.Dispatcher
	// ConsoleURL is the console's base URL for links to the incident
	// (notify's console_url); empty: no link.
	ConsoleURL string
	// Ladder names the escalation ladder of a tenant's new incidents
	// ("" or nil: none). IncidentLadder is the usual choice.
	Ladder func(tenant string) string
	Now    func() time.Time // nil: time.Now (the time left of an SLA)
}

// IncidentLadder picks the ladder of a tenant's incidents from the notify
// configuration by name: "TENANT-incident", else "incident", else none.
func IncidentLadder(cfg *notify.Config) func(tenant string) string {
	names := map[string]bool{}
	for _, l := range cfg.Ladders {
		names[l.Name] = true
	}
	return func(tenant string) string {
		switch {
		case names[tenant+"-incident"]:
			return tenant + "-incident"
		case names["incident"]:
			return "incident"
		}
		return ""
	}
}

// Severity maps the impact level onto notify's severities; an incident
// not yet triaged is high, so that routes for serious matters hear of it.
func Severity(i Impact) notify.Severity {
	switch i {
	case ImpactLow:
		return notify.SevLow
	case ImpactMedium:
		return notify.SevMedium
	case ImpactCritical:
		return notify.SevCritical
	}
	return notify.SevHigh
}

// NotifyRef is the notify reference of an incident (escalation, Acker).
func NotifyRef(inc *Incident) notify.Ref {
	return notify.Ref{Kind: "incident", ID: inc.ID, Tenant: inc.Tenant}
}

func (c *NotifyChannel) link(inc *Incident) string {
	if c.ConsoleURL == "" {
		return ""
	}
	return strings.TrimSuffix(c.ConsoleURL, "/") + "/incidents/t/" + url.PathEscape(inc.Tenant) + "/" + url.PathEscape(inc.ID)
}

// Message composes the notification of a notice; the incident's reference
// number (INC-…) is what people see as its id.
func (c *NotifyChannel) Message(n Notice) (notify.Message, error) {
	inc := n.Incident
	if inc == nil {
		return notify.Message{}, errors.New("incident: notice without its incident")
	}
	sev, link := Severity(inc.Impact), c.link(inc)
	var m notify.Message
	switch n.Kind {
	case "created":
		m = notify.IncidentOpened{ID: inc.ID, Tenant: inc.Tenant, Title: inc.Title, Severity: sev, Impact: inc.Impact.Label().JA,
			Reporter: n.Actor, Summary: inc.Description, Link: link, Time: inc.CreatedAt}.Message()
	case "sla":
		if n.Warning == nil {
			return notify.Message{}, errors.New("incident: SLA notice without its warning")
		}
		w := n.Warning
		remaining := "超過"
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		if d := w.Due.Sub(now()); !w.Breached && d > 0 {
			remaining = fmt.Sprintf("%d分", int(d.Round(time.Minute)/time.Minute))
		}
		m = notify.SLAWarning{ID: inc.ID, Tenant: inc.Tenant, Title: inc.Title, Severity: sev, State: w.Msg.JA, Remaining: remaining,
			Deadline: w.Due, Link: link}.Message()
	default: // transition, assignment, external reporting: a change of the incident
		from, note := n.From, n.Comment
		if n.Kind != "transition" {
			from, note = inc.State, n.Subject
		}
		m = notify.IncidentState{ID: inc.ID, Tenant: inc.Tenant, Title: inc.Title, Severity: sev, From: from.Label().JA, To: inc.State.Label().JA,
			Actor: n.Actor, Note: note, Link: link}.Message()
	}
	m.Data["incident_id"] = inc.Ref
	return m, nil
}

// Notify implements Notifier: the notice is enqueued durably (the outbox
// delivers and retries), and a new incident starts the ladder.
func (c *NotifyChannel) Notify(ctx context.Context, n Notice) error {
	m, err := c.Message(n)
	if err != nil {
		return err
	}
	if _, err := c.D.Enqueue(ctx, m); err != nil {
		return fmt.Errorf("notify %s: %w", n.Kind, err)
	}
	if n.Kind == "created" && c.Ladder != nil {
		if l := c.Ladder(n.Tenant); l != "" {
			if err := c.D.Escalate(ctx, l, m); err != nil {
				return fmt.Errorf("escalation ladder %s: %w", l, err)
			}
		}
	}
	return nil
}

// Acknowledged implements notify.Acker for incidents: an incident is
// acknowledged once the CSIRT desk has received it (it left "reported").
// An incident that no longer exists needs nobody: acknowledged.
func (s *Service) Acknowledged(ctx context.Context, ref notify.Ref) (bool, error) {
	rec, err := s.o.Store.Incident(ctx, ref.Tenant, ref.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("incident %s: %w", ref, err)
	}
	return State(rec.State) != StateReported, nil
}
