package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
)

// dtLayout is the value format of <input type="datetime-local"> (JST).
const dtLayout = "2006-01-02T15:04"

// maxEvents bounds one search page.
const maxEvents = 200

// EventSearcher is what /events needs of the security cloud's event store;
// both eventstore.Store (segments) and pgevents.Store (PostgreSQL) have it.
// A search is always for one tenant (Query.Tenant), which each store
// enforces on its own (directories per tenant; row-level security).
type EventSearcher interface {
	Search(q eventstore.Query, fn func(*event.Event) bool) error
}

// eventsPage searches one tenant's stored events by time range and field
// filters (issue 8 §4 "searchable by time range and fields from the
// console"). The tenant must be within the viewer's scope; the event store
// then searches that tenant only (EventSearcher).
func (s *Server) eventsPage(w http.ResponseWriter, r *http.Request) error {
	ts := s.tenants(r, auth.PermEventsSearch)
	q := r.URL.Query()
	tenant := strings.TrimSpace(q.Get("tenant"))
	ids := ts.List()
	if tenant == "" && !ts.All && len(ids) == 1 {
		tenant = ids[0]
	}
	now := s.o.Now().In(jst)
	data := map[string]any{"Tenant": tenant, "AllTenants": ts.All, "TenantIDs": ids, "Filters": q.Get("filters"),
		"From": q.Get("from"), "To": q.Get("to"), "Enabled": s.o.Events != nil, "Max": maxEvents}
	if data["From"] == "" {
		data["From"] = now.Add(-24 * time.Hour).Format(dtLayout)
	}
	if s.o.Events == nil || tenant == "" {
		return s.render(w, r, "events", "イベント検索", data)
	}
	if !ts.Has(tenant) || !eventstore.ValidTenant(tenant) {
		// Another tenant's events do not exist for this viewer.
		return errStatus(http.StatusNotFound, "このテナントのイベントは表示できません。")
	}
	query := eventstore.Query{Tenant: tenant, Limit: maxEvents + 1}
	for _, p := range []struct {
		v   string
		dst *time.Time
	}{{data["From"].(string), &query.From}, {q.Get("to"), &query.To}} {
		if p.v == "" {
			continue
		}
		t, err := time.ParseInLocation(dtLayout, p.v, jst)
		if err != nil {
			return errStatus(http.StatusBadRequest, "日時は YYYY-MM-DDTHH:MM の形式で指定してください。")
		}
		*p.dst = t
	}
	for line := range strings.SplitSeq(q.Get("filters"), "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		f, err := eventstore.ParseFilter(line)
		if err != nil {
			return errStatus(http.StatusBadRequest, "条件は 項目=値 または 項目~値 の形式で一行に一つずつ書いてください。")
		}
		query.Filters = append(query.Filters, f)
	}
	if len(query.Filters) > 20 {
		return errStatus(http.StatusBadRequest, "条件が多すぎます（20 まで）。")
	}
	var evs []*event.Event
	if err := s.o.Events.Search(query, func(ev *event.Event) bool { evs = append(evs, ev); return true }); err != nil {
		return err
	}
	more := len(evs) > maxEvents
	evs = capped(evs, maxEvents)
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: state(r).subject.User.Name, Action: auditEventsSearch, Target: "tenant/" + tenant,
		Details: map[string]any{"from": query.From, "to": query.To, "filters": q.Get("filters"), "results": len(evs)}}); err != nil {
		return err
	}
	data["Events"], data["More"], data["Searched"] = evs, more, true
	return s.render(w, r, "events", "イベント検索", data)
}
