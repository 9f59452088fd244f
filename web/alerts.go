package web

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/store"
)

// Audit actions of the alert pages (issue 8 §3: alerts are handled in the
// console; every handling step is recorded).
const (
	auditAlertStatus   = "alert.status"
	auditAlertSuppress = "alert.suppress"
	auditAlertExport   = "alert.export"
	auditEventsSearch  = "events.search"
)

func (s *Server) alertRoutes() {
	m := s.mux
	m.Handle("GET /alerts", s.require(auth.PermAlertsView, s.alertsPage))
	m.Handle("GET /alerts/export", s.require(auth.PermAlertsView, s.alertsExport))
	m.Handle("GET /alerts/{id}", s.require(auth.PermAlertsView, s.alertPage))
	m.Handle("POST /alerts/{id}/status", s.require(auth.PermAlertsHandle, s.alertStatus))
	m.Handle("POST /alerts/{id}/suppress", s.require(auth.PermAlertsHandle, s.alertSuppress))
	m.Handle("GET /events", s.require(auth.PermEventsSearch, s.eventsPage))
}

// storeTenants turns the request's tenant scope for p into the store's.
func (s *Server) storeTenants(r *http.Request, p auth.Permission) store.Tenants {
	ts := s.tenants(r, p)
	return store.Tenants{All: ts.All, IDs: ts.List()}
}

// levels are the Sigma levels, most severe first, with their labels.
var levels = []struct{ ID, JA string }{
	{"critical", "重大"}, {"high", "高"}, {"medium", "中"}, {"low", "低"}, {"informational", "情報"},
}

var statusJA = map[string]string{
	store.AlertNew: "未対応", store.AlertAcknowledged: "対応中", store.AlertClosed: "完了", store.AlertSuppressed: "抑止",
}

// levelClass maps a Sigma level onto the console's severity colours.
func levelClass(l string) string {
	switch l {
	case "critical", "high", "medium", "low":
		return "sev-" + l
	}
	return "sev-info"
}

func levelJA(l string) string {
	for _, x := range levels {
		if x.ID == l {
			return x.JA
		}
	}
	return l
}

const alertPageSize = 50

// alertFilter reads the list filters from the query; the tenant scope
// comes from the session, never from the query.
func (s *Server) alertFilter(r *http.Request) (store.AlertFilter, error) {
	q := r.URL.Query()
	f := store.AlertFilter{Tenants: s.storeTenants(r, auth.PermAlertsView),
		Tenant: strings.TrimSpace(q.Get("tenant")), Level: q.Get("level"), Rule: strings.TrimSpace(q.Get("rule")),
		Status: q.Get("status"), Text: strings.TrimSpace(q.Get("q"))}
	if f.Level != "" && !slices.ContainsFunc(levels, func(l struct{ ID, JA string }) bool { return l.ID == f.Level }) {
		return f, errStatus(http.StatusBadRequest, "重大度の指定が正しくありません。")
	}
	if f.Status != "" && !slices.Contains(store.AlertStatuses, f.Status) {
		return f, errStatus(http.StatusBadRequest, "状態の指定が正しくありません。")
	}
	var err error
	f.Since, f.Until, err = dateRange(q)
	return f, err
}

func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request) error {
	f, err := s.alertFilter(r)
	if err != nil {
		return err
	}
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	f.Limit, f.Offset = alertPageSize, (pg-1)*alertPageSize
	list, total, err := s.o.Store.ListAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	q.Del("page")
	ts := s.tenants(r, auth.PermAlertsView)
	return s.render(w, r, "alerts", "アラート", map[string]any{
		"Alerts": list, "Total": total, "Page": pg, "HasNext": pg*alertPageSize < total, "HasPrev": pg > 1, "Query": q.Encode(),
		"F": f, "Since": q.Get("since"), "Until": q.Get("until"), "Levels": levels, "Statuses": store.AlertStatuses,
		"StatusJA": statusJA, "AllTenants": ts.All, "TenantIDs": ts.List()})
}

// alertByPath loads the alert named in the path within the scope of p; an
// alert of another tenant is "not found", exactly like a missing one.
func (s *Server) alertByPath(r *http.Request, p auth.Permission) (*store.Alert, store.Tenants, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, store.Tenants{}, errNotFound
	}
	ts := s.storeTenants(r, p)
	a, err := s.o.Store.Alert(r.Context(), ts, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ts, &HTTPError{Status: http.StatusNotFound, Msg: "アラートが見つかりません。", Err: err}
	}
	return a, ts, err
}

func (s *Server) alertPage(w http.ResponseWriter, r *http.Request) error {
	a, _, err := s.alertByPath(r, auth.PermAlertsView)
	if err != nil {
		return err
	}
	sub := state(r).subject
	canHandle := sub.Can(auth.PermAlertsHandle) && s.tenants(r, auth.PermAlertsHandle).Has(a.Tenant)
	var sups []store.Suppression
	if canHandle {
		all, err := s.o.Store.Suppressions(r.Context(), store.OneTenant(a.Tenant), s.o.Now())
		if err != nil {
			return err
		}
		for _, sp := range all {
			if sp.Rule == a.Rule {
				sups = append(sups, sp)
			}
		}
	}
	canEvents := sub.Can(auth.PermEventsSearch) && s.tenants(r, auth.PermEventsSearch).Has(a.Tenant) && s.o.Events != nil
	type evRow struct {
		store.AlertEvent
		Link string
	}
	evs := make([]evRow, len(a.Events))
	for i, ev := range a.Events {
		evs[i].AlertEvent = ev
		if canEvents {
			evs[i].Link = eventsLink(a.Tenant, ev.Time)
		}
	}
	// An incident can be opened from the alert when the console has incident
	// handling over this alert store and the user handles incidents of the
	// alert's tenant.
	var newIncident string
	if s.o.Incidents != nil && s.o.Incidents.HasAlerts() && sub.Can(auth.PermIncidentsHandle) && s.tenants(r, auth.PermIncidentsHandle).Has(a.Tenant) {
		newIncident = "/incidents/new?" + url.Values{"tenant": {a.Tenant}, "alerts": {strconv.FormatInt(a.ID, 10)}}.Encode()
	}
	return s.render(w, r, "alert", "アラート #"+strconv.FormatInt(a.ID, 10), map[string]any{
		"A": a, "Events": evs, "StatusJA": statusJA, "CanHandle": canHandle, "Suppressions": sups,
		"More": a.Count > int64(len(a.Events)), "NewIncident": newIncident})
}

// eventsLink searches the event store around one event's time.
func eventsLink(tenant string, t time.Time) string {
	q := url.Values{"tenant": {tenant}, "from": {t.In(jst).Add(-time.Minute).Format(dtLayout)}, "to": {t.In(jst).Add(time.Minute).Format(dtLayout)}}
	return "/events?" + q.Encode()
}

// alertStatus acknowledges or closes an alert (PermAlertsHandle within
// the alert's tenant), with an optional note, and records it.
func (s *Server) alertStatus(w http.ResponseWriter, r *http.Request) error {
	a, ts, err := s.alertByPath(r, auth.PermAlertsHandle)
	if err != nil {
		return err
	}
	status := r.PostFormValue("status")
	if status != store.AlertAcknowledged && status != store.AlertClosed && status != store.AlertNew {
		return errStatus(http.StatusBadRequest, "状態の指定が正しくありません。")
	}
	note := strings.TrimSpace(r.PostFormValue("note"))
	if len(note) > 2000 {
		return errStatus(http.StatusBadRequest, "メモが長すぎます（2000 バイトまで）。")
	}
	actor := state(r).subject.User.Name
	if err := s.o.Store.SetAlertStatus(r.Context(), ts, a.ID, status, store.AlertNote{Time: s.o.Now(), Author: actor,
		Text: statusJA[status] + cond(note != "", ": "+note, "")}); err != nil {
		return err
	}
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: actor, Action: auditAlertStatus, Target: fmt.Sprintf("alert/%d", a.ID),
		Details: map[string]any{"tenant": a.Tenant, "rule": a.Rule, "from": a.Status, "to": status, "note": note}}); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/alerts/%d?m=saved", a.ID), http.StatusSeeOther)
	return nil
}

func cond(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// maxSuppressHours bounds a suppression (30 days): a rule silenced for
// good is an exclusion in the cloud configuration, not a console action.
const maxSuppressHours = 720

// alertSuppress silences the alert's rule for its tenant (optionally only
// for its host and source address) for N hours, with a reason, marks the
// alert suppressed and records it.
func (s *Server) alertSuppress(w http.ResponseWriter, r *http.Request) error {
	a, ts, err := s.alertByPath(r, auth.PermAlertsHandle)
	if err != nil {
		return err
	}
	hours, err := strconv.Atoi(r.PostFormValue("hours"))
	if err != nil || hours < 1 || hours > maxSuppressHours {
		return errStatus(http.StatusBadRequest, "抑止する時間は 1〜720 時間で指定してください。")
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if reason == "" || len(reason) > 2000 {
		return errStatus(http.StatusBadRequest, "抑止の理由を入力してください（2000 バイトまで）。")
	}
	actor := state(r).subject.User.Name
	now := s.o.Now()
	sp := &store.Suppression{Tenant: a.Tenant, Rule: a.Rule, Until: now.Add(time.Duration(hours) * time.Hour), Reason: reason, Who: actor, CreatedAt: now}
	if r.PostFormValue("host") == "1" {
		sp.Host = a.Host
	}
	if r.PostFormValue("src") == "1" {
		sp.SrcIP = a.SrcIP
	}
	if err := s.o.Store.AddSuppression(r.Context(), sp); err != nil {
		return err
	}
	if err := s.o.Store.SetAlertStatus(r.Context(), ts, a.ID, store.AlertSuppressed, store.AlertNote{Time: now, Author: actor,
		Text: fmt.Sprintf("%s（%d 時間）: %s", statusJA[store.AlertSuppressed], hours, reason)}); err != nil {
		return err
	}
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: actor, Action: auditAlertSuppress, Target: fmt.Sprintf("alert/%d", a.ID),
		Details: map[string]any{"tenant": a.Tenant, "rule": a.Rule, "suppression": sp.ID, "hours": hours, "host": sp.Host, "src_ip": sp.SrcIP, "reason": reason}}); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/alerts/%d?m=saved", a.ID), http.StatusSeeOther)
	return nil
}

// maxExport bounds one CSV export.
const maxExport = 10000

// alertsExport writes the filtered alerts as CSV (UTF-8 with BOM for
// Japanese Excel; formula-like cells neutralised), within the scope only.
func (s *Server) alertsExport(w http.ResponseWriter, r *http.Request) error {
	f, err := s.alertFilter(r)
	if err != nil {
		return err
	}
	f.Limit = maxExport
	list, total, err := s.o.Store.ListAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: state(r).subject.User.Name, Action: auditAlertExport, Target: "alerts",
		Details: map[string]any{"alerts": len(list), "matching": total, "query": r.URL.RawQuery}}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="kyojin-alerts-`+s.o.Now().In(jst).Format("20060102-150405")+`.csv"`)
	return writeAlertsCSV(w, list)
}

func writeAlertsCSV(w io.Writer, list []store.Alert) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "tenant", "level", "status", "rule", "title", "credit", "source", "host", "src_ip", "dst_ip",
		"first_seen", "last_seen", "count", "assignee"})
	c := audit.CSVCell
	for _, a := range list {
		cw.Write([]string{strconv.FormatInt(a.ID, 10), c(a.Tenant), c(a.Level), c(a.Status), c(a.Rule), c(a.Title), c(a.Credit),
			c(a.Source), c(a.Host), c(a.SrcIP), c(a.DstIP), a.FirstSeen.UTC().Format(time.RFC3339), a.LastSeen.UTC().Format(time.RFC3339),
			strconv.FormatInt(a.Count, 10), c(a.Assignee)})
	}
	cw.Flush()
	return cw.Error()
}
