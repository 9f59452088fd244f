package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/sqlstore"
)

// incidentKit is the incident service of a test console with its
// in-memory alert source and indicator publisher.
type incidentKit struct {
	svc    *incident.Service
	alerts *incident.MemoryAlerts
	pub    *incident.MemoryPublisher
}

// withIncidents turns on the incident pages for the home tenant "kakuu".
func withIncidents(t testing.TB, kit *incidentKit) func(*Options) {
	return func(o *Options) {
		sealer, err := auth.NewSealer(bytes.Repeat([]byte{3}, 32))
		if err != nil {
			t.Fatal(err)
		}
		kit.alerts, kit.pub = &incident.MemoryAlerts{}, &incident.MemoryPublisher{}
		kit.svc, err = incident.New(incident.Options{Store: o.Store, Audit: o.Audit, Sealer: sealer, Log: o.Log, Alerts: kit.alerts,
			Publisher: kit.pub, Models: incident.SingleModel{Tenant: "kakuu", M: o.Model}, Catalog: o.Catalog, MaxEvidence: 1 << 20, Now: o.Now})
		if err != nil {
			t.Fatal(err)
		}
		o.Incidents, o.HomeTenant = kit.svc, "kakuu"
	}
}

func (k *incidentKit) create(t *testing.T, tenant, title string) *incident.Incident {
	t.Helper()
	inc, err := k.svc.Create(context.Background(), "seed", incident.NewIncident{Tenant: tenant, Title: title, Type: incident.TypeMalware, Source: incident.SourceManual})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

// evidence posts a multipart upload; parts in the given order.
func (b *browser) evidence(path string, parts ...part) (int, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.file == "" {
			w, _ := mw.CreateFormField(p.field)
			w.Write(p.body)
		} else {
			w, _ := mw.CreateFormFile(p.field, p.file)
			w.Write(p.body)
		}
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// raw fetches path and returns the response with its headers.
func (b *browser) raw(path string) (*http.Response, []byte) {
	b.e.t.Helper()
	res, err := b.c.Get(b.base + path)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(res.Body)
	return res, buf.Bytes()
}

func TestIncidentTenantIsolation(t *testing.T) {
	kit := &incidentKit{}
	e := newEnv(t, withIncidents(t, kit))
	e.user("csirta", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	e.user("csirtb", true, store.Grant{Role: "csirt", Scope: "tenant:other"})
	e.user("soc", true, store.Grant{Role: "soc-operator"})
	mine := kit.create(t, "kakuu", "本市の事案")
	theirs := kit.create(t, "other", "他団体の事案")
	ctx := context.Background()
	ev, err := kit.svc.AttachEvidence(ctx, "seed", "other", theirs.ID, "secret.log", "text/plain", strings.NewReader("other tenant's log"))
	if err != nil {
		t.Fatal(err)
	}
	kit.svc.SetReview(ctx, "seed", "other", theirs.ID, "原因B", "")
	kit.svc.AddAction(ctx, "seed", "other", theirs.ID, "他団体の改善策", "B課", time.Now().AddDate(0, 1, 0), nil)
	kit.svc.SetReview(ctx, "seed", "kakuu", mine.ID, "原因A", "")
	kit.svc.AddAction(ctx, "seed", "kakuu", mine.ID, "本市の改善策", "A課", time.Now().AddDate(0, 1, 0), nil)

	a := e.browser()
	a.login("csirta")
	code, body := a.get("/incidents")
	if code != 200 || !strings.Contains(body, mine.Ref) || strings.Contains(body, theirs.Ref) {
		t.Fatalf("csirt of kakuu lists: %d %s", code, body)
	}
	_, body = a.get("/incidents?tenant=other")
	if strings.Contains(body, theirs.Ref) {
		t.Fatal("tenant filter widened the scope")
	}
	theirPath := "/incidents/t/other/" + theirs.ID
	for _, p := range []string{theirPath, theirPath + "/evidence/" + ev.ID, theirPath + "/report/docx",
		"/incidents/t/kakuu/" + theirs.ID, "/incidents/t/kakuu/" + theirs.ID + "/evidence/" + ev.ID,
		"/incidents/stats?tenant=other", "/incidents/actions.yaml?tenant=other"} {
		if code, body := a.get(p); code != 404 || strings.Contains(body, "他団体") {
			t.Errorf("GET %s: %d", p, code)
		}
	}
	for _, act := range []string{"transition", "assign", "review", "indicators"} {
		if code, _ := a.post(theirPath+"/"+act, url.Values{"to": {"received"}, "assignee": {"x"}, "cause": {"x"}}); code != 404 {
			t.Errorf("POST %s on another tenant: %d", act, code)
		}
	}
	if code, _ := a.evidence(theirPath+"/evidence", part{field: "csrf", body: []byte(a.csrf)}, part{field: "file", file: "x.txt", body: []byte("x")}); code != 404 {
		t.Errorf("evidence upload to another tenant: %d", code)
	}
	got, _, _, _ := kit.svc.Get(ctx, "other", theirs.ID)
	if got.State != incident.StateReported || got.Assignee != "" {
		t.Fatalf("another tenant's incident changed: %+v", got)
	}
	_, body = a.get("/incidents/actions.yaml")
	if !strings.Contains(body, "本市の改善策") || strings.Contains(body, "他団体の改善策") {
		t.Fatalf("actions export crosses tenants:\n%s", body)
	}
	if _, body := a.get("/incidents/new?tenant=kakuu&alerts=AL-1,AL-2"); !strings.Contains(body, `value="AL-1,AL-2"`) {
		t.Error("creation form not prefilled from the alert link")
	}
	if code, _ := a.get("/incidents/t/kakuu/" + mine.ID + "/report/docx"); code != 200 {
		t.Errorf("own report: %d", code)
	}

	// The prefecture's operator sees every tenant.
	s := e.browser()
	s.login("soc")
	_, body = s.get("/incidents")
	if !strings.Contains(body, mine.Ref) || !strings.Contains(body, theirs.Ref) {
		t.Fatal("soc operator does not see all tenants")
	}
	if code, body := s.get("/incidents/stats"); code != 200 || !strings.Contains(body, `value="kakuu"`) {
		t.Errorf("soc stats default to the home tenant: %d", code)
	}
	if code, body := s.get("/incidents/stats?tenant=other&month=2026-11"); code != 200 || !strings.Contains(body, `id="stats-counts"`) {
		t.Errorf("soc stats of a member body: %d", code)
	}
	if res, data := s.raw("/incidents/stats?tenant=other&month=2026-11&format=docx"); res.StatusCode != 200 || !bytes.HasPrefix(data, []byte("PK")) {
		t.Errorf("stats docx: %d", res.StatusCode)
	}
	if n, _ := e.store.CountAudit(ctx, store.AuditFilter{Action: "incident.stats_export"}); n != 1 {
		t.Errorf("stats export audited %d times", n)
	}
	if code, data := s.raw(theirPath + "/evidence/" + ev.ID); code.StatusCode != 200 || string(data) != "other tenant's log" {
		t.Fatalf("soc evidence download: %d %q", code.StatusCode, data)
	}
	// Every download is in the audit log.
	n, _ := e.store.CountAudit(ctx, store.AuditFilter{Action: "incident.evidence_download"})
	if n != 1 {
		t.Fatalf("%d evidence downloads audited", n)
	}
}

var refRe = regexp.MustCompile(`INC-\d{8}-[0-9A-Z]{6}`)

func TestIncidentEvidenceThroughTheConsole(t *testing.T) {
	kit := &incidentKit{}
	e := newEnv(t, withIncidents(t, kit))
	e.user("csirta", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	inc := kit.create(t, "kakuu", "端末の異常")
	b := e.browser()
	b.login("csirta")
	path := "/incidents/t/kakuu/" + inc.ID
	b.get(path)
	// The file before the token is refused.
	if code, _ := b.evidence(path+"/evidence", part{field: "file", file: "a.txt", body: []byte("x")}, part{field: "csrf", body: []byte(b.csrf)}); code != 403 {
		t.Fatalf("file before csrf: %d", code)
	}
	if code, _ := b.evidence(path+"/evidence", part{field: "csrf", body: []byte("wrong")}, part{field: "file", file: "a.txt", body: []byte("x")}); code != 403 {
		t.Fatalf("bad csrf: %d", code)
	}
	if code, _ := b.evidence(path+"/evidence", part{field: "csrf", body: []byte(b.csrf)}, part{field: "file", file: "big.bin", body: bytes.Repeat([]byte{1}, 1<<20+1)}); code != 400 && code != 413 {
		t.Fatalf("oversized: %d", code)
	}
	content := []byte("<html><script>alert(1)</script></html>")
	code, body := b.evidence(path+"/evidence", part{field: "csrf", body: []byte(b.csrf)}, part{field: "file", file: "改ざん後.html", body: content})
	if code != 200 || !strings.Contains(body, "改ざん後.html") {
		t.Fatalf("upload: %d %s", code, body)
	}
	files, _ := e.store.ListEvidence(context.Background(), "kakuu", inc.ID)
	if len(files) != 1 {
		t.Fatalf("evidence rows: %d", len(files))
	}
	res, data := b.raw(path + "/evidence/" + files[0].ID)
	if res.StatusCode != 200 || !bytes.Equal(data, content) || res.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment") || res.Header.Get("X-Evidence-SHA256") != files[0].SHA256 {
		t.Fatalf("download: %d %v", res.StatusCode, res.Header)
	}
	// Ciphertext changed in the database: refused, not served.
	db := e.store.(*sqlstore.DB).SQL()
	if _, err := db.Exec(`UPDATE incident_evidence SET sealed = substr(sealed, 1, length(sealed) - 1) || x'00'`); err != nil {
		t.Fatal(err)
	}
	if res, data := b.raw(path + "/evidence/" + files[0].ID); res.StatusCode != 409 || bytes.Contains(data, []byte("alert(1)")) {
		t.Fatalf("tampered download: %d", res.StatusCode)
	}
}

func TestOutsideReport(t *testing.T) {
	kit := &incidentKit{}
	e := newEnv(t, withIncidents(t, kit))
	b := e.browser()
	code, body := b.get("/report-incident")
	if code != 200 || !strings.Contains(body, `id="outside-report"`) {
		t.Fatalf("public form: %d", code)
	}
	form := func() url.Values {
		return url.Values{"who": {"住民"}, "kind": {"website"}, "title": {"市のサイトが別サイトに飛ぶ"}, "description": {"https://www.city.example.lg.jp/ を開くと広告サイトへ転送されます"}}
	}
	if code, _ := b.post("/report-incident", url.Values{"csrf": {"forged"}, "description": {"x"}}); code != 403 {
		t.Fatalf("forged csrf: %d", code)
	}
	code, body = b.post("/report-incident", form())
	ref := refRe.FindString(body)
	if code != 200 || ref == "" || strings.Contains(body, "kakuu") {
		t.Fatalf("ack: %d %s", code, body)
	}
	inc, err := e.store.IncidentByRef(context.Background(), "kakuu", ref)
	if err != nil || inc.Source != "outside" || inc.Type != "web-defacement" || inc.State != "reported" {
		t.Fatalf("stored: %+v %v", inc, err)
	}
	evs, _ := e.store.IncidentEvents(context.Background(), "kakuu", inc.ID)
	if len(evs) != 1 || evs[0].Actor != "(外部からの報告)" {
		t.Fatalf("timeline: %+v", evs)
	}
	for i := 2; i <= outsidePerAddress; i++ {
		if code, _ := b.post("/report-incident", form()); code != 200 {
			t.Fatalf("report %d: %d", i, code)
		}
	}
	if code, _ := b.post("/report-incident", form()); code != 429 {
		t.Fatalf("report beyond the limit: %d", code)
	}
	n, _ := e.store.CountIncidents(context.Background(), store.IncidentFilter{Tenants: []string{"kakuu"}})
	if n != outsidePerAddress {
		t.Fatalf("%d incidents stored", n)
	}
}

func TestIncidentRolesAndPublish(t *testing.T) {
	kit := &incidentKit{}
	e := newEnv(t, withIncidents(t, kit))
	users := roleUsers(e)
	inc := kit.create(t, "kakuu", "Web 改ざん")
	kit.svc.SetIndicators(context.Background(), "seed", "kakuu", inc.ID, "evil.example.com")
	path := "/incidents/t/kakuu/" + inc.ID
	for _, ri := range auth.Roles {
		if users[ri.Role] == nil {
			continue
		}
		b := e.browser()
		b.login(strings.ReplaceAll(string(ri.Role), "-", ""))
		for _, g := range []struct {
			path string
			perm auth.Permission
		}{{"/incidents", auth.PermIncidentsView}, {path, auth.PermIncidentsView}, {"/incidents/report", auth.PermIncidentsReport}, {"/incidents/new", auth.PermIncidentsHandle}} {
			want := 403
			if auth.RoleHas(ri.Role, g.perm) {
				want = 200
			}
			if code, _ := b.get(g.path); code != want {
				t.Errorf("%s GET %s: %d, want %d", ri.Role, g.path, code, want)
			}
		}
		b.get("/")
		want := 403
		if auth.RoleHas(ri.Role, auth.PermIncidentsHandle) {
			want = 200
		}
		if code, _ := b.post(path+"/assign", url.Values{"assignee": {strings.ReplaceAll(string(ri.Role), "-", "")}}); code != want {
			t.Errorf("%s assign: %d, want %d", ri.Role, code, want)
		}
		want = 403
		if auth.RoleHas(ri.Role, auth.PermIndicatorsPublish) {
			want = 200
		}
		if code, _ := b.post(path+"/publish", nil); code != want {
			t.Errorf("%s publish: %d, want %d", ri.Role, code, want)
		}
	}
	b0 := e.browser()
	b0.login("csirt")
	b0.get(path)
	if code, _ := b0.post(path+"/assign", url.Values{"assignee": {"nobody-here"}}); code != 400 {
		t.Errorf("assigning an unknown user: %d", code)
	}
	if len(kit.pub.Published) != 1 || kit.pub.Published[0].From != "kakuu" || kit.pub.Published[0].Indicators[0].Value != "evil.example.com" {
		t.Fatalf("published: %+v", kit.pub.Published)
	}
	// A staff report lands at the home tenant's desk.
	b := e.browser()
	b.login("staff")
	b.get("/incidents/report")
	code, body := b.post("/incidents/report", url.Values{"title": {"身代金を要求する画面"}, "type": {"ransomware"}, "where": {"税務課 端末 12"}})
	if ref := refRe.FindString(body); code != 200 || ref == "" {
		t.Fatalf("staff report: %d %s", code, body)
	} else if got, err := e.store.IncidentByRef(context.Background(), "kakuu", ref); err != nil || got.Source != "staff" || got.Reporter != "staff" {
		t.Fatalf("staff report stored: %+v %v", got, err)
	}

}

// Without a home tenant the operator picks a body for the statistics, and
// reports from staff and outsiders are refused (nowhere to send them).
func TestIncidentsWithoutHomeTenant(t *testing.T) {
	kit := &incidentKit{}
	e := newEnv(t, withIncidents(t, kit), func(o *Options) { o.HomeTenant = "" })
	e.user("soc", true, store.Grant{Role: "soc-operator"})
	b := e.browser()
	b.login("soc")
	if code, body := b.get("/incidents/stats"); code != 200 || !strings.Contains(body, "団体を選んでください") || strings.Contains(body, `id="stats-counts"`) {
		t.Errorf("stats without a tenant: %d", code)
	}
	b.get("/incidents/report")
	if code, _ := b.post("/incidents/report", url.Values{"title": {"x"}, "type": {"malware"}}); code != 503 {
		t.Errorf("staff report without a home tenant: %d", code)
	}
	o := e.browser()
	o.get("/report-incident")
	if code, _ := o.post("/report-incident", url.Values{"description": {"x"}}); code != 503 {
		t.Errorf("outside report without a home tenant: %d", code)
	}
}

func TestIncidentPagesInEnglish(t *testing.T) {
	kit := &incidentKit{}
	e := newEnv(t, withIncidents(t, kit))
	e.user("csirta", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	inc, err := kit.svc.Create(context.Background(), "seed", incident.NewIncident{Tenant: "kakuu", Title: "x", Type: incident.TypeRansomware, Source: incident.SourceStaff})
	if err != nil {
		t.Fatal(err)
	}
	b := e.browser()
	b.login("csirta")
	_, body := b.get("/incidents/t/kakuu/" + inc.ID + "?lang=en")
	for _, want := range []string{"Handling", "First-response playbook", "Reported", "Received by the CSIRT desk : move on", "Disconnect the terminal", "Staff report"} {
		if !strings.Contains(body, want) {
			t.Errorf("English detail page lacks %q", want)
		}
	}
	e.advance(25 * time.Minute) // the desk's 30 minutes are nearly gone
	_, body = b.get("/incidents")
	for _, want := range []string{"<h1>Incidents</h1>", "Ransomware", "SLA warnings", "due in"} {
		if !strings.Contains(body, want) {
			t.Errorf("English list lacks %q", want)
		}
	}
}
