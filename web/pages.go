package web

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
)

//go:embed templates static
var assets embed.FS

func (s *Server) routes() {
	m := s.mux
	m.Handle("GET /static/", s.static())
	m.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	m.Handle("GET /login", s.adapt(s.loginPage))
	m.Handle("POST /login", s.adapt(s.loginPost))
	m.Handle("GET /login/mfa", s.adapt(s.mfaPage))
	m.Handle("POST /login/totp", s.adapt(s.totpPost))
	m.Handle("POST /login/webauthn/begin", s.adapt(s.webauthnLoginBegin))
	m.Handle("POST /login/webauthn/finish", s.adapt(s.webauthnLoginFinish))
	m.Handle("POST /logout", s.adapt(s.logout))

	m.Handle("GET /account/mfa", s.requireUser(s.accountPage))
	m.Handle("POST /account/mfa/totp/begin", s.requireUser(s.totpBegin))
	m.Handle("POST /account/mfa/totp/confirm", s.requireUser(s.totpConfirm))
	m.Handle("POST /account/mfa/webauthn/begin", s.requireUser(s.webauthnRegisterBegin))
	m.Handle("POST /account/mfa/webauthn/finish", s.requireUser(s.webauthnRegisterFinish))
	m.Handle("GET /account/password", s.requireUser(s.passwordPage))
	m.Handle("POST /account/password", s.requireUser(s.passwordPost))

	m.Handle("GET /{$}", s.require(auth.PermDashboard, s.dashboard))
	m.Handle("GET /model", s.require(auth.PermModelView, s.modelPage))
	m.Handle("GET /model/diagram.svg", s.require(auth.PermModelView, s.diagramSVG))
	m.Handle("GET /findings", s.require(auth.PermFindingsView, s.findingsPage))
	m.Handle("GET /catalog", s.require(auth.PermFindingsView, s.catalogPage))
	m.Handle("GET /catalog/section", s.require(auth.PermFindingsView, s.catalogSection))
	m.Handle("GET /catalog/entry", s.require(auth.PermFindingsView, s.catalogEntry))
	m.Handle("GET /audit", s.require(auth.PermAuditView, s.auditPage))
	m.Handle("GET /audit/export", s.require(auth.PermAuditExport, s.auditExport))
	m.Handle("GET /users", s.require(auth.PermUsersView, s.usersPage))
	m.Handle("POST /users", s.require(auth.PermUsersManage, s.userCreate))
	m.Handle("GET /users/{id}", s.require(auth.PermUsersView, s.userPage))
	m.Handle("POST /users/{id}/roles", s.require(auth.PermUsersManage, s.userRoles))
	m.Handle("POST /users/{id}/unlock", s.require(auth.PermUsersManage, s.userAction(s.userUnlock)))
	m.Handle("POST /users/{id}/disable", s.require(auth.PermUsersManage, s.userAction(s.userDisable)))
	m.Handle("POST /users/{id}/reset-mfa", s.require(auth.PermUsersManage, s.userAction(s.userResetMFA)))
	m.Handle("POST /users/{id}/reset-password", s.require(auth.PermUsersManage, s.userResetPassword))
	s.transferRoutes()
	s.transferHistoryRoutes()
	s.alertRoutes()
	s.incidentRoutes()
	m.Handle("/", s.adapt(func(w http.ResponseWriter, r *http.Request) error { return errNotFound }))
}

// navItem is an entry of the top navigation, shown only with its permission.
type navItem struct {
	Path, Label string
	Perm        auth.Permission
}

var nav = []navItem{
	{"/", "ダッシュボード", auth.PermDashboard},
	{"/model", "モデル", auth.PermModelView},
	{"/findings", "指摘事項", auth.PermFindingsView},
	{"/catalog", "要求事項", auth.PermFindingsView},
	{"/audit", "監査ログ", auth.PermAuditView},
	{"/users", "利用者と権限", auth.PermUsersView},
	{"/transfer", "ファイル転送", auth.PermTransferUse},
	{"/audit/transfers", "転送の履歴", auth.PermTransferAudit},
	{"/alerts", "アラート", auth.PermAlertsView},
	{"/events", "イベント検索", auth.PermEventsSearch},
	{"/incidents", "インシデント", auth.PermIncidentsView},
	{"/incidents/report", "インシデントの報告", auth.PermIncidentsReport},
	{"/account/mfa", "二要素認証", auth.PermSelfMFA},
	{"/account/password", "パスワード", auth.PermSelfPassword},
}

// page is what every template gets.
type page struct {
	// Body, when set, is the pre-rendered content (see cachedContent).
	Body    template.HTML
	Title   string
	Path    string
	Subject *auth.Subject
	Roles   string
	CSRF    string
	Nav     []navItem
	Flash   string
	Data    any
	Org     string
	Lang    string // "ja" or "en"
}

// T translates a Japanese message into the page's language.
func (p *page) T(ja string) string { return tr(p.Lang, ja) }

var funcs = template.FuncMap{
	"sevClass": func(s check.Severity) string { return "sev-" + s.String() },
	"sevJA":    func(s check.Severity) string { return s.JA() },
	"zoneJA": func(t model.ZoneType) string {
		if ja, ok := model.ZoneTypeJA[t]; ok {
			return ja
		}
		return string(t)
	},
	"roleIn": func(lang, r string) string {
		if ri, ok := auth.Info(auth.Role(r)); ok {
			if lang == "en" {
				return ri.EN
			}
			return ri.JA
		}
		return r
	},
	"roleJA": func(r string) string {
		if ri, ok := auth.Info(auth.Role(r)); ok {
			return ri.JA
		}
		return r
	},
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.In(jst).Format("2006-01-02 15:04:05")
	},
	"join":     strings.Join,
	"ports":    func(ps []model.PortRange) string { return joinStrings(ps) },
	"prefixes": func(ps []model.Prefix) string { return joinStrings(ps) },
	"add":      func(a, b int) int { return a + b },
	"ja":       func(t interface{ In(string) string }) string { return t.In("ja") },
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return m
	},
	"tr":         tr,
	"sevIn":      func(lang string, s check.Severity) string { return s.Label(lang) },
	"hasRole":    func(has map[string]string, r auth.Role) bool { _, ok := has[string(r)]; return ok },
	"optScope":   func(r auth.Role) string { return auth.OptionalScopeKind(r) },
	"levelClass": levelClass,
	"levelJA":    levelJA,
}

func joinStrings[T fmt.Stringer](xs []T) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return strings.Join(out, ", ")
}

// jst is Japan Standard Time, in which municipal staff read times.
var jst = time.FixedZone("JST", 9*3600)

func (s *Server) parseTemplates() error {
	s.pages = map[string]*template.Template{}
	files, err := assets.ReadDir("templates")
	if err != nil {
		return err
	}
	for _, f := range files {
		name := strings.TrimSuffix(f.Name(), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).Funcs(incidentFuncs).ParseFS(assets, "templates/layout.html", "templates/partials.html", "templates/"+f.Name())
		if err != nil {
			return fmt.Errorf("template %s: %w", f.Name(), err)
		}
		s.pages[name] = t
	}
	return nil
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data any) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return s.renderTo(w, r, name, title, data)
}

// renderCached renders a page whose content depends only on the loaded
// model and key (the viewer's scope and the query), never on the user or
// the session: the model does not change while the server runs, so the
// content is rendered once per key. The layout (user, CSRF token, menu) is
// rendered per request as usual.
func (s *Server) renderCached(w http.ResponseWriter, r *http.Request, name, title, key string, data func() any) error {
	body, err := s.cachedContent(name, title, key, state(r).lang, data)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return s.renderTo(w, r, name, title, cachedBody(body))
}

// cachedContent renders (once per key) the "content" template of a page.
func (s *Server) cachedContent(name, title, key, lang string, data func() any) (template.HTML, error) {
	ck := name + "\x00" + lang + "\x00" + key
	body, ok := s.cache.Load(ck)
	if !ok {
		var b strings.Builder
		if err := s.pages[name].ExecuteTemplate(&b, "content", &page{Title: title, Data: data(), Lang: lang}); err != nil {
			return "", fmt.Errorf("render %s: %w", name, err)
		}
		body, _ = s.cache.LoadOrStore(ck, template.HTML(b.String()))
	}
	return body.(template.HTML), nil
}

// cachedBody marks pre-rendered content for renderTo.
type cachedBody template.HTML

func (s *Server) renderTo(w http.ResponseWriter, r *http.Request, name, title string, data any) error {
	t := s.pages[name]
	if t == nil {
		return fmt.Errorf("no template %q", name)
	}
	st := state(r)
	lang := "ja"
	if st != nil {
		lang = st.lang
	}
	p := &page{Title: tr(lang, title), Path: r.URL.Path, Data: data, Flash: tr(lang, messages[r.URL.Query().Get("m")]), Lang: lang}
	if b, ok := data.(cachedBody); ok {
		p.Body, p.Data = template.HTML(b), nil
	}
	if s.o.Model != nil {
		p.Org = s.o.Model.Org.Name
	}
	if st != nil && st.session != nil {
		p.CSRF = st.session.CSRF
		if st.session.State == stOK || st.session.State == stEnrol {
			p.Subject = st.subject
		}
	}
	if p.Subject != nil {
		var roles []string
		for _, g := range p.Subject.Grants {
			ri, _ := auth.Info(auth.Role(g.Role))
			name := ri.JA
			if lang == "en" {
				name = ri.EN
			}
			roles = append(roles, cmp.Or(name, g.Role))
		}
		p.Roles = strings.Join(roles, tr(lang, "、"))
		if st.session.State == stOK {
			for _, n := range nav {
				if p.Subject.Can(n.Perm) && (n.Path != "/transfer" || (sideOf(r) != "" && s.o.Transfer != nil)) && (!strings.HasPrefix(n.Path, "/incidents") || s.o.Incidents != nil) {
					n.Label = tr(lang, n.Label)
					p.Nav = append(p.Nav, n)
				}
			}
		}
	}
	// Render to a buffer first so that a template error becomes a clean 500.
	var b strings.Builder
	if err := t.Execute(&b, p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	_, err := w.Write([]byte(b.String()))
	return err
}

// ---- dashboard ----

type sevCount struct {
	Severity check.Severity
	Count    int
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request) error {
	sub := state(r).subject
	sc := sub.ScopeFor(auth.PermFindingsView)
	can := sub.Can(auth.PermFindingsView)
	canAssess := sub.Can(auth.PermAssessmentView)
	lang := state(r).lang
	body, err := s.cachedContent("dashboard", "ダッシュボード", fmt.Sprintf("%s|%v|%v", scopeKey(sc), can, canAssess), lang, func() any {
		data := s.dashboardData(sc, can)
		if canAssess {
			data["Assess"] = s.av
			if lang == "en" {
				data["Assess"] = s.avEN
			}
		}
		return data
	})
	if err != nil {
		return err
	}
	// Activity changes while the server runs: rendered per request.
	if sub.Can(auth.PermActivityView) {
		act, err := s.activity(r)
		if err != nil {
			return err
		}
		body += act
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return s.renderTo(w, r, "dashboard", "ダッシュボード", cachedBody(body))
}

// activity renders the sanitization and mail sections. A file that cannot
// be read shows a generic note; the details go to the log.
func (s *Server) activity(r *http.Request) (template.HTML, error) {
	now := s.o.Now()
	var data struct {
		Sanitize, Mail ActivitySummary
		Lang           string
	}
	data.Lang = state(r).lang
	for _, x := range []struct {
		f   *activityFile
		dst *ActivitySummary
	}{{s.san, &data.Sanitize}, {s.mail, &data.Mail}} {
		sum, err := x.f.summary(now)
		if err != nil {
			s.o.Log.Warn("activity file unreadable", "path", x.f.path, "err", err)
			sum.Err = tr(data.Lang, "記録ファイルを読み込めません（詳細はサーバーのログを参照）。")
		}
		*x.dst = sum
	}
	var b strings.Builder
	if err := s.pages["dashboard"].ExecuteTemplate(&b, "activity", data); err != nil {
		return "", fmt.Errorf("render activity: %w", err)
	}
	return template.HTML(b.String()), nil
}

func (s *Server) dashboardData(sc auth.Scope, canFindings bool) map[string]any {
	data := map[string]any{}
	res := s.o.Result
	if res == nil {
		return data
	}
	findings := s.visibleFindings(sc)
	var counts []sevCount
	for sev := check.Critical; sev >= check.Info; sev-- {
		n := 0
		for _, f := range findings {
			if f.Severity == sev {
				n++
			}
		}
		counts = append(counts, sevCount{sev, n})
	}
	ng := 0
	for _, c := range res.Connections {
		if c.Verdict == check.NG {
			ng++
		}
	}
	data["Result"] = res
	data["Counts"] = counts
	data["Findings"] = len(findings)
	data["Top"] = capped(findings, 8)
	data["ConnNG"] = ng
	data["CanFindings"] = canFindings
	data["Model"] = s.o.Model
	return data
}

// visibleFindings returns the findings the scope may see, most severe first.
func (s *Server) visibleFindings(sc auth.Scope) []check.Finding {
	if s.o.Result == nil {
		return nil
	}
	var out []check.Finding
	for _, f := range s.o.Result.Findings {
		if sc.All || slices.ContainsFunc(f.Objects, func(o string) bool { return s.objectVisible(sc, o) }) {
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b check.Finding) int { return cmp.Compare(b.Severity, a.Severity) })
	return out
}

// scopeKey identifies a scope for the content cache.
func scopeKey(sc auth.Scope) string {
	if sc.All {
		return "*"
	}
	var parts []string
	for _, m := range []struct {
		p   string
		ids map[string]bool
	}{{"d", sc.Departments}, {"v", sc.Divisions}, {"s", sc.Systems}} {
		for id := range m.ids {
			parts = append(parts, m.p+":"+id)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// ---- scoping (clause 1: officers see their department, managers their
// division, administrators their systems) ----

func systemVisible(sc auth.Scope, sys *model.System) bool {
	return sc.All || sc.Systems[sys.ID] || (sys.Department != "" && sc.Departments[sys.Department]) || (sys.Division != "" && sc.Divisions[sys.Division])
}

func (s *Server) hostVisible(sc auth.Scope, h *model.Host) bool {
	if sc.All || (h.Division != "" && sc.Divisions[h.Division]) {
		return true
	}
	for _, id := range h.Systems {
		if sys := s.o.Model.SystemByID[id]; sys != nil && systemVisible(sc, sys) {
			return true
		}
	}
	return false
}

func (s *Server) objectVisible(sc auth.Scope, ref string) bool {
	if sc.All {
		return true
	}
	if s.o.Model == nil {
		return false
	}
	kind, id, _ := strings.Cut(ref, "/")
	switch kind {
	case "host":
		h := s.o.Model.HostByID[id]
		return h != nil && s.hostVisible(sc, h)
	case "system":
		sys := s.o.Model.SystemByID[id]
		return sys != nil && systemVisible(sc, sys)
	}
	return false
}

func (s *Server) endpointVisible(sc auth.Scope, e model.Endpoint) bool {
	switch e.Kind {
	case model.EPHost:
		return s.hostVisible(sc, e.Host)
	case model.EPSystem:
		return systemVisible(sc, e.System)
	}
	return sc.All
}

// ---- model browser ----

type flowRow struct {
	Flow     *model.Flow
	FromZone string
	ToZone   string
}

func (s *Server) modelPage(w http.ResponseWriter, r *http.Request) error {
	m := s.o.Model
	if m == nil {
		return s.render(w, r, "model", "モデル", nil)
	}
	sc := state(r).subject.ScopeFor(auth.PermModelView)
	return s.renderCached(w, r, "model", "モデル", scopeKey(sc), func() any { return s.modelData(sc, state(r).lang) })
}

func (s *Server) modelData(sc auth.Scope, lang string) map[string]any {
	m := s.o.Model
	var systems []*model.System
	for _, sys := range m.Systems {
		if systemVisible(sc, sys) {
			systems = append(systems, sys)
		}
	}
	var hosts []*model.Host
	for _, h := range m.Hosts {
		if s.hostVisible(sc, h) {
			hosts = append(hosts, h)
		}
	}
	var flows []flowRow
	for i, f := range m.Flows {
		from, to := m.FlowFrom[i], m.FlowTo[i]
		if !s.endpointVisible(sc, from) && !s.endpointVisible(sc, to) {
			continue
		}
		flows = append(flows, flowRow{Flow: f, FromZone: zoneLabel(from), ToZone: zoneLabel(to)})
	}
	// Hosts can number in the thousands at prefecture scale; the page shows
	// a bounded number and says so.
	const maxRows = 500
	data := map[string]any{"Model": m, "Systems": systems, "Hosts": capped(hosts, maxRows), "Flows": capped(flows, maxRows),
		"HostsTotal": len(hosts), "FlowsTotal": len(flows), "MaxRows": maxRows, "Scoped": !sc.All,
		"Diagram": s.diagram(lang)}
	if sc.All {
		data["Comms"] = m.Communications
	}
	return data
}

func capped[T any](xs []T, n int) []T {
	if len(xs) > n {
		return xs[:n]
	}
	return xs
}

func zoneLabel(e model.Endpoint) string {
	switch {
	case e.Zone != nil:
		return e.Zone.ID
	case e.Kind == model.EPInternet:
		return "インターネット"
	case e.Kind == model.EPLGWAN:
		return "LGWAN"
	}
	return "外部"
}

func (s *Server) diagramSVG(w http.ResponseWriter, r *http.Request) error {
	if s.o.Model == nil {
		return errNotFound
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	_, err := w.Write([]byte(s.diagram(state(r).lang)))
	return err
}

func (s *Server) diagram(lang string) template.HTML {
	i := 0
	if lang == "en" {
		i = 1
	}
	s.diag.once[i].Do(func() {
		if s.o.Model != nil {
			s.diag.svg[i] = template.HTML(DiagramIn(s.o.Model, lang))
		}
	})
	return s.diag.svg[i]
}

// ---- findings ----

func (s *Server) findingsPage(w http.ResponseWriter, r *http.Request) error {
	sc := state(r).subject.ScopeFor(auth.PermFindingsView)
	sev := r.URL.Query().Get("severity")
	var want check.Severity
	if sev != "" {
		var err error
		if want, err = check.ParseSeverity(sev); err != nil {
			return errStatus(http.StatusBadRequest, "重大度の指定が正しくありません。")
		}
		sev = want.String()
	}
	return s.renderCached(w, r, "findings", "指摘事項", scopeKey(sc)+"|"+sev, func() any {
		findings := s.visibleFindings(sc)
		if sev != "" {
			findings = slices.DeleteFunc(findings, func(f check.Finding) bool { return f.Severity != want })
		}
		return map[string]any{"Findings": findings, "Severity": sev, "Loaded": s.o.Result != nil}
	})
}

// ---- audit log ----

func auditFilter(r *http.Request) (store.AuditFilter, error) {
	q := r.URL.Query()
	f := store.AuditFilter{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action"))}
	var err error
	f.Since, f.Until, err = dateRange(q)
	return f, err
}

// dateRange reads the "since" and "until" days (YYYY-MM-DD, JST) of a
// query; until includes its whole day.
func dateRange(q url.Values) (since, until time.Time, err error) {
	for _, p := range []struct {
		key string
		dst *time.Time
		add time.Duration
	}{{"since", &since, 0}, {"until", &until, 24 * time.Hour}} {
		if v := q.Get(p.key); v != "" {
			t, err := time.ParseInLocation("2006-01-02", v, jst)
			if err != nil {
				return since, until, errStatus(http.StatusBadRequest, "日付は YYYY-MM-DD の形式で指定してください。")
			}
			*p.dst = t.Add(p.add)
		}
	}
	return since, until, nil
}

const auditPageSize = 100

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	pg, _ := strconv.Atoi(r.URL.Query().Get("page"))
	pg = max(pg, 1)
	total, err := s.o.Store.CountAudit(r.Context(), f)
	if err != nil {
		return err
	}
	f.Desc, f.Limit, f.Offset = true, auditPageSize, (pg-1)*auditPageSize
	entries, err := s.o.Store.AuditEntries(r.Context(), f)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	q.Del("page")
	return s.render(w, r, "audit", "監査ログ", map[string]any{
		"Entries": entries, "Total": total, "Page": pg, "HasNext": pg*auditPageSize < total, "HasPrev": pg > 1,
		"Query": q.Encode(), "Actor": f.Actor, "Action": f.Action, "Since": q.Get("since"), "Until": q.Get("until"),
		"CanExport": state(r).subject.Can(auth.PermAuditExport)})
}

func (s *Server) auditExport(w http.ResponseWriter, r *http.Request) error {
	f, err := auditFilter(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "csv" && format != "json" {
		return errStatus(http.StatusBadRequest, "形式は csv または json を指定してください。")
	}
	entries, err := s.o.Store.AuditEntries(r.Context(), f)
	if err != nil {
		return err
	}
	sub := state(r).subject
	// Exporting the log is itself an auditable act.
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: sub.User.Name, Action: audit.AuditExport, Target: "audit",
		Details: map[string]any{"format": format, "entries": len(entries), "actor": f.Actor, "action": f.Action}}); err != nil {
		return err
	}
	name := "kyojin-audit-" + s.o.Now().In(jst).Format("20060102-150405") + "." + format
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if format == "json" {
		w.Header().Set("Content-Type", "application/json")
		return audit.WriteJSON(w, entries)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	return audit.WriteCSV(w, entries)
}

// ---- users and roles ----

type userRow struct {
	User   store.User
	Grants []store.Grant
	MFA    auth.MFAState
	Locked bool
}

func (s *Server) userRows(ctx context.Context) ([]userRow, error) {
	users, err := s.o.Store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]userRow, 0, len(users))
	for i := range users {
		g, err := s.o.Store.Grants(ctx, users[i].ID)
		if err != nil {
			return nil, err
		}
		mfa, err := s.o.Auth.MFA(ctx, &users[i], g)
		if err != nil {
			return nil, err
		}
		rows = append(rows, userRow{User: users[i], Grants: g, MFA: mfa, Locked: users[i].LockedUntil.After(s.o.Now())})
	}
	return rows, nil
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request) error {
	rows, err := s.userRows(r.Context())
	if err != nil {
		return err
	}
	return s.renderUsers(w, r, rows, "", nil)
}

func (s *Server) renderUsers(w http.ResponseWriter, r *http.Request, rows []userRow, errMsg string, form map[string]string) error {
	return s.render(w, r, "users", "利用者と権限", map[string]any{"Users": rows, "Roles": auth.Roles,
		"CanManage": state(r).subject.Can(auth.PermUsersManage), "Error": errMsg, "Form": form})
}

// grantsFromForm reads role checkboxes ("role") and their scopes
// ("scope-ROLE").
func grantsFromForm(r *http.Request) ([]store.Grant, error) {
	var out []store.Grant
	for _, role := range r.PostForm["role"] {
		g := store.Grant{Role: role}
		if ri, ok := auth.Info(auth.Role(role)); ok && ri.ScopeKind != "" {
			id := strings.TrimSpace(r.PostFormValue("scope-" + role))
			g.Scope = ri.ScopeKind + ":" + id
		} else if k := auth.OptionalScopeKind(auth.Role(role)); k != "" {
			if id := strings.TrimSpace(r.PostFormValue("scope-" + role)); id != "" {
				g.Scope = k + ":" + id
			}
		}
		if err := auth.ValidateGrant(g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func (s *Server) checkGrantable(sub *auth.Subject, grants []store.Grant) error {
	for _, g := range grants {
		if !sub.CanGrant(auth.Role(g.Role)) {
			return errStatus(http.StatusForbidden, "このロールを付与する権限がありません。")
		}
	}
	return nil
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request) error {
	sub := state(r).subject
	form := map[string]string{"name": r.PostFormValue("name"), "display": r.PostFormValue("display")}
	grants, err := grantsFromForm(r)
	if err == nil && len(grants) == 0 {
		err = errors.New("ロールを一つ以上選んでください")
	}
	if err == nil {
		err = s.checkGrantable(sub, grants)
	}
	if err == nil {
		_, err = s.o.Auth.CreateUser(r.Context(), sub.User.Name, form["name"], form["display"], r.PostFormValue("password"), grants)
	}
	if err != nil {
		var he *HTTPError
		if errors.As(err, &he) {
			return err
		}
		rows, rerr := s.userRows(r.Context())
		if rerr != nil {
			return rerr
		}
		msg := "利用者を作成できません: " + err.Error()
		if errors.Is(err, store.ErrConflict) {
			msg = "そのログイン名はすでに使われています。"
		}
		w.WriteHeader(http.StatusBadRequest)
		return s.renderUsers(w, r, rows, msg, form)
	}
	http.Redirect(w, r, "/users?m=created", http.StatusSeeOther)
	return nil
}

// target loads the user named in the path; changing one's own account
// here is refused (no self-elevation, no locking oneself out).
func (s *Server) target(r *http.Request, forWrite bool) (*store.User, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errNotFound
	}
	u, err := s.o.Store.UserByID(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errNotFound
	} else if err != nil {
		return nil, err
	}
	if forWrite && u.ID == state(r).subject.User.ID {
		return nil, errStatus(http.StatusForbidden, "自分自身のロールや状態はここでは変更できません。")
	}
	return u, nil
}

func (s *Server) userPage(w http.ResponseWriter, r *http.Request) error {
	u, err := s.target(r, false)
	if err != nil {
		return err
	}
	g, err := s.o.Store.Grants(r.Context(), u.ID)
	if err != nil {
		return err
	}
	mfa, err := s.o.Auth.MFA(r.Context(), u, g)
	if err != nil {
		return err
	}
	has := map[string]string{}
	for _, x := range g {
		_, id, _ := strings.Cut(x.Scope, ":")
		has[x.Role] = id
	}
	return s.render(w, r, "user", "利用者: "+u.Name, map[string]any{"U": u, "Grants": g, "Has": has, "MFA": mfa, "Roles": auth.Roles,
		"Locked": u.LockedUntil.After(s.o.Now()), "CanManage": state(r).subject.Can(auth.PermUsersManage),
		"Self": u.ID == state(r).subject.User.ID})
}

func (s *Server) userRoles(w http.ResponseWriter, r *http.Request) error {
	u, err := s.target(r, true)
	if err != nil {
		return err
	}
	sub := state(r).subject
	grants, err := grantsFromForm(r)
	if err != nil {
		return &HTTPError{Status: http.StatusBadRequest, Msg: "ロールの指定が正しくありません: " + err.Error(), Err: err}
	}
	old, err := s.o.Store.Grants(r.Context(), u.ID)
	if err != nil {
		return err
	}
	// Both what is given and what is taken away must be within the
	// actor's power (a chief officer cannot demote the CISO).
	if err := s.checkGrantable(sub, append(slices.Clone(grants), old...)); err != nil {
		return err
	}
	for i := range grants {
		grants[i].UserID = u.ID
	}
	if err := s.o.Store.SetGrants(r.Context(), u.ID, grants); err != nil {
		return err
	}
	s.o.Audit.Append(r.Context(), audit.Event{Actor: sub.User.Name, Action: audit.RoleChange, Target: "user/" + u.Name,
		Details: map[string]any{"from": old, "to": grants}})
	// New roles may need MFA or remove access: end the user's sessions.
	if err := s.o.Store.DeleteUserSessions(r.Context(), u.ID); err != nil {
		return err
	}
	http.Redirect(w, r, fmt.Sprintf("/users/%d?m=saved", u.ID), http.StatusSeeOther)
	return nil
}

// userAction runs act on the user named in the path (never oneself; never
// someone holding a role the actor could not grant) and returns to the
// user's page.
func (s *Server) userAction(act func(r *http.Request, actor string, u *store.User) error) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		u, err := s.target(r, true)
		if err != nil {
			return err
		}
		if err := s.checkOutranks(r, u); err != nil {
			return err
		}
		if err := act(r, state(r).subject.User.Name, u); err != nil {
			return err
		}
		http.Redirect(w, r, fmt.Sprintf("/users/%d?m=saved", u.ID), http.StatusSeeOther)
		return nil
	}
}

func (s *Server) userUnlock(r *http.Request, actor string, u *store.User) error {
	return s.o.Auth.Unlock(r.Context(), actor, u)
}

func (s *Server) userDisable(r *http.Request, actor string, u *store.User) error {
	u.Disabled = r.PostFormValue("disabled") == "1"
	if err := s.o.Store.UpdateUser(r.Context(), u); err != nil {
		return err
	}
	if u.Disabled {
		if err := s.o.Store.DeleteUserSessions(r.Context(), u.ID); err != nil {
			return err
		}
	}
	_, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: actor, Action: audit.UserDisable, Target: "user/" + u.Name,
		Details: map[string]any{"disabled": u.Disabled}})
	return err
}

// checkOutranks refuses actions on an account holding a role the actor
// could not grant (e.g. a chief officer disabling the CISO).
func (s *Server) checkOutranks(r *http.Request, u *store.User) error {
	g, err := s.o.Store.Grants(r.Context(), u.ID)
	if err != nil {
		return err
	}
	return s.checkGrantable(state(r).subject, g)
}

func (s *Server) userResetMFA(r *http.Request, actor string, u *store.User) error {
	if err := s.o.Auth.RemoveTOTP(r.Context(), actor, u); err != nil {
		return err
	}
	keys, err := s.o.Store.WebAuthnCredentials(r.Context(), u.ID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := s.o.Store.DeleteWebAuthn(r.Context(), u.ID, k.ID); err != nil {
			return err
		}
	}
	return s.o.Store.DeleteUserSessions(r.Context(), u.ID)
}
