package incident

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/sqlstore"
	"github.com/kyojin/kyojin/store/storetest"
)

var ctx = context.Background()

type fixture struct {
	t      *testing.T
	svc    *Service
	st     store.Store
	alerts *MemoryAlerts
	pub    *MemoryPublisher
	clock  time.Time
	cat    *catalog.Catalog
	m      *model.Model
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := storetest.SQLite(t)
	sealer, err := auth.NewSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	m, diags := model.Load(filepath.Join("..", "examples", "kakuu-city"))
	if m == nil {
		t.Fatal(diags.Err())
	}
	f := &fixture{t: t, st: st, alerts: &MemoryAlerts{}, pub: &MemoryPublisher{}, clock: time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), cat: cat, m: m}
	f.svc, err = New(Options{Store: st, Audit: audit.New(st), Sealer: sealer, Alerts: f.alerts, Publisher: f.pub,
		Models: SingleModel{Tenant: "kakuu", M: m}, Catalog: cat, MaxEvidence: 1 << 20, Now: func() time.Time { return f.clock }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// inc fails the test on err and returns the incident.
func (f *fixture) inc(i *Incident, err error) *Incident {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	return i
}

func TestStateMachine(t *testing.T) {
	cases := []struct {
		from, to State
		impact   Impact
		comment  string
		cause    string
		want     string // "" = allowed, else part of the refusal
	}{
		{StateReported, StateReceived, 0, "", "", ""},
		{StateReported, StateTriage, 0, "", "", "進めません"},
		{StateReported, StateClosed, 0, "", "", "進めません"},
		{StateReceived, StateTriage, 0, "", "", ""},
		{StateTriage, StatePolicy, 0, "", "", "影響度を判定"},
		{StateTriage, StatePolicy, ImpactHigh, "", "", ""},
		{StateTriage, StateClosed, 0, "", "", "理由"},
		{StateTriage, StateClosed, 0, "誤検知（定期バックアップの通信）", "", ""},
		{StatePolicy, StateEvidence, ImpactLow, "", "", ""},
		{StatePolicy, StateContain, ImpactLow, "", "", "進めません"},
		{StateEvidence, StateContain, ImpactLow, "", "", ""},
		{StateContain, StateEradicate, ImpactLow, "", "", ""},
		{StateContain, StateEvidence, ImpactLow, "", "", ""},
		{StateEradicate, StateContain, ImpactLow, "", "", ""},
		{StateEradicate, StateRecovery, ImpactLow, "", "", ""},
		{StateRecovery, StateLeadReport, ImpactLow, "", "", ""},
		{StateRecovery, StateClosed, ImpactLow, "", "", "進めません"},
		{StateLeadReport, StateClosed, ImpactLow, "", "", "原因"},
		{StateLeadReport, StateClosed, ImpactLow, "", "パッチ未適用", ""},
		{StateClosed, StateReported, ImpactLow, "", "", "進めません"},
		{StateClosed, "bogus", ImpactLow, "", "", "不明な状態"},
	}
	now := time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(string(c.from)+"->"+string(c.to), func(t *testing.T) {
			inc := &Incident{State: c.from, Impact: c.impact, CreatedAt: now.Add(-time.Hour)}
			inc.Review.Cause = c.cause
			err := Move(inc, c.to, c.comment, now)
			if c.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if inc.State != c.to || !inc.StateSince.Equal(now) || !inc.Phases[c.to].Equal(now) {
					t.Fatalf("state %s since %v phases %v", inc.State, inc.StateSince, inc.Phases)
				}
				return
			}
			var ue *UserError
			if !errors.As(err, &ue) || !strings.Contains(ue.Msg.JA, c.want) {
				t.Fatalf("got %v, want a refusal containing %q", err, c.want)
			}
			if inc.State != c.from {
				t.Fatalf("a refused move changed the state to %s", inc.State)
			}
		})
	}
	// Every state but closed has a way forward; closed has none.
	for _, s := range States {
		if (len(Next(s)) == 0) != (s == StateClosed) {
			t.Errorf("state %s: next %v", s, Next(s))
		}
	}
}

func TestContainedAndClosedTimes(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	inc := &Incident{State: StateContain, Impact: ImpactHigh, CreatedAt: t0}
	if err := Move(inc, StateEradicate, "", t0.Add(5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if inc.TimeToContain() != 5*time.Hour {
		t.Fatalf("time to contain %v", inc.TimeToContain())
	}
	// Going back to containment and forward again keeps the first time.
	Move(inc, StateContain, "", t0.Add(6*time.Hour))
	Move(inc, StateEradicate, "", t0.Add(7*time.Hour))
	if inc.TimeToContain() != 5*time.Hour {
		t.Fatalf("time to contain moved to %v", inc.TimeToContain())
	}
}

func TestSLAWarnings(t *testing.T) {
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		inc  Incident
		at   time.Duration
		want []string // kinds, breached marked with !
	}{
		{"fresh report", Incident{State: StateReported, StateSince: t0}, 10 * time.Minute, nil},
		{"report nearly due", Incident{State: StateReported, StateSince: t0}, 25 * time.Minute, []string{"state"}},
		{"report overdue", Incident{State: StateReported, StateSince: t0}, 31 * time.Minute, []string{"state!"}},
		{"critical containment overdue, nobody told", Incident{State: StateContain, Impact: ImpactCritical, StateSince: t0,
			Details: Details{Phases: map[State]time.Time{StatePolicy: t0}}}, 5 * time.Hour, []string{"state!", "prefecture!", "mic!"}},
		{"high, prefecture told", Incident{State: StateContain, Impact: ImpactHigh, StateSince: t0,
			Details: Details{Phases: map[State]time.Time{StatePolicy: t0}, Prefecture: Escalation{At: t0}}}, time.Hour, nil},
		{"low containment in time", Incident{State: StateContain, Impact: ImpactLow, StateSince: t0}, 24 * time.Hour, nil},
		{"closed never warns", Incident{State: StateClosed, Impact: ImpactCritical, StateSince: t0}, 1000 * time.Hour, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, w := range c.inc.Warnings(t0.Add(c.at)) {
				k := w.Kind
				if w.Breached {
					k += "!"
				}
				got = append(got, k)
				if w.Msg.JA == "" || w.Msg.EN == "" {
					t.Errorf("warning without message: %+v", w)
				}
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("warnings %v, want %v", got, c.want)
			}
			// The stored warning time agrees with the warnings.
			wa := c.inc.WarnAt()
			if warns := !wa.IsZero() && !wa.After(t0.Add(c.at)); warns != (len(got) > 0) {
				t.Fatalf("WarnAt %v at %v, warnings %v", wa, t0.Add(c.at), got)
			}
		})
	}
	// Breaches sort first.
	a := &Incident{ID: "a", State: StateReported, StateSince: t0}
	b := &Incident{ID: "b", State: StateReported, StateSince: t0.Add(-time.Hour)}
	ws := Warnings([]*Incident{a, b}, t0.Add(25*time.Minute))
	if len(ws) != 2 || ws[0].IncidentID != "b" || !ws[0].Breached {
		t.Fatalf("order: %+v", ws)
	}
}

func TestPlaybooks(t *testing.T) {
	books, err := Playbooks()
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []Type{TypeRansomware, TypeVendorLeak, TypeDefacement, TypeRemoteAccess} {
		if PlaybookFor(books, typ) == nil {
			t.Errorf("no playbook for %s", typ)
		}
	}
	rw := PlaybookFor(books, TypeRansomware)
	if !strings.Contains(rw.Steps[0].JA, "電源は切らず") || !strings.Contains(rw.Steps[1].JA, "窓口") {
		t.Errorf("ransomware playbook must start with isolate-but-keep-powered and report to the desk: %+v", rw.Steps[:2])
	}
	cat, _ := catalog.Default()
	for _, b := range books {
		for _, c := range b.Clauses {
			if _, ok := cat.Lookup(c); !ok {
				t.Errorf("playbook %s cites unknown clause %s", b.ID, c)
			}
		}
	}
}

// testdata/*.bad.yaml are broken playbooks; the .bad.txt next to each holds
// a line the error must contain.
func TestPlaybookBad(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad cases")
	}
	for _, f := range files {
		data, _ := os.ReadFile(f)
		want, err := os.ReadFile(strings.TrimSuffix(f, ".yaml") + ".txt")
		if err != nil {
			t.Fatal(err)
		}
		_, perr := ParsePlaybook(filepath.Base(f), data)
		if perr == nil || !strings.Contains(perr.Error(), strings.TrimSpace(string(want))) {
			t.Errorf("%s: error %v, want %q", f, perr, strings.TrimSpace(string(want)))
		}
	}
}

func FuzzParsePlaybook(f *testing.F) {
	books, _ := playbookFS.ReadDir("playbooks")
	for _, b := range books {
		data, _ := playbookFS.ReadFile("playbooks/" + b.Name())
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePlaybook("fuzz.yaml", data)
		if err == nil && (p.ID == "" || len(p.Steps) == 0) {
			t.Fatalf("accepted an incomplete playbook: %+v", p)
		}
	})
}

func TestIndicators(t *testing.T) {
	got, err := ParseIndicators("# from the defaced pages\nEvil.Example.COM.\n203.0.113.9\nurl https://evil.example.com/x.js\n" +
		strings.Repeat("A", 64) + "\nip ::ffff:198.51.100.1\nevil.example.com\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []Indicator{{"domain", "evil.example.com"}, {"ip", "203.0.113.9"}, {"url", "https://evil.example.com/x.js"},
		{"hash", strings.Repeat("a", 64)}, {"ip", "198.51.100.1"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: got %v want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"javascript:alert(1)", "url ftp://x.example/", "ip 999.1.1.1", "hash xyz", "domain -bad-.example", "<script>"} {
		if _, err := ParseIndicators(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseIndicators(f *testing.F) {
	f.Add("evil.example.com\n203.0.113.9\nurl https://x.example/a")
	f.Add("hash " + strings.Repeat("0", 40))
	f.Fuzz(func(t *testing.T, s string) {
		ind, err := ParseIndicators(s)
		if err != nil {
			return
		}
		for _, i := range ind {
			if again, err := NormalizeIndicator(i.Kind, i.Value); err != nil || again != i {
				t.Fatalf("normalised %v does not normalise to itself: %v %v", i, again, err)
			}
		}
	})
}

// The full first-response flow through the service: timeline, audit,
// checklist, links, escalation, closing.
func TestServiceFlow(t *testing.T) {
	f := newFixture(t)
	f.alerts.Add(Alert{Tenant: "kakuu", ID: "al-1", Title: "ランサムウェアの通信", Severity: "high", Time: f.clock, Host: f.m.Hosts[0].ID,
		Indicators: []Indicator{{"domain", "c2.example.net"}, {"ip", "bogus"}}})
	inc := f.inc(f.svc.CreateFromAlerts(ctx, "csirt1", "kakuu", []string{"al-1"}, "", TypeRansomware))
	if inc.Source != SourceAlerts || inc.Playbook != "ransomware-terminal" || len(inc.Checklist) == 0 || len(inc.Links) != 1 || inc.Links[0].ID != f.m.Hosts[0].ID {
		t.Fatalf("from alert: %+v", inc)
	}
	if len(inc.Indicators) != 1 || inc.Indicators[0].Value != "c2.example.net" {
		t.Fatalf("indicators: %v", inc.Indicators)
	}
	if _, err := f.svc.CreateFromAlerts(ctx, "csirt1", "other", []string{"al-1"}, "", TypeRansomware); err == nil {
		t.Fatal("another tenant's alert opened an incident")
	}
	step := func(to State, comment string) {
		t.Helper()
		f.clock = f.clock.Add(10 * time.Minute)
		inc = f.inc(f.svc.Transition(ctx, "csirt1", "kakuu", inc.ID, to, comment))
	}
	step(StateReceived, "窓口で受付")
	step(StateTriage, "")
	inc = f.inc(f.svc.Triage(ctx, "csirt1", "kakuu", inc.ID, ImpactCritical, "学校の校務サーバ"))
	inc = f.inc(f.svc.Assign(ctx, "lead", "kakuu", inc.ID, "csirt1"))
	step(StatePolicy, "")
	if ws := inc.Warnings(f.clock.Add(50 * time.Minute)); len(ws) < 2 {
		t.Fatalf("critical incident without escalation should warn: %+v", ws)
	}
	inc = f.inc(f.svc.Escalate(ctx, "csirt1", "kakuu", inc.ID, "prefecture", "電話で第一報"))
	inc = f.inc(f.svc.Escalate(ctx, "csirt1", "kakuu", inc.ID, "mic", ""))
	if _, err := f.svc.Escalate(ctx, "csirt1", "kakuu", inc.ID, "mic", ""); err == nil {
		t.Fatal("second MIC report accepted")
	}
	inc = f.inc(f.svc.Check(ctx, "csirt1", "kakuu", inc.ID, "unplug", true))
	if !inc.Checklist[0].Done || inc.Checklist[0].By != "csirt1" {
		t.Fatalf("checklist: %+v", inc.Checklist[0])
	}
	if _, err := f.svc.Check(ctx, "csirt1", "kakuu", inc.ID, "nope", true); err == nil {
		t.Fatal("unknown checklist item accepted")
	}
	if _, err := f.svc.AddLink(ctx, "csirt1", "kakuu", inc.ID, "host", "no-such-host"); err == nil {
		t.Fatal("link to a host not in the model accepted")
	}
	inc = f.inc(f.svc.AddLink(ctx, "csirt1", "kakuu", inc.ID, "zone", f.m.Zones[0].ID))
	if _, err := f.svc.AddClause(ctx, "csirt1", "kakuu", inc.ID, "99.9(9)"); err == nil {
		t.Fatal("unknown clause accepted")
	}
	inc = f.inc(f.svc.AddClause(ctx, "csirt1", "kakuu", inc.ID, "7.3(1)"))
	step(StateEvidence, "")
	ev := must2e(t)(f.svc.AttachEvidence(ctx, "csirt1", "kakuu", inc.ID, "脅迫文.txt", "text/plain", strings.NewReader("YOUR FILES ARE ENCRYPTED")))
	step(StateContain, "")
	step(StateEradicate, "")
	step(StateRecovery, "")
	step(StateLeadReport, "")
	if _, err := f.svc.Transition(ctx, "csirt1", "kakuu", inc.ID, StateClosed, ""); err == nil {
		t.Fatal("closed without a review")
	}
	inc = f.inc(f.svc.SetReview(ctx, "csirt1", "kakuu", inc.ID, "VPN 装置の脆弱性が未修正", "修正プログラムの適用状況を毎月確認する"))
	inc = f.inc(f.svc.AddAction(ctx, "csirt1", "kakuu", inc.ID, "脆弱性情報の収集と適用の手順を定める", "情報政策課", f.clock.AddDate(0, 2, 0), []string{"6.4(1)"}))
	step(StateClosed, "")
	if _, err := f.svc.AttachEvidence(ctx, "csirt1", "kakuu", inc.ID, "late.txt", "text/plain", strings.NewReader("late")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("evidence added to a closed incident: %v", err)
	}
	if inc.TimeToContain() != 60*time.Minute {
		t.Errorf("time to contain %v", inc.TimeToContain())
	}
	got, evs, files := must3(t)(f.svc.Get(ctx, "kakuu", inc.ID))
	if got.State != StateClosed || len(files) != 1 || files[0].ID != ev.ID || files[0].Sealed != nil {
		t.Fatalf("get: %+v %+v", got, files)
	}
	kinds := map[string]int{}
	for _, e := range evs {
		kinds[e.Kind]++
	}
	if kinds["create"] != 1 || kinds["transition"] != 9 || kinds["evidence"] != 1 || kinds["escalate"] != 2 || kinds["review"] != 1 {
		t.Fatalf("timeline kinds: %v", kinds)
	}
	// Every action is in the audit log, and the chain verifies.
	entries, err := f.st.AuditEntries(ctx, store.AuditFilter{Action: "incident."})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 20 {
		t.Fatalf("only %d incident audit entries", len(entries))
	}
	rep, err := audit.Verify(ctx, f.st)
	if err != nil || !rep.OK() {
		t.Fatalf("audit chain: %v %+v", err, rep)
	}
}

func must3(t *testing.T) func(*Incident, []store.IncidentEvent, []store.IncidentEvidence, error) (*Incident, []store.IncidentEvent, []store.IncidentEvidence) {
	return func(i *Incident, e []store.IncidentEvent, v []store.IncidentEvidence, err error) (*Incident, []store.IncidentEvent, []store.IncidentEvidence) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return i, e, v
	}
}

func TestEvidenceIntegrity(t *testing.T) {
	f := newFixture(t)
	inc := f.inc(f.svc.Create(ctx, "csirt1", NewIncident{Tenant: "kakuu", Title: "改ざん", Type: TypeDefacement, Source: SourceManual}))
	content := []byte("<script src=https://evil.example/x.js></script>")
	e := must2e(t)(f.svc.AttachEvidence(ctx, "csirt1", "kakuu", inc.ID, "index.html", "text/html", bytes.NewReader(content)))
	stored, err := f.st.Evidence(ctx, "kakuu", inc.ID, e.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Sealed, []byte("evil.example")) {
		t.Fatal("evidence stored in clear")
	}
	meta, data := must2(t)(f.svc.OpenEvidence(ctx, "auditor", "kakuu", inc.ID, e.ID))
	sum := sha256.Sum256(content)
	if !bytes.Equal(data, content) || meta.SHA256 != hex.EncodeToString(sum[:]) || e.SHA256 != meta.SHA256 {
		t.Fatal("round trip")
	}
	// Another tenant cannot read it.
	if _, _, err := f.svc.OpenEvidence(ctx, "x", "other", inc.ID, e.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant evidence: %v", err)
	}
	// Too large, empty.
	if _, err := f.svc.AttachEvidence(ctx, "csirt1", "kakuu", inc.ID, "big.bin", "", io.LimitReader(zeros{}, 1<<20+1)); err == nil {
		t.Fatal("oversized evidence accepted")
	}
	if _, err := f.svc.AttachEvidence(ctx, "csirt1", "kakuu", inc.ID, "empty", "", strings.NewReader("")); err == nil {
		t.Fatal("empty evidence accepted")
	}

	db := f.st.(*sqlstore.DB).SQL()
	// Flip one byte of the ciphertext: detected, and audited.
	tampered := bytes.Clone(stored.Sealed)
	tampered[len(tampered)-1] ^= 1
	if _, err := db.Exec(`UPDATE incident_evidence SET sealed = ? WHERE id = ?`, tampered, e.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.OpenEvidence(ctx, "auditor", "kakuu", inc.ID, e.ID); !errors.Is(err, ErrEvidenceTampered) {
		t.Fatalf("tampered ciphertext: %v", err)
	}
	// Change the recorded hash instead: the sealed data is bound to it.
	if _, err := db.Exec(`UPDATE incident_evidence SET sealed = ?, sha256 = ? WHERE id = ?`, stored.Sealed, strings.Repeat("0", 64), e.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.OpenEvidence(ctx, "auditor", "kakuu", inc.ID, e.ID); !errors.Is(err, ErrEvidenceTampered) {
		t.Fatalf("changed hash: %v", err)
	}
	n, _ := f.st.CountAudit(ctx, store.AuditFilter{Action: "incident.evidence_tampered"})
	up, _ := f.st.CountAudit(ctx, store.AuditFilter{Action: "incident.evidence_upload"})
	down, _ := f.st.CountAudit(ctx, store.AuditFilter{Action: "incident.evidence_download"})
	if n != 2 || up != 1 || down != 1 {
		t.Fatalf("audit: tampered %d, upload %d, download %d", n, up, down)
	}
}

func must2e(t *testing.T) func(*store.IncidentEvidence, error) *store.IncidentEvidence {
	return func(e *store.IncidentEvidence, err error) *store.IncidentEvidence {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func must2(t *testing.T) func(*store.IncidentEvidence, []byte, error) (*store.IncidentEvidence, []byte) {
	return func(e *store.IncidentEvidence, b []byte, err error) (*store.IncidentEvidence, []byte) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return e, b
	}
}

func TestTenantIsolation(t *testing.T) {
	f := newFixture(t)
	a := f.inc(f.svc.Create(ctx, "u", NewIncident{Tenant: "kakuu", Title: "A", Type: TypeMalware, Source: SourceStaff}))
	b := f.inc(f.svc.Create(ctx, "u", NewIncident{Tenant: "other", Title: "B", Type: TypeMalware, Source: SourceStaff}))
	if _, err := f.svc.Transition(ctx, "u", "other", a.ID, StateReceived, ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant transition: %v", err)
	}
	if _, _, _, err := f.svc.Get(ctx, "kakuu", b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant get: %v", err)
	}
	if _, err := f.svc.AttachEvidence(ctx, "u", "kakuu", b.ID, "x", "", strings.NewReader("x")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("cross-tenant evidence: %v", err)
	}
	l, err := f.svc.List(ctx, store.IncidentFilter{Tenants: []string{"kakuu"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l) != 1 || l[0].ID != a.ID {
		t.Fatalf("kakuu lists %+v", l)
	}
	if l, _ := f.svc.List(ctx, store.IncidentFilter{}); len(l) != 0 {
		t.Fatalf("empty scope lists %d", len(l))
	}
}

func TestPublishIndicators(t *testing.T) {
	f := newFixture(t)
	inc := f.inc(f.svc.Create(ctx, "u", NewIncident{Tenant: "kakuu", Title: "改ざん", Type: TypeDefacement, Source: SourceOutside}))
	if _, err := f.svc.Publish(ctx, "soc", "kakuu", inc.ID); err == nil {
		t.Fatal("published nothing")
	}
	f.inc(f.svc.SetIndicators(ctx, "csirt", "kakuu", inc.ID, "evil.example.com\nurl https://evil.example.com/r.js"))
	f.inc(f.svc.Publish(ctx, "soc", "kakuu", inc.ID))
	if len(f.pub.Published) != 1 || f.pub.Published[0].From != "kakuu" || f.pub.Published[0].By != "soc" || len(f.pub.Published[0].Indicators) != 2 {
		t.Fatalf("published %+v", f.pub.Published)
	}
	// A failing publisher: the attempt and the failure are both recorded,
	// and the incident is not marked shared.
	f.svc.o.Publisher = failingPublisher{}
	if _, err := f.svc.Publish(ctx, "soc", "kakuu", inc.ID); err == nil {
		t.Fatal("publish error swallowed")
	}
	got, evs, _ := must3(t)(f.svc.Get(ctx, "kakuu", inc.ID))
	if got.Published.Done() || evs[len(evs)-1].Kind != "publish_failed" {
		t.Fatalf("after a failed publish: %+v, last event %+v", got.Published, evs[len(evs)-1])
	}
}

type failingPublisher struct{}

func (failingPublisher) Publish(context.Context, string, string, []Indicator) error {
	return errors.New("intel list unavailable")
}

// The review's corrective actions reach the self-assessment: merged into
// an assessment file (or written as one), they appear among its actions.
func TestCorrectiveActionsFlowIntoAssessment(t *testing.T) {
	f := newFixture(t)
	inc := f.inc(f.svc.Create(ctx, "u", NewIncident{Tenant: "kakuu", Title: "VDI 不正ログイン", Type: TypeRemoteAccess, Source: SourceAlerts}))
	f.inc(f.svc.SetReview(ctx, "csirt", "kakuu", inc.ID, "VDI 装置の脆弱性", ""))
	inc = f.inc(f.svc.AddAction(ctx, "csirt", "kakuu", inc.ID, "リモートアクセス装置の修正プログラムを月次で確認する", "情報政策課", time.Date(2027, 1, 31, 0, 0, 0, 0, time.UTC), []string{"6.4(1)"}))
	if _, err := f.svc.AddAction(ctx, "csirt", "kakuu", inc.ID, "x", "", time.Time{}, nil); err == nil {
		t.Fatal("action without owner accepted")
	}

	a, diags := assess.LoadFile(filepath.Join("..", "examples", "kakuu-city-assessment", "r8.yaml"))
	if a == nil || diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	before := len(a.Audit.CorrectiveActions)
	if n := MergeActions(a, CorrectiveActions([]*Incident{inc})); n != 1 {
		t.Fatalf("merged %d", n)
	}
	if n := MergeActions(a, CorrectiveActions([]*Incident{inc})); n != 0 {
		t.Fatalf("merged twice: %d", n)
	}
	if d := assess.Validate(f.cat, f.m, a, nil); d.HasErrors() {
		t.Fatalf("merged assessment invalid: %v", d.Err())
	}
	res := assess.Evaluate(assess.Input{Catalog: f.cat, Model: f.m, Check: check.Run(f.m), Assessment: a, Now: time.Date(2027, 2, 15, 0, 0, 0, 0, time.UTC)})
	var found *assess.ActionView
	for i := range res.Actions {
		if res.Actions[i].ID == inc.Review.Actions[0].ID {
			found = &res.Actions[i]
		}
	}
	if found == nil || len(res.Actions) < before+1 {
		t.Fatalf("assessment does not list the incident's action: %d actions", len(res.Actions))
	}
	if !found.Overdue || found.Owner != "情報政策課" || !strings.Contains(found.Notes, inc.Ref) {
		t.Fatalf("action view: %+v", found)
	}
	// The stand-alone file parses as an assessment file too.
	file := ActionsFile(f.cat, []*Incident{inc}, FiscalYearOf(f.clock))
	parsed, d := assess.Parse("incident-actions.yaml", file)
	if parsed == nil || d.HasErrors() || len(parsed.Audit.CorrectiveActions) != 1 || parsed.FiscalYear != 2026 {
		t.Fatalf("actions file:\n%s\n%v", file, d.Err())
	}
}

func docxText(t *testing.T, b []byte) string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			rc, _ := f.Open()
			defer rc.Close()
			x, _ := io.ReadAll(rc)
			return string(x)
		}
	}
	t.Fatal("no document.xml")
	return ""
}

func TestReportAndStatistics(t *testing.T) {
	f := newFixture(t)
	f.clock = time.Date(2026, 11, 5, 0, 0, 0, 0, time.UTC)
	f.alerts.Add(Alert{Tenant: "kakuu", ID: "a1", Title: "x", Time: f.clock})
	f.alerts.Add(Alert{Tenant: "kakuu", ID: "a2", Title: "y", Time: f.clock.AddDate(0, 1, 0)})
	f.alerts.Add(Alert{Tenant: "other", ID: "a3", Title: "z", Time: f.clock})
	inc := f.inc(f.svc.Create(ctx, "u", NewIncident{Tenant: "kakuu", Title: "端末の身代金要求 <b>", Type: TypeRansomware, Source: SourceStaff}))
	for _, s := range []State{StateReceived, StateTriage} {
		inc = f.inc(f.svc.Transition(ctx, "c", "kakuu", inc.ID, s, ""))
	}
	f.inc(f.svc.Triage(ctx, "c", "kakuu", inc.ID, ImpactHigh, ""))
	for _, s := range []State{StatePolicy, StateEvidence, StateContain} {
		inc = f.inc(f.svc.Transition(ctx, "c", "kakuu", inc.ID, s, ""))
	}
	f.clock = f.clock.Add(3 * time.Hour)
	inc = f.inc(f.svc.Transition(ctx, "c", "kakuu", inc.ID, StateEradicate, ""))
	f.inc(f.svc.Create(ctx, "u", NewIncident{Tenant: "kakuu", Title: "USB 紛失", Type: TypeDeviceLoss, Source: SourceStaff}))
	f.inc(f.svc.Create(ctx, "u", NewIncident{Tenant: "other", Title: "別団体", Type: TypeMalware, Source: SourceStaff}))

	inc, evs, files := must3(t)(f.svc.Get(ctx, "kakuu", inc.ID))
	doc := Report(ReportInput{Org: "架空市", Incident: inc, Events: evs, Evidence: files, Catalog: f.cat, Date: f.clock})
	var buf bytes.Buffer
	if err := WriteDOCX(&buf, doc); err != nil {
		t.Fatal(err)
	}
	x := docxText(t, buf.Bytes())
	for _, want := range []string{"情報セキュリティインシデント報告書", inc.Ref, "令和8年11月5日", "作成", "3 高", "未報告（影響度により必要）", "封じ込め", "端末の身代金要求 &lt;b&gt;", "初動対応手順の実施状況"} {
		if !strings.Contains(x, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(x, "改定履歴") || strings.Contains(x, "施行") {
		t.Error("an incident report has no revision history")
	}

	st, err := f.svc.Monthly(ctx, "kakuu", 2026, time.November)
	if err != nil {
		t.Fatal(err)
	}
	if st.Incidents != 2 || st.Alerts != 1 || !st.AlertsKnown || st.Contained != 1 || st.MeanContain != 3*time.Hour || st.Open != 2 {
		t.Fatalf("stats: %+v", st)
	}
	counts := map[string]int{}
	for _, c := range append(st.ByType, st.ByImpact...) {
		counts[c.Key] += c.N
	}
	if counts["ransomware"] != 1 || counts["device-loss"] != 1 || counts["malware"] != 0 || counts["3"] != 1 || counts["0"] != 1 {
		t.Fatalf("counts: %v", counts)
	}
	svg := string(BarChart("種別 <x>", st.ByType, "ja"))
	if !strings.HasPrefix(svg, "<svg") || strings.Count(svg, `class="bar"`) != len(Types) || strings.Contains(svg, "<x>") {
		t.Fatalf("chart: %s", svg)
	}
	buf.Reset()
	if err := WriteDOCX(&buf, MonthlyReport("架空市", st, f.clock)); err != nil {
		t.Fatal(err)
	}
	if x := docxText(t, buf.Bytes()); !strings.Contains(x, "令和8年11月") || !strings.Contains(x, "ランサムウェア") {
		t.Fatalf("monthly docx: %s", x)
	}

	if _, err := exec.LookPath("soffice"); err != nil {
		t.Skip("LibreOffice (soffice) not found: PDF not tested; install libreoffice-writer")
	}
	buf.Reset()
	if err := WritePDF(ctx, &buf, doc); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(buf.Bytes(), []byte("%PDF-")) {
		t.Fatal("not a PDF")
	}
	// The monthly report's charts are drawn by LibreOffice: their titles
	// and category labels are text in the PDF.
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext (poppler-utils) not found: chart rendering not checked")
	}
	buf.Reset()
	if err := WritePDF(ctx, &buf, MonthlyReport("架空市", st, f.clock)); err != nil {
		t.Fatal(err)
	}
	pdf := filepath.Join(t.TempDir(), "stats.pdf")
	os.WriteFile(pdf, buf.Bytes(), 0o600)
	out, err := exec.Command("pdftotext", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"種別ごとの件数（グラフ）", "影響度ごとの件数（グラフ）"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("PDF lacks the chart %q:\n%s", want, out)
		}
	}
}

func TestNewNeedsItsDependencies(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Fatal("New accepted no store, audit log or sealer")
	}
}

// Text from an outside report is hostile: whatever comes in, what is
// stored is valid UTF-8 without control characters (other than newline
// and tab) and within the length limits.
func FuzzReportText(f *testing.F) {
	f.Add("市のサイトが改ざんされています", "https://www.city.example.lg.jp/\r\n\x00\x1b[31m", "090-0000-0000")
	f.Add("\xff\xfe", strings.Repeat("あ", maxText+10), "\u0085\u2028")
	f.Fuzz(func(t *testing.T, title, desc, contact string) {
		for _, c := range []struct {
			in    string
			limit int
		}{{title, maxTitle}, {desc, maxText}, {contact, 500}} {
			out := cleanText(c.in, c.limit)
			if !utf8.ValidString(out) || utf8.RuneCountInString(out) > c.limit {
				t.Fatalf("cleanText(%q) = %q", c.in, out)
			}
			for _, r := range out {
				if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0 {
					t.Fatalf("control character %U left in %q", r, out)
				}
			}
		}
	})
}

type recordingNotifier struct{ got []Notice }

func (r *recordingNotifier) Notify(_ context.Context, n Notice) error {
	r.got = append(r.got, n)
	return nil
}

// Each SLA warning is sent once before its deadline and once after it,
// and recorded in the timeline.
func TestNotifyWarnings(t *testing.T) {
	f := newFixture(t)
	rec := &recordingNotifier{}
	f.svc.o.Notify = rec
	inc := f.inc(f.svc.Create(ctx, "staff", NewIncident{Tenant: "kakuu", Title: "不審な画面", Type: TypeMalware, Source: SourceStaff}))
	f.inc(f.svc.Create(ctx, "staff", NewIncident{Tenant: "other", Title: "別団体", Type: TypeMalware, Source: SourceStaff}))
	rec.got = nil
	sweep := func(want int) {
		t.Helper()
		n, err := f.svc.NotifyWarnings(ctx)
		if err != nil || n != want {
			t.Fatalf("sent %d (%v), want %d", n, err, want)
		}
	}
	sweep(0)
	f.clock = f.clock.Add(25 * time.Minute) // 30-minute desk SLA: due soon
	sweep(2)
	sweep(0)
	f.clock = f.clock.Add(10 * time.Minute) // breached
	sweep(2)
	sweep(0)
	if len(rec.got) != 4 || rec.got[0].Kind != "sla" || !strings.Contains(rec.got[2].Subject, "超過") {
		t.Fatalf("notices: %+v", rec.got)
	}
	_, evs, _ := must3(t)(f.svc.Get(ctx, "kakuu", inc.ID))
	if n := len(evs); n != 3 || evs[2].Kind != "sla" || evs[2].Actor != "system" {
		t.Fatalf("timeline: %+v", evs)
	}
	// Received: a new deadline, a new warning.
	f.inc(f.svc.Transition(ctx, "csirt", "kakuu", inc.ID, StateReceived, ""))
	f.clock = f.clock.Add(50 * time.Minute)
	sweep(1) // kakuu's received-state SLA; other's were already sent
}
