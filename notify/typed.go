package notify

import "time"

// Typed descriptions of each kind: they fill Message.Data with exactly the
// keys the templates show, so callers need not know them.

// Alert is a detection alert (KindAlert). ID is the alert's ID in the store.
type Alert struct {
	ID, Tenant       string
	Severity         Severity
	Rule, RuleAuthor string // Sigma rule title and author (Detection Rule License credit)
	Host, Summary    string
	Events           int
	Link             string
	Time             time.Time
}

// Message builds the notification.
func (a Alert) Message() Message {
	return Message{Kind: KindAlert, Tenant: a.Tenant, Severity: a.Severity, Title: a.Rule, Link: a.Link, Time: a.Time,
		Ref:  Ref{Kind: "alert", ID: a.ID, Tenant: a.Tenant},
		Data: map[string]any{"rule_author": a.RuleAuthor, "host": a.Host, "summary": a.Summary, "events": a.Events}}
}

// IncidentOpened is a new incident (KindIncidentOpened).
type IncidentOpened struct {
	ID, Tenant, Title         string
	Severity                  Severity
	Impact, Reporter, Summary string
	Link                      string
	Time                      time.Time
}

// Message builds the notification.
func (i IncidentOpened) Message() Message {
	return Message{Kind: KindIncidentOpened, Tenant: i.Tenant, Severity: i.Severity, Title: i.Title, Link: i.Link, Time: i.Time,
		Ref:  Ref{Kind: "incident", ID: i.ID, Tenant: i.Tenant},
		Data: map[string]any{"incident_id": i.ID, "impact": i.Impact, "reporter": i.Reporter, "summary": i.Summary}}
}

// IncidentState is a state change of an incident (KindIncidentState).
type IncidentState struct {
	ID, Tenant, Title     string
	Severity              Severity
	From, To, Actor, Note string
	Link                  string
	Time                  time.Time
}

// Message builds the notification.
func (i IncidentState) Message() Message {
	return Message{Kind: KindIncidentState, Tenant: i.Tenant, Severity: i.Severity, Title: i.Title, Link: i.Link, Time: i.Time,
		Ref:  Ref{Kind: "incident", ID: i.ID, Tenant: i.Tenant},
		Data: map[string]any{"incident_id": i.ID, "from": i.From, "to": i.To, "actor": i.Actor, "note": i.Note}}
}

// SLAWarning says an incident is near its deadline (KindIncidentSLAWarn).
type SLAWarning struct {
	ID, Tenant, Title string
	Severity          Severity
	State, Remaining  string // current state; remaining time as people read it ("30分")
	Deadline          time.Time
	Link              string
	Time              time.Time
}

// Message builds the notification.
func (w SLAWarning) Message() Message {
	return Message{Kind: KindIncidentSLAWarn, Tenant: w.Tenant, Severity: w.Severity, Title: w.Title, Link: w.Link, Time: w.Time,
		Ref:  Ref{Kind: "incident", ID: w.ID, Tenant: w.Tenant},
		Data: map[string]any{"incident_id": w.ID, "state": w.State, "deadline": w.Deadline, "remaining": w.Remaining}}
}

// Tamper is a detected change to a published web site (KindTamper).
type Tamper struct {
	ID, Tenant                string
	Severity                  Severity
	Site, URL, Change, Detail string
	Restored                  bool
	Link                      string
	Time                      time.Time
}

// Message builds the notification; the title names the site.
func (t Tamper) Message() Message {
	restored := "いいえ / no"
	if t.Restored {
		restored = "はい / yes"
	}
	return Message{Kind: KindTamper, Tenant: t.Tenant, Severity: t.Severity, Title: t.Site + ": " + t.Change, Link: t.Link, Time: t.Time,
		Ref:  Ref{Kind: "tamper", ID: t.ID, Tenant: t.Tenant},
		Data: map[string]any{"site": t.Site, "url": t.URL, "change": t.Change, "detail": t.Detail, "restored": restored}}
}
