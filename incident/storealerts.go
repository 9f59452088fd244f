package incident

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/kyojin/kyojin/store"
)

// AlertLinker is optionally implemented by an AlertSource: CreateFromAlerts
// calls it for each alert once the incident exists, so that the alert's
// own history says which incident handles it.
type AlertLinker interface {
	LinkAlert(ctx context.Context, tenant, id, actor string, inc *Incident) error
}

// StoreAlerts is the AlertSource over the security cloud's alert store
// (package store): the console's `kyojin serve` uses it, so incidents are
// opened from the alerts shown on /alerts. Every lookup is scoped to the
// one tenant asked for.
type StoreAlerts struct {
	Store store.AlertStore
	Now   func() time.Time // nil: time.Now
}

func (s StoreAlerts) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s StoreAlerts) load(ctx context.Context, tenant, id string) (*store.Alert, int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, 0, fmt.Errorf("%w: %q", ErrNoAlert, id)
	}
	a, err := s.Store.Alert(ctx, store.OneTenant(tenant), n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, fmt.Errorf("%w: %s/%d", ErrNoAlert, tenant, n)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("alert %s/%d: %w", tenant, n, err)
	}
	return a, n, nil
}

// Alert implements AlertSource. The alert's public addresses become
// indicators; private and loopback addresses are the tenant's own hosts,
// not something to share with other bodies.
func (s StoreAlerts) Alert(ctx context.Context, tenant, id string) (*Alert, error) {
	a, _, err := s.load(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	out := &Alert{Tenant: a.Tenant, ID: id, Title: a.Title, Rule: a.Rule, Severity: a.Level, Time: a.FirstSeen, Host: a.Host}
	for _, ip := range []string{a.SrcIP, a.DstIP} {
		if addr, err := netip.ParseAddr(ip); err == nil && addr.IsGlobalUnicast() && !addr.IsPrivate() {
			out.Indicators = append(out.Indicators, Indicator{Kind: "ip", Value: addr.Unmap().String()})
		}
	}
	return out, nil
}

// CountAlerts implements AlertSource: the tenant's alerts active in
// [since, until) (first seen before until, last seen at or after since),
// so an alert spanning a month boundary counts in both months.
func (s StoreAlerts) CountAlerts(ctx context.Context, tenant string, since, until time.Time) (int, error) {
	_, n, err := s.Store.ListAlerts(ctx, store.AlertFilter{Tenants: store.OneTenant(tenant), Tenant: tenant, Since: since, Until: until, Limit: 1})
	if err != nil {
		return 0, fmt.Errorf("count alerts of %s: %w", tenant, err)
	}
	return n, nil
}

// LinkNote is the note left on an alert linked to incident ref.
func LinkNote(ref string) string { return "インシデント " + ref + " に紐付け" }

// LinkAlert implements AlertLinker: the alert gets a note naming the
// incident and, when it was new, the status acknowledged (someone now
// handles it); a closed alert stays closed.
func (s StoreAlerts) LinkAlert(ctx context.Context, tenant, id, actor string, inc *Incident) error {
	a, n, err := s.load(ctx, tenant, id)
	if err != nil {
		return err
	}
	status := a.Status
	if status == store.AlertNew {
		status = store.AlertAcknowledged
	}
	return s.Store.SetAlertStatus(ctx, store.OneTenant(tenant), n, status, store.AlertNote{Time: s.now().UTC(), Author: actor, Text: LinkNote(inc.Ref)})
}
