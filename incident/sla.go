package incident

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/kyojin/kyojin/store"
)

const (
	h = time.Hour
	d = 24 * time.Hour
)

// slaTable is the time an incident may stay in each state, by impact level
// (index 0 = not yet rated). The figures are kyojin's defaults, documented
// in docs/incident.md; the guideline asks for a prompt response (7.3(1))
// without fixing numbers.
var slaTable = map[State][5]time.Duration{
	StateReported:   {30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute, 30 * time.Minute},
	StateReceived:   {h, h, h, h, h},
	StateTriage:     {2 * h, 8 * h, 4 * h, h, h},
	StatePolicy:     {4 * h, 24 * h, 8 * h, 4 * h, 2 * h},
	StateEvidence:   {8 * h, 48 * h, 24 * h, 8 * h, 4 * h},
	StateContain:    {8 * h, 72 * h, 24 * h, 8 * h, 4 * h},
	StateEradicate:  {48 * h, 7 * d, 72 * h, 48 * h, 24 * h},
	StateRecovery:   {5 * d, 14 * d, 7 * d, 5 * d, 72 * h},
	StateLeadReport: {48 * h, 7 * d, 5 * d, 48 * h, 24 * h},
}

// escalationWithin is how soon after triage the prefecture and MIC must be
// told when the impact level requires it (1(9)⑤).
const escalationWithin = h

// warnShare is the part of an SLA after which a warning is raised.
const warnShare = 0.75

// SLA returns how long inc may stay in its current state; 0 for none.
func SLA(s State, i Impact) time.Duration {
	t, ok := slaTable[s]
	if !ok || i < 0 || int(i) >= len(t) {
		return 0
	}
	return t[i]
}

// Warning is an SLA about to be missed, or missed.
type Warning struct {
	Tenant, IncidentID, Ref, Title string
	Kind                           string // "state", "prefecture", "mic"
	State                          State
	Due                            time.Time
	Breached                       bool
	Msg                            Label
}

// Warnings lists the SLA warnings of inc at now.
func (inc *Incident) Warnings(now time.Time) []Warning {
	var out []Warning
	add := func(kind string, start time.Time, limit time.Duration, what Label) {
		if limit <= 0 || start.IsZero() {
			return
		}
		due := start.Add(limit)
		elapsed := now.Sub(start)
		if elapsed < time.Duration(float64(limit)*warnShare) {
			return
		}
		w := Warning{Tenant: inc.Tenant, IncidentID: inc.ID, Ref: inc.Ref, Title: inc.Title, Kind: kind, State: inc.State, Due: due, Breached: now.After(due)}
		if w.Breached {
			w.Msg = Label{fmt.Sprintf("%sの期限を %s 超過しています", what.JA, roundDur(now.Sub(due))),
				fmt.Sprintf("%s is %s overdue", what.EN, roundDur(now.Sub(due)))}
		} else {
			w.Msg = Label{fmt.Sprintf("%sの期限まで残り %s です", what.JA, roundDur(due.Sub(now))),
				fmt.Sprintf("%s due in %s", what.EN, roundDur(due.Sub(now)))}
		}
		out = append(out, w)
	}
	if inc.State == StateClosed {
		return nil
	}
	add("state", inc.StateSince, SLA(inc.State, inc.Impact), Label{"「" + inc.State.Label().JA + "」", inc.State.Label().EN})
	if triaged, ok := inc.Phases[StatePolicy]; ok || inc.Impact.Valid() {
		if !ok {
			triaged = inc.StateSince
		}
		if inc.Impact.NeedsPrefecture() && !inc.Prefecture.Done() {
			add("prefecture", triaged, escalationWithin, Label{"都道府県への報告", "the report to the prefecture"})
		}
		if inc.Impact.NeedsMIC() && !inc.MIC.Done() {
			add("mic", triaged, escalationWithin, Label{"総務省への報告", "the report to MIC"})
		}
	}
	return out
}

// WarnAt is when the first warning of inc (as it is now) starts; zero
// when it has none to come. Stored with the incident, it lets the list
// and the sweep fetch only incidents that warn.
func (inc *Incident) WarnAt() time.Time {
	if inc.State == StateClosed {
		return time.Time{}
	}
	var first time.Time
	consider := func(start time.Time, limit time.Duration) {
		if start.IsZero() || limit <= 0 {
			return
		}
		at := start.Add(time.Duration(float64(limit) * warnShare))
		if first.IsZero() || at.Before(first) {
			first = at
		}
	}
	consider(inc.StateSince, SLA(inc.State, inc.Impact))
	if triaged, ok := inc.Phases[StatePolicy]; ok || inc.Impact.Valid() {
		if !ok {
			triaged = inc.StateSince
		}
		if (inc.Impact.NeedsPrefecture() && !inc.Prefecture.Done()) || (inc.Impact.NeedsMIC() && !inc.MIC.Done()) {
			consider(triaged, escalationWithin)
		}
	}
	return first
}

// Warnings lists the warnings of every incident, breaches first, then by due time.
func Warnings(incs []*Incident, now time.Time) []Warning {
	var out []Warning
	for _, inc := range incs {
		out = append(out, inc.Warnings(now)...)
	}
	slices.SortStableFunc(out, func(a, b Warning) int {
		if a.Breached != b.Breached {
			if a.Breached {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.Due.UnixNano(), b.Due.UnixNano())
	})
	return out
}

func roundDur(x time.Duration) string {
	switch {
	case x >= 48*h:
		return fmt.Sprintf("%dd", int(x/d))
	case x >= h:
		return fmt.Sprintf("%dh%02dm", int(x/h), int(x%h/time.Minute))
	default:
		return fmt.Sprintf("%dm", int(x/time.Minute)+1)
	}
}

// key identifies a warning for NotifyWarnings: the same deadline warns
// once before and once after it passes.
func (w Warning) key() string {
	k := w.Kind + ":" + string(w.State)
	if w.Breached {
		return k + ":breach"
	}
	return k + ":due"
}

// NotifyWarnings sends a notice for every SLA warning of an open incident
// (any tenant) not sent before, records it in the incident's timeline and
// the audit log as incident.sla, and returns how many were sent. The
// console runs it every minute, so a deadline reaches the handlers (and
// the notification channels' escalation ladder) even when nobody has the
// list open.
func (s *Service) NotifyWarnings(ctx context.Context) (int, error) {
	incs, err := s.List(ctx, store.IncidentFilter{AllTenants: true, Open: true, WarnBy: s.now()})
	if err != nil {
		return 0, err
	}
	now := s.now()
	sent := 0
	for _, inc := range incs {
		for _, w := range inc.Warnings(now) {
			if _, done := inc.Notified[w.key()]; done {
				continue
			}
			updated, err := s.Update(ctx, "system", inc.Tenant, inc.ID, "sla", func(x *Incident) (string, error) {
				if x.Notified == nil {
					x.Notified = map[string]time.Time{}
				}
				x.Notified[w.key()] = now
				return w.Msg.JA, nil
			})
			if err != nil {
				// A handler changed the incident meanwhile: the next sweep retries.
				s.o.Log.WarnContext(ctx, "incident SLA notice not recorded", "incident", inc.ID, "err", err)
				continue
			}
			inc = updated
			s.notifyWith(ctx, inc, Notice{Kind: "sla", Subject: inc.Ref + ": " + w.Msg.JA, Actor: "system", Warning: &w})
			sent++
		}
	}
	return sent, nil
}
