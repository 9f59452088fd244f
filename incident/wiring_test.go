package incident

import (
	"testing"
	"time"

	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/notify/notifytest"
)

// TestPublishToIntelHub: indicators published from an incident reach the
// prefecture's threat-intelligence list, are matched for every tenant and
// survive a reload by another process (kyojin cloud serve); hashes, which
// the lists do not match, are left out.
func TestPublishToIntelHub(t *testing.T) {
	f := newFixture(t)
	path := intel.Path(t.TempDir())
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: path}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.o.Publisher = IntelPublisher{Hub: hub}
	inc, err := f.svc.Create(ctx, "csirt", NewIncident{Tenant: "kakuu", Title: "改ざん", Type: TypeDefacement, Source: SourceManual})
	if err != nil {
		t.Fatal(err)
	}
	hash := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if _, err := f.svc.SetIndicators(ctx, "csirt", "kakuu", inc.ID, "evil.example.com\n203.0.113.9\n"+hash); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(ctx, "soc", "kakuu", inc.ID); err != nil {
		t.Fatal(err)
	}
	other, err := intel.NewHub(ctx, &intel.FileStore{Path: path}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	list := other.List(false)
	if len(list) != 2 {
		t.Fatalf("published %d indicators, want 2: %+v", len(list), list)
	}
	for _, in := range list {
		if in.Tenant != "kakuu" || in.Publisher != "soc" || in.Reason == "" {
			t.Errorf("indicator %+v", in)
		}
	}
	if _, ok := other.Index().Domain("www.evil.example.com"); !ok {
		t.Error("domain not matched")
	}
	if _, ok := other.Index().IP("203.0.113.9"); !ok {
		t.Error("address not matched")
	}
	// Only hashes: refused, and the incident is not marked shared.
	inc2, _ := f.svc.Create(ctx, "csirt", NewIncident{Tenant: "kakuu", Title: "マルウェア", Type: TypeMalware, Source: SourceManual})
	if _, err := f.svc.SetIndicators(ctx, "csirt", "kakuu", inc2.ID, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(ctx, "soc", "kakuu", inc2.ID); err == nil {
		t.Error("hash-only publish accepted")
	}
	if got, _, _, _ := f.svc.Get(ctx, "kakuu", inc2.ID); !got.Published.At.IsZero() {
		t.Error("failed publish marked as shared")
	}
}

// TestNotifyChannelAndLadder: with the real dispatcher and a real HTTPS
// receiver, a new incident produces a signed incident-opened webhook and
// starts the tenant's ladder; the ladder climbs while the incident stays
// "reported" and stops once the desk has received it.
func TestNotifyChannelAndLadder(t *testing.T) {
	f := newFixture(t)
	clock := func() time.Time { return f.clock }
	r := notifytest.New(t, clock)
	y := "console_url: https://soc.example.lg.jp/\noutbox:\n  dir: " + t.TempDir() + "\nwebhooks:\n" + r.Webhook("soc") + `routes:
  - name: csirt
    kinds: [incident-opened, incident-state, incident-sla-warning]
    webhooks: [soc]
  - name: lead
    explicit: true
    webhooks: [soc]
  - name: ciso
    explicit: true
    webhooks: [soc]
ladders:
  - name: kakuu-incident
    steps:
      - {after: 10m, level: CSIRT責任者, route: lead}
      - {after: 20m, level: CISO, route: ciso}
`
	cfg, diags := notify.ParseConfig("notify.yaml", []byte(y))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	d, err := notify.New(cfg, notify.Options{Now: clock, Acker: notify.AckerMux{"incident": f.svc}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	f.svc.o.Notify = &NotifyChannel{D: d, ConsoleURL: cfg.ConsoleURL, Ladder: IncidentLadder(cfg), Now: clock}

	inc, err := f.svc.Create(ctx, "csirt-a", NewIncident{Tenant: "kakuu", Title: "端末のランサムウェア感染", Type: TypeRansomware, Source: SourceStaff})
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.Create(ctx, "csirt-b", NewIncident{Tenant: "town-b", Title: "別団体", Type: TypeOther, Source: SourceManual})
	if err != nil {
		t.Fatal(err)
	}
	d.Process(ctx)
	got := r.Got()
	if len(got) == 2 && got[0].Tenant != "kakuu" { // delivered concurrently
		got[0], got[1] = got[1], got[0]
	}
	if len(got) != 2 || got[0].Kind != notify.KindIncidentOpened || got[0].Data["incident_id"] != inc.Ref ||
		got[0].Link != "https://soc.example.lg.jp/incidents/t/kakuu/"+inc.ID || got[0].Severity != notify.SevHigh || r.BadSignatures() != 0 {
		t.Fatalf("after create: %+v (bad signatures %d)", got, r.BadSignatures())
	}
	if ls := d.Ladders(); len(ls) != 1 || ls[0].Ref != NotifyRef(inc) {
		t.Fatalf("ladders: %+v (only kakuu has one, town-b %s has none)", ls, other.Ref)
	}
	f.clock = f.clock.Add(11 * time.Minute)
	d.Process(ctx)
	got = r.Got()
	if len(got) != 3 || got[2].Kind != notify.KindEscalation || got[2].Data["level"] != "CSIRT責任者" {
		t.Fatalf("after 11 minutes unacknowledged: %v %+v", notifytest.Kinds(got), got[len(got)-1].Data)
	}
	if _, err := f.svc.Transition(ctx, "csirt-a", "kakuu", inc.ID, StateReceived, "受付"); err != nil {
		t.Fatal(err)
	}
	f.clock = f.clock.Add(10 * time.Minute)
	d.Process(ctx)
	got = r.Got()
	if len(got) != 4 || got[3].Kind != notify.KindIncidentState || got[3].Data["to"] != StateReceived.Label().JA || got[3].Data["note"] != "受付" {
		t.Fatalf("after receipt: %v", notifytest.Kinds(got))
	}
	if ls := d.Ladders(); len(ls) != 0 {
		t.Errorf("ladder still running after acknowledgement: %+v", ls)
	}
	// SLA warnings go out as incident-sla-warning.
	f.clock = f.clock.Add(2 * time.Hour)
	if n, err := f.svc.NotifyWarnings(ctx); err != nil || n == 0 {
		t.Fatalf("NotifyWarnings = %d, %v", n, err)
	}
	d.Process(ctx)
	if got = r.Got(); got[len(got)-1].Kind != notify.KindIncidentSLAWarn {
		t.Errorf("SLA warning: %v", notifytest.Kinds(got))
	}
}
