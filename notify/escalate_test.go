package notify

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// acks is an Acker over a set of acknowledged refs.
type acks struct {
	mu   sync.Mutex
	done map[string]bool
	err  error
	asks int
}

func (a *acks) Acknowledged(_ context.Context, ref Ref) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asks++
	return a.done[ref.String()], a.err
}

func (a *acks) ack(ref Ref) {
	a.mu.Lock()
	a.done[ref.String()] = true
	a.mu.Unlock()
}

const ladderRoutes = `routes:
  - {name: desk, explicit: true, webhooks: [soc]}
  - {name: lead, explicit: true, webhooks: [soc]}
  - {name: ciso, explicit: true, webhooks: [soc]}
  - {name: pref, explicit: true, webhooks: [soc], lang: en}
ladders:
  - name: incident
    steps:
      - {after: 0s, level: CSIRT窓口, route: desk}
      - {after: 30m, level: CSIRT責任者, route: lead}
      - {after: 1h, level: CISO, route: ciso}
      - {after: 2h, level: 都道府県, route: pref}
`

func levels(r *receiver) []string {
	var out []string
	for _, p := range r.payloads() {
		out = append(out, p.Data["level"].(string))
	}
	return out
}

// TestLadder: each level is told in turn while nobody acknowledges; the
// state survives a restart; acknowledgement stops it.
func TestLadder(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	dir := t.TempDir()
	a := &acks{done: map[string]bool{}}
	d := newDispatcher(t, hookConfig(t, dir, r, ladderRoutes), clk, a)
	m := sample(KindIncidentOpened)
	m.Ref = Ref{Kind: "incident", ID: "INC-7", Tenant: "kakuu-city"}
	if err := d.Escalate(t.Context(), "incident", m); err != nil {
		t.Fatal(err)
	}
	if err := d.Escalate(t.Context(), "incident", m); err != nil { // idempotent
		t.Fatal(err)
	}
	d.Process(t.Context())
	if got := levels(r); len(got) != 1 || got[0] != "CSIRT窓口" {
		t.Fatalf("step 1: %v", got)
	}
	clk.Advance(29 * time.Minute)
	d.Process(t.Context())
	if got := levels(r); len(got) != 1 {
		t.Fatalf("early: %v", got)
	}
	clk.Advance(time.Minute)
	d.Process(t.Context())
	if got := levels(r); len(got) != 2 || got[1] != "CSIRT責任者" {
		t.Fatalf("step 2: %v", got)
	}
	p := r.payloads()[1]
	if p.Kind != KindEscalation || p.Ref.ID != "INC-7" || p.Data["notified"] != "CSIRT窓口" || p.Data["elapsed_minutes"] != float64(30) {
		t.Errorf("escalation payload %+v", p.Data)
	}
	// Restart: the ladder resumes where it was, from disk.
	d.Close()
	d = newDispatcher(t, hookConfig(t, dir, r, ladderRoutes), clk, a)
	if st := d.Ladders(); len(st) != 1 || st[0].Fired != 2 {
		t.Fatalf("after restart %+v", st)
	}
	clk.Advance(30 * time.Minute)
	d.Process(t.Context())
	if got := levels(r); len(got) != 3 || got[2] != "CISO" {
		t.Fatalf("step 3: %v", got)
	}
	a.ack(m.Ref)
	clk.Advance(2 * time.Hour)
	d.Process(t.Context())
	if got := levels(r); len(got) != 3 {
		t.Fatalf("escalated after acknowledgement: %v", got)
	}
	if st := d.Ladders(); len(st) != 0 {
		t.Errorf("ladder kept after acknowledgement: %+v", st)
	}
	if l, _ := ListOutbox(dir); len(l.Ladders) != 0 {
		t.Errorf("ladder state left on disk")
	}
	if ct := d.Counters(); ct.Escalations != 1 { // since this dispatcher started
		t.Errorf("counters %+v", ct)
	}
}

// TestLadderCatchUp: after a long outage every overdue level is told, in
// order, and the ladder ends after the last one; an Acker error escalates.
func TestLadderCatchUp(t *testing.T) {
	clk := &clock{t: time.Now()}
	r := newReceiver(t, clk.Now)
	a := &acks{done: map[string]bool{}, err: errors.New("store down")}
	d := newDispatcher(t, hookConfig(t, t.TempDir(), r, ladderRoutes), clk, a)
	m := sample(KindAlert)
	if err := d.Escalate(t.Context(), "incident", m); err != nil {
		t.Fatal(err)
	}
	clk.Advance(3 * time.Hour)
	d.Process(t.Context())
	got := levels(r)
	if len(got) != 4 {
		t.Fatalf("levels %v", got)
	}
	seen := map[string]bool{}
	for _, l := range got {
		seen[l] = true
	}
	if !seen["CSIRT窓口"] || !seen["都道府県"] {
		t.Errorf("levels %v", got)
	}
	for _, p := range r.payloads() {
		if p.Data["level"] == "都道府県" && p.Lang != "en" {
			t.Errorf("pref route language %q", p.Lang)
		}
	}
	if len(d.Ladders()) != 0 {
		t.Error("ladder not finished after its last step")
	}
}

func TestLadderErrors(t *testing.T) {
	r := newReceiver(t, time.Now)
	c := hookConfig(t, t.TempDir(), r, ladderRoutes)
	d := newDispatcher(t, c, &clock{t: time.Now()}, nil)
	if err := d.Escalate(t.Context(), "incident", sample(KindAlert)); err == nil {
		t.Error("escalation without an Acker")
	}
	d.Close()
	d = newDispatcher(t, c, &clock{t: time.Now()}, AckerMux{"alert": AckerFunc(func(context.Context, Ref) (bool, error) { return true, nil })})
	if err := d.Escalate(t.Context(), "nope", sample(KindAlert)); err == nil {
		t.Error("unknown ladder")
	}
	noRef := sample(KindAlert)
	noRef.Ref = Ref{}
	if err := d.Escalate(t.Context(), "incident", noRef); err == nil {
		t.Error("escalation without a ref")
	}
	// Acknowledged before the first step: nobody is paged.
	if err := d.Escalate(t.Context(), "incident", sample(KindAlert)); err != nil {
		t.Fatal(err)
	}
	d.Process(t.Context())
	if len(r.payloads()) != 0 || len(d.Ladders()) != 0 {
		t.Errorf("paged although acknowledged: %d", len(r.payloads()))
	}
	if ok, err := (AckerMux{}).Acknowledged(t.Context(), Ref{Kind: "x"}); ok || err == nil {
		t.Error("mux without acker")
	}
}
