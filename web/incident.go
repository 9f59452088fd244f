package web

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/store"
)

// Incident pages (CSIRT, guideline 1(9), 5.3, 7.3). Every query goes
// through s.tenants(r, perm): a tenant outside the caller's scope answers
// 404, exactly like an id that does not exist.

func (s *Server) incidentRoutes() {
	m := s.mux
	m.Handle("GET /incidents", s.incidentsOn(auth.PermIncidentsView, s.incidentList))
	m.Handle("GET /incidents/new", s.incidentsOn(auth.PermIncidentsHandle, s.incidentNewPage))
	m.Handle("POST /incidents/new", s.incidentsOn(auth.PermIncidentsHandle, s.incidentNewPost))
	m.Handle("GET /incidents/report", s.incidentsOn(auth.PermIncidentsReport, s.staffReportPage))
	m.Handle("POST /incidents/report", s.incidentsOn(auth.PermIncidentsReport, s.staffReportPost))
	m.Handle("GET /incidents/stats", s.incidentsOn(auth.PermIncidentsView, s.incidentStats))
	m.Handle("GET /incidents/actions.yaml", s.incidentsOn(auth.PermIncidentsView, s.incidentActionsExport))
	m.Handle("GET /incidents/t/{tenant}/{id}", s.incidentsOn(auth.PermIncidentsView, s.incidentDetail))
	m.Handle("POST /incidents/t/{tenant}/{id}/{action}", s.incidentsOn(auth.PermIncidentsHandle, s.incidentAction))
	m.Handle("POST /incidents/t/{tenant}/{id}/publish", s.incidentsOn(auth.PermIndicatorsPublish, s.incidentPublish))
	m.Handle("POST /incidents/t/{tenant}/{id}/evidence", s.incidentsOn(auth.PermIncidentsHandle, s.evidenceUpload))
	m.Handle("GET /incidents/t/{tenant}/{id}/evidence/{eid}", s.incidentsOn(auth.PermIncidentsView, s.evidenceDownload))
	m.Handle("GET /incidents/t/{tenant}/{id}/report/{format}", s.incidentsOn(auth.PermIncidentsView, s.incidentReport))
	m.Handle("GET /report-incident", s.adapt(s.incidentsPublic(s.outsideReportPage)))
	m.Handle("POST /report-incident", s.adapt(s.incidentsPublic(s.outsideReportPost)))
}

var errNoIncidents = errStatus(http.StatusNotFound, "インシデント管理はこのコンソールでは有効になっていません。")
var errIncidentNotFound = errStatus(http.StatusNotFound, "インシデントが見つかりません。")

// incidentsOn guards an incident page: the service must be configured and
// the user must hold p. Refusals of the incident package become 400 with
// their message; unknown records 404.
func (s *Server) incidentsOn(p auth.Permission, h handlerFunc) http.Handler {
	return s.require(p, s.incidentsPublic(h))
}

func (s *Server) incidentsPublic(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		if s.o.Incidents == nil {
			return errNoIncidents
		}
		err := h(w, r)
		var ue *incident.UserError
		switch {
		case errors.As(err, &ue):
			return &HTTPError{Status: http.StatusBadRequest, Msg: ue.Msg.In(state(r).lang), Err: err}
		case errors.Is(err, store.ErrNotFound):
			return &HTTPError{Status: http.StatusNotFound, Msg: errIncidentNotFound.(*HTTPError).Msg, Err: err}
		}
		return err
	}
}

func actor(r *http.Request) string { return state(r).subject.User.Name }

// scopeFilter turns the caller's tenant scope into a store filter.
func scopeFilter(ts auth.TenantScope) store.IncidentFilter {
	return store.IncidentFilter{AllTenants: ts.All, Tenants: ts.List()}
}

// incidentTenant returns the {tenant} of the path if the caller may act on
// it with p; otherwise a 404.
func (s *Server) incidentTenant(r *http.Request, p auth.Permission) (string, error) {
	t := r.PathValue("tenant")
	if t == "" || !s.tenants(r, p).Has(t) {
		return "", errIncidentNotFound
	}
	return t, nil
}

// incidentRow is one line of the list, its labels resolved in Go (the
// template then only prints strings: the list is the console's longest).
type incidentRow struct {
	*incident.Incident
	Path, TypeL, ImpactL, StateL, Created string
	// Badge is "" (no warning), "due" or "breach".
	Badge, BadgeMsg string
}

const incidentPageSize = 100

// maxWarnings is how many SLA warnings the list shows (breaches first).
const maxWarnings = 20

func (s *Server) incidentList(w http.ResponseWriter, r *http.Request) error {
	ts := s.tenants(r, auth.PermIncidentsView)
	q := r.URL.Query()
	f := scopeFilter(ts)
	f.State, f.Type = q.Get("state"), q.Get("type")
	f.Impact, _ = strconv.Atoi(q.Get("impact"))
	f.Open = q.Get("open") == "1"
	if t := q.Get("tenant"); t != "" {
		if !ts.Has(t) {
			f.AllTenants, f.Tenants = false, nil
		} else {
			f.AllTenants, f.Tenants = false, []string{t}
		}
	}
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 0)
	f.Limit, f.Offset = incidentPageSize, page*incidentPageSize
	ctx := r.Context()
	incs, err := s.o.Incidents.List(ctx, f)
	if err != nil {
		return err
	}
	total, err := s.o.Incidents.Count(ctx, store.IncidentFilter{AllTenants: f.AllTenants, Tenants: f.Tenants, State: f.State, Type: f.Type, Impact: f.Impact, Open: f.Open})
	if err != nil {
		return err
	}
	// SLA warnings cover every open incident in scope, not just this page:
	// the incidents whose warning time has come, found by index, the
	// earliest first; the most urgent warnings are shown, the rest counted.
	now := s.o.Now()
	warnScope := store.IncidentFilter{AllTenants: ts.All, Tenants: ts.List(), Open: true, WarnBy: now}
	warning, err := s.o.Incidents.Count(ctx, warnScope)
	if err != nil {
		return err
	}
	warnScope.BySLA, warnScope.Limit = true, 5*maxWarnings
	open, err := s.o.Incidents.List(ctx, warnScope)
	if err != nil {
		return err
	}
	lang := state(r).lang
	rows := make([]incidentRow, len(incs))
	for i, inc := range incs {
		row := incidentRow{Incident: inc, Path: incidentPath(inc), TypeL: inc.Type.Label().In(lang), ImpactL: inc.Impact.Label().In(lang),
			StateL: inc.State.Label().In(lang), Created: inc.CreatedAt.In(jst).Format("2006-01-02 15:04")}
		if ws := inc.Warnings(now); len(ws) > 0 {
			row.Badge, row.BadgeMsg = "due", ws[0].Msg.In(lang)
			for _, w := range ws {
				if w.Breached {
					row.Badge, row.BadgeMsg = "breach", w.Msg.In(lang)
				}
			}
		}
		rows[i] = row
	}
	next := ""
	if (page+1)*incidentPageSize < total {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("page", strconv.Itoa(page+1))
		next = "/incidents?" + v.Encode()
	}
	warnings := incident.Warnings(open, now)
	warnings = warnings[:min(len(warnings), maxWarnings)]
	return s.render(w, r, "incidents", "インシデント", map[string]any{
		"Rows": rows, "Total": total, "Warnings": warnings, "Warning": warning, "Q": q, "Next": next,
		"States": incident.States, "Types": incident.Types, "Impacts": incident.Impacts,
		"CanHandle": state(r).subject.Can(auth.PermIncidentsHandle), "AllTenants": ts.All, "TenantList": ts.List(),
	})
}

// incidentNewPage is the creation form; the alert pages link to it as
// /incidents/new?tenant=T&alerts=ID1,ID2 to prefill it.
func (s *Server) incidentNewPage(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	return s.renderIncidentNew(w, r, "", url.Values{"tenant": {q.Get("tenant")}, "alerts": {q.Get("alerts")}, "title": {q.Get("title")}, "type": {q.Get("type")}})
}

func (s *Server) renderIncidentNew(w http.ResponseWriter, r *http.Request, errMsg string, form url.Values) error {
	ts := s.tenants(r, auth.PermIncidentsHandle)
	if errMsg != "" {
		w.WriteHeader(http.StatusBadRequest)
	}
	return s.render(w, r, "incident_new", "インシデントの登録", map[string]any{
		"Error": errMsg, "Form": form, "Types": incident.Types, "AllTenants": ts.All, "TenantList": ts.List(),
		"Default": cmp.Or(form.Get("tenant"), s.defaultTenant(ts)), "HasAlerts": s.o.Incidents.HasAlerts(),
	})
}

// defaultTenant is the home tenant when visible, else the first visible one.
func (s *Server) defaultTenant(ts auth.TenantScope) string {
	if s.o.HomeTenant != "" && ts.Has(s.o.HomeTenant) {
		return s.o.HomeTenant
	}
	if l := ts.List(); len(l) > 0 {
		return l[0]
	}
	return ""
}

var alertIDSplit = regexp.MustCompile(`[\s,、]+`)

func (s *Server) incidentNewPost(w http.ResponseWriter, r *http.Request) error {
	ts := s.tenants(r, auth.PermIncidentsHandle)
	tenant := strings.TrimSpace(r.PostFormValue("tenant"))
	if !ts.Has(tenant) {
		return s.renderIncidentNew(w, r, "この団体のインシデントを登録する権限がありません。", r.PostForm)
	}
	typ := incident.Type(r.PostFormValue("type"))
	var ids []string
	for _, id := range alertIDSplit.Split(r.PostFormValue("alerts"), -1) {
		if id != "" {
			ids = append(ids, id)
		}
	}
	var inc *incident.Incident
	var err error
	if len(ids) > 0 {
		inc, err = s.o.Incidents.CreateFromAlerts(r.Context(), actor(r), tenant, ids, r.PostFormValue("title"), typ)
	} else {
		inc, err = s.o.Incidents.Create(r.Context(), actor(r), incident.NewIncident{Tenant: tenant, Title: r.PostFormValue("title"), Type: typ,
			Source: incident.SourceManual, Description: r.PostFormValue("description"), Reporter: actor(r)})
	}
	var ue *incident.UserError
	if errors.As(err, &ue) {
		return s.renderIncidentNew(w, r, ue.Msg.In(state(r).lang), r.PostForm)
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, incidentPath(inc), http.StatusSeeOther)
	return nil
}

func incidentPath(inc *incident.Incident) string {
	return "/incidents/t/" + url.PathEscape(inc.Tenant) + "/" + url.PathEscape(inc.ID)
}

// ---- reports from staff and from outside (clause 5.3(1), 5.3(2)) ----

func (s *Server) staffReportPage(w http.ResponseWriter, r *http.Request) error {
	return s.render(w, r, "incident_report", "インシデントの報告（職員）", map[string]any{"Types": incident.Types, "Form": url.Values{}})
}

func (s *Server) staffReportPost(w http.ResponseWriter, r *http.Request) error {
	if s.o.HomeTenant == "" {
		return errStatus(http.StatusServiceUnavailable, "報告の受付先（home_tenant）が設定されていません。")
	}
	desc := r.PostFormValue("description")
	if where := strings.TrimSpace(r.PostFormValue("where")); where != "" {
		desc = "場所・端末: " + where + "\n" + desc
	}
	inc, err := s.o.Incidents.Create(r.Context(), actor(r), incident.NewIncident{Tenant: s.o.HomeTenant, Title: r.PostFormValue("title"),
		Type: incident.Type(r.PostFormValue("type")), Source: incident.SourceStaff, Description: desc, Reporter: actor(r),
		Contact: r.PostFormValue("contact")})
	var ue *incident.UserError
	if errors.As(err, &ue) {
		w.WriteHeader(http.StatusBadRequest)
		return s.render(w, r, "incident_report", "インシデントの報告（職員）", map[string]any{"Types": incident.Types, "Form": r.PostForm, "Error": ue.Msg.In(state(r).lang)})
	}
	if err != nil {
		return err
	}
	return s.render(w, r, "incident_ack", "報告を受け付けました", map[string]any{"Ref": inc.Ref, "Staff": true})
}

// outsideLimit is how many outside reports one address may send per hour,
// and all addresses together per day: enough for real reports, too few to
// flood the CSIRT desk.
const (
	outsidePerAddress = 5
	outsidePerDay     = 200
)

func (s *Server) outsideReportPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.ensureSession(w, r); err != nil {
		return err
	}
	return s.render(w, r, "incident_public", "情報セキュリティに関するお知らせ・通報", map[string]any{"Form": url.Values{}})
}

// outsideReportPost takes a report from a resident or vendor: no login,
// CSRF-protected through the anonymous session, rate-limited per address
// (the login attempt counters), a generic acknowledgement with the
// reference number, nothing about the handling revealed.
func (s *Server) outsideReportPost(w http.ResponseWriter, r *http.Request) error {
	if s.o.HomeTenant == "" {
		return errStatus(http.StatusServiceUnavailable, "現在、通報を受け付けていません。")
	}
	ctx := r.Context()
	now := s.o.Now()
	ipKey, allKey := "outside-report:ip:"+clientIP(r), "outside-report:all"
	nIP, err := s.o.Store.CountFailures(ctx, ipKey, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	nAll, err := s.o.Store.CountFailures(ctx, allKey, now.Add(-24*time.Hour))
	if err != nil {
		return err
	}
	if nIP >= outsidePerAddress || nAll >= outsidePerDay {
		s.o.Log.Warn("outside report rate-limited", "ip", clientIP(r), "per_ip", nIP, "all", nAll)
		return errStatus(http.StatusTooManyRequests, "短時間に多くの通報が送られました。時間をおいて送信するか、電話でご連絡ください。")
	}
	// Counted before validation: failed attempts use the allowance too.
	for _, k := range []string{ipKey, allKey} {
		if err := s.o.Store.RecordLoginAttempt(ctx, store.LoginAttempt{Key: k, At: now, OK: false}); err != nil {
			return err
		}
	}
	title := strings.TrimSpace(r.PostFormValue("title"))
	if title == "" {
		title = "外部からの通報"
	}
	kind := r.PostFormValue("kind")
	typ := incident.TypeOther
	if kind == "website" {
		typ = incident.TypeDefacement
	} else if kind == "vendor" {
		typ = incident.TypeVendorLeak
	}
	who := strings.TrimSpace(r.PostFormValue("who"))
	inc, err := s.o.Incidents.Create(ctx, "", incident.NewIncident{Tenant: s.o.HomeTenant, Title: title, Type: typ, Source: incident.SourceOutside,
		Description: "通報者の区分: " + cmp.Or(who, "不明") + "\n" + r.PostFormValue("description"), Contact: r.PostFormValue("contact")})
	var ue *incident.UserError
	if errors.As(err, &ue) {
		w.WriteHeader(http.StatusBadRequest)
		return s.render(w, r, "incident_public", "情報セキュリティに関するお知らせ・通報", map[string]any{"Form": r.PostForm, "Error": ue.Msg.In(state(r).lang)})
	}
	if err != nil {
		return err
	}
	return s.render(w, r, "incident_ack", "通報を受け付けました", map[string]any{"Ref": inc.Ref})
}

// ---- detail and actions ----

type evidenceRow struct {
	store.IncidentEvidence
	Path string
}

func (s *Server) incidentDetail(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.incidentTenant(r, auth.PermIncidentsView)
	if err != nil {
		return err
	}
	inc, events, files, err := s.o.Incidents.Get(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	sub := state(r).subject
	canHandle := sub.Can(auth.PermIncidentsHandle) && s.tenants(r, auth.PermIncidentsHandle).Has(tenant)
	canPublish := sub.Can(auth.PermIndicatorsPublish) && s.tenants(r, auth.PermIndicatorsPublish).Has(tenant) && s.o.Incidents.CanPublish()
	ev := make([]evidenceRow, len(files))
	for i, f := range files {
		ev[i] = evidenceRow{f, incidentPath(inc) + "/evidence/" + url.PathEscape(f.ID)}
	}
	var indicators []string
	for _, x := range inc.Indicators {
		indicators = append(indicators, x.Kind+" "+x.Value)
	}
	return s.render(w, r, "incident", inc.Ref, map[string]any{
		"I": inc, "Path": incidentPath(inc), "Events": events, "Evidence": ev, "Next": incident.Next(inc.State),
		"Warnings": inc.Warnings(s.o.Now()), "Impacts": incident.Impacts, "LinkKinds": incident.LinkKinds,
		"CanHandle": canHandle && inc.State != incident.StateClosed, "CanPublish": canPublish, "Indicators": strings.Join(indicators, "\n"),
		"MaxEvidenceMiB": s.o.Incidents.MaxEvidence() >> 20, "NeedsPref": inc.Impact.NeedsPrefecture(), "NeedsMIC": inc.Impact.NeedsMIC(),
	})
}

// incidentAction runs one form of the detail page.
func (s *Server) incidentAction(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.incidentTenant(r, auth.PermIncidentsHandle)
	if err != nil {
		return err
	}
	ctx, id, who := r.Context(), r.PathValue("id"), actor(r)
	f := func(k string) string { return r.PostFormValue(k) }
	svc := s.o.Incidents
	var inc *incident.Incident
	switch r.PathValue("action") {
	case "transition":
		inc, err = svc.Transition(ctx, who, tenant, id, incident.State(f("to")), f("comment"))
	case "triage":
		n, _ := strconv.Atoi(f("impact"))
		inc, err = svc.Triage(ctx, who, tenant, id, incident.Impact(n), f("comment"))
	case "assign":
		name := strings.TrimSpace(f("assignee"))
		if name != "" {
			if _, uerr := s.o.Store.UserByName(ctx, name); errors.Is(uerr, store.ErrNotFound) {
				return errStatus(http.StatusBadRequest, "その利用者は登録されていません。")
			} else if uerr != nil {
				return uerr
			}
		}
		inc, err = svc.Assign(ctx, who, tenant, id, name)
	case "check":
		inc, err = svc.Check(ctx, who, tenant, id, f("item"), f("done") == "1")
	case "escalate":
		inc, err = svc.Escalate(ctx, who, tenant, id, f("to"), f("comment"))
	case "link":
		inc, err = svc.AddLink(ctx, who, tenant, id, f("kind"), f("object"))
	case "clause":
		inc, err = svc.AddClause(ctx, who, tenant, id, f("clause"))
	case "review":
		inc, err = svc.SetReview(ctx, who, tenant, id, f("cause"), f("lessons"))
	case "action":
		due, perr := time.ParseInLocation(time.DateOnly, f("due"), jst)
		if perr != nil {
			return errStatus(http.StatusBadRequest, "期限を YYYY-MM-DD で入力してください。")
		}
		inc, err = svc.AddAction(ctx, who, tenant, id, f("action"), f("owner"), due, strings.Fields(strings.ReplaceAll(f("clauses"), ",", " ")))
	case "indicators":
		inc, err = svc.SetIndicators(ctx, who, tenant, id, f("indicators"))
	default:
		return errNotFound
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, incidentPath(inc)+"?m=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) incidentPublish(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.incidentTenant(r, auth.PermIndicatorsPublish)
	if err != nil {
		return err
	}
	inc, err := s.o.Incidents.Publish(r.Context(), actor(r), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, incidentPath(inc)+"?m=saved", http.StatusSeeOther)
	return nil
}

// evidencePath tells checkCSRF which multipart uploads carry their token
// in the form, read by the handler before the file (see transferUpload).
var evidencePath = regexp.MustCompile(`^/incidents/t/[^/]+/[^/]+/evidence$`)

// evidenceUpload streams one file: the csrf field must come first, the
// body is bounded by the size limit, and the file is sealed at once.
func (s *Server) evidenceUpload(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.incidentTenant(r, auth.PermIncidentsHandle)
	if err != nil {
		return err
	}
	r.Body = http.MaxBytesReader(w, r.Body, s.o.Incidents.MaxEvidence()+multipartOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return errStatus(http.StatusBadRequest, "ファイルを選んで送信してください。")
	}
	st := state(r)
	csrfOK := st.csrfChecked
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return errStatus(http.StatusBadRequest, "ファイルを選んで送信してください。")
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return errStatus(http.StatusRequestEntityTooLarge, "ファイルが大きすぎます。")
			}
			return &HTTPError{Status: http.StatusBadRequest, Msg: "送信内容を読み取れません。", Err: err}
		}
		switch part.FormName() {
		case "csrf":
			tok, _ := io.ReadAll(io.LimitReader(part, 256))
			if !constantEq(string(tok), st.session.CSRF) {
				return errCSRF
			}
			csrfOK = true
		case "file":
			if !csrfOK {
				return errCSRF
			}
			name, _ := rawFileName(part)
			ctype := part.Header.Get("Content-Type")
			if mt, _, err := mime.ParseMediaType(ctype); err == nil {
				ctype = mt
			} else {
				ctype = "application/octet-stream"
			}
			_, err := s.o.Incidents.AttachEvidence(r.Context(), actor(r), tenant, r.PathValue("id"), name, ctype, part)
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return errStatus(http.StatusRequestEntityTooLarge, "ファイルが大きすぎます。")
				}
				return err
			}
			http.Redirect(w, r, "/incidents/t/"+url.PathEscape(tenant)+"/"+url.PathEscape(r.PathValue("id"))+"?m=saved", http.StatusSeeOther)
			return nil
		}
	}
}

// evidenceDownload sends an attachment after its hash check, always as a
// download (never rendered: evidence is hostile content).
func (s *Server) evidenceDownload(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.incidentTenant(r, auth.PermIncidentsView)
	if err != nil {
		return err
	}
	e, data, err := s.o.Incidents.OpenEvidence(r.Context(), actor(r), tenant, r.PathValue("id"), r.PathValue("eid"))
	if errors.Is(err, incident.ErrEvidenceTampered) {
		return &HTTPError{Status: http.StatusConflict, Msg: "証拠ファイルの完全性を確認できません（改ざんの可能性）。管理者に連絡してください。", Err: err}
	}
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": e.Name}))
	w.Header().Set("X-Evidence-SHA256", e.SHA256)
	_, err = w.Write(data)
	return err
}

func (s *Server) incidentReport(w http.ResponseWriter, r *http.Request) error {
	tenant, err := s.incidentTenant(r, auth.PermIncidentsView)
	if err != nil {
		return err
	}
	format := r.PathValue("format")
	if format != "docx" && format != "pdf" {
		return errNotFound
	}
	inc, events, files, err := s.o.Incidents.Get(r.Context(), tenant, r.PathValue("id"))
	if err != nil {
		return err
	}
	org := tenant
	if s.o.Model != nil && s.o.Model.Org != nil && tenant == s.o.HomeTenant {
		org = s.o.Model.Org.Name
	}
	doc := incident.Report(incident.ReportInput{Org: org, Incident: inc, Events: events, Evidence: files, Catalog: s.o.Catalog, Date: s.o.Now()})
	var buf bytes.Buffer
	ctype := "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	if format == "docx" {
		err = incident.WriteDOCX(&buf, doc)
	} else {
		ctype = "application/pdf"
		err = incident.WritePDF(r.Context(), &buf, doc)
	}
	if err != nil {
		return err
	}
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: actor(r), Action: "incident.report_export", Target: "incident:" + tenant + "/" + inc.Ref,
		Details: map[string]any{"format": format, "id": inc.ID}}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": inc.Ref + "." + format}))
	_, err = w.Write(buf.Bytes())
	return err
}

// incidentActionsExport writes the corrective actions of the visible
// incidents as an assessment file (改善計画) for the fiscal year.
func (s *Server) incidentActionsExport(w http.ResponseWriter, r *http.Request) error {
	ts := s.tenants(r, auth.PermIncidentsView)
	f := scopeFilter(ts)
	if t := r.URL.Query().Get("tenant"); t != "" {
		if !ts.Has(t) {
			return errIncidentNotFound
		}
		f.AllTenants, f.Tenants = false, []string{t}
	}
	incs, err := s.o.Incidents.List(r.Context(), f)
	if err != nil {
		return err
	}
	fy := incident.FiscalYearOf(s.o.Now())
	body := incident.ActionsFile(s.o.Catalog, incs, fy)
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: actor(r), Action: "incident.actions_export", Target: "incidents",
		Details: map[string]any{"tenants": cmp.Or(strings.Join(f.Tenants, ","), "*"), "fiscal_year": int(fy)}}); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="incident-actions.yaml"`)
	_, err = w.Write(body)
	return err
}

func (s *Server) incidentStats(w http.ResponseWriter, r *http.Request) error {
	ts := s.tenants(r, auth.PermIncidentsView)
	q := r.URL.Query()
	tenant := cmp.Or(q.Get("tenant"), s.defaultTenant(ts))
	if tenant == "" && ts.All {
		// The prefecture's operator chooses a member body first.
		return s.render(w, r, "incident_stats", "インシデント月次統計", map[string]any{"AllTenants": true, "Month": s.o.Now().In(jst).Format("2006-01")})
	}
	if tenant == "" || !ts.Has(tenant) {
		return errIncidentNotFound
	}
	month, err := time.ParseInLocation("2006-01", q.Get("month"), jst)
	if err != nil {
		month = s.o.Now().In(jst)
	}
	st, err := s.o.Incidents.Monthly(r.Context(), tenant, month.Year(), month.Month())
	if err != nil {
		return err
	}
	lang := state(r).lang
	if q.Get("format") == "docx" {
		var buf bytes.Buffer
		if err := incident.WriteDOCX(&buf, incident.MonthlyReport(tenant, st, s.o.Now())); err != nil {
			return err
		}
		if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: actor(r), Action: "incident.stats_export", Target: "incidents:" + tenant,
			Details: map[string]any{"month": st.Month.Format("2006-01")}}); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="incident-stats-%s-%s.docx"`, url.PathEscape(tenant), st.Month.Format("2006-01")))
		_, err := w.Write(buf.Bytes())
		return err
	}
	return s.render(w, r, "incident_stats", "インシデント月次統計", map[string]any{
		"S": st, "Tenant": tenant, "Month": st.Month.Format("2006-01"), "AllTenants": ts.All, "TenantList": ts.List(),
		"TypeChart":   incident.BarChart(tr(lang, "種別ごとの件数"), st.ByType, lang),
		"ImpactChart": incident.BarChart(tr(lang, "影響度ごとの件数"), st.ByImpact, lang),
	})
}

// incidentFuncs are the template helpers of the incident pages.
var incidentFuncs = template.FuncMap{
	"lbl":      func(l incident.Label, lang string) string { return l.In(lang) },
	"wareki":   incident.When,
	"hours":    incident.Hours,
	"dateOnly": func(t time.Time) string { return t.In(jst).Format(time.DateOnly) },
	"has":      func(v url.Values, k, want string) bool { return v.Get(k) == want },
	"stateLbl": func(st, lang string) string { return cmp.Or(incident.State(st).Label().In(lang), st) },
}
