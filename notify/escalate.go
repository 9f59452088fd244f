package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Acker is implemented by whatever tracks acknowledgement (alerts,
// incidents): true once someone took the matter in hand, which stops the
// ladder.
type Acker interface {
	Acknowledged(ctx context.Context, ref Ref) (bool, error)
}

// AckerFunc adapts a function to Acker.
type AckerFunc func(ctx context.Context, ref Ref) (bool, error)

// Acknowledged calls f.
func (f AckerFunc) Acknowledged(ctx context.Context, ref Ref) (bool, error) { return f(ctx, ref) }

// AckerMux routes by Ref.Kind ("alert", "incident"…) so that each package
// answers for its own objects.
type AckerMux map[string]Acker

// Acknowledged asks the Acker registered for ref.Kind.
func (m AckerMux) Acknowledged(ctx context.Context, ref Ref) (bool, error) {
	a, ok := m[ref.Kind]
	if !ok {
		return false, fmt.Errorf("notify: no acker for %q", ref.Kind)
	}
	return a.Acknowledged(ctx, ref)
}

// LadderState is one ladder in progress, persisted in ladder/KEY.json.
type LadderState struct {
	Key      string    `json:"key"`
	Ladder   string    `json:"ladder"`
	Ref      Ref       `json:"ref"`
	Message  Message   `json:"message"`
	Started  time.Time `json:"started"`
	Fired    int       `json:"fired"`    // steps already notified
	Notified []string  `json:"notified"` // their levels
}

func ladderKey(ladder string, ref Ref) string {
	h := sha256.Sum256([]byte(ladder + "\x00" + ref.String()))
	return hex.EncodeToString(h[:12])
}

// Escalate starts ladder for m.Ref (an alert or incident that needs
// acknowledgement). Steps fire from Process/Run as their delay passes, until
// the Acker says the ref is acknowledged or the last step has fired.
// Starting the same ladder for the same ref again does nothing.
func (d *Dispatcher) Escalate(ctx context.Context, ladder string, m Message) error {
	l, ok := d.ladders[ladder]
	if !ok {
		return fmt.Errorf("notify: no ladder %q", ladder)
	}
	if d.acker == nil {
		return fmt.Errorf("notify: escalation needs an Acker (Options.Acker)")
	}
	if m.Ref.ID == "" || m.Ref.Kind == "" {
		return fmt.Errorf("notify: escalation needs Message.Ref")
	}
	if err := d.prepare(&m); err != nil {
		return err
	}
	st := &LadderState{Key: ladderKey(l.Name, m.Ref), Ladder: l.Name, Ref: m.Ref, Message: m, Started: d.now()}
	d.ladderMu.Lock()
	defer d.ladderMu.Unlock()
	d.mu.Lock()
	_, exists := d.states[st.Key]
	d.mu.Unlock()
	if exists {
		return nil
	}
	if err := writeDurable(d.dir, dirLadder, st.Key+".json", st); err != nil {
		return fmt.Errorf("notify: escalation state: %w", err)
	}
	d.mu.Lock()
	d.states[st.Key] = st
	d.mu.Unlock()
	d.signal()
	return nil
}

// Ladders returns the ladders in progress.
func (d *Dispatcher) Ladders() []LadderState {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]LadderState, 0, len(d.states))
	for _, s := range d.states {
		out = append(out, *s)
	}
	return out
}

func (d *Dispatcher) tickLadders(ctx context.Context) {
	d.ladderMu.Lock()
	defer d.ladderMu.Unlock()
	now := d.now()
	d.mu.Lock()
	var due []*LadderState
	for _, st := range d.states {
		l := d.ladders[st.Ladder]
		if l == nil || st.Fired >= len(l.Steps) || !now.Before(st.Started.Add(l.Steps[st.Fired].After.D())) {
			due = append(due, st)
		}
	}
	d.mu.Unlock()
	for _, st := range due {
		if err := d.step(ctx, st, now); err != nil {
			d.log.Error("notify: escalation step failed; will retry", "ladder", st.Ladder, "ref", st.Ref.String(), "err", err)
		}
	}
}

func (d *Dispatcher) dropLadder(st *LadderState) error {
	if err := os.Remove(filepath.Join(d.dir, dirLadder, st.Key+".json")); err != nil && !os.IsNotExist(err) {
		return err
	}
	d.mu.Lock()
	delete(d.states, st.Key)
	d.mu.Unlock()
	return nil
}

func (d *Dispatcher) step(ctx context.Context, st *LadderState, now time.Time) error {
	l := d.ladders[st.Ladder]
	if l == nil {
		d.log.Warn("notify: ladder no longer configured; dropped", "ladder", st.Ladder, "ref", st.Ref.String())
		return d.dropLadder(st)
	}
	acked, err := d.acker.Acknowledged(ctx, st.Ref)
	if err != nil {
		// Fail towards telling people: an unknown state escalates.
		d.log.Warn("notify: acknowledgement unknown; escalating", "ref", st.Ref.String(), "err", err)
	}
	if acked {
		d.log.Info("notify: acknowledged; ladder stopped", "ladder", st.Ladder, "ref", st.Ref.String(), "steps", st.Fired)
		return d.dropLadder(st)
	}
	// Every level whose delay has passed is told, in order, even when a
	// restart let several fall due at once.
	for st.Fired < len(l.Steps) && !now.Before(st.Started.Add(l.Steps[st.Fired].After.D())) {
		s := l.Steps[st.Fired]
		m := st.Message
		m.Kind = KindEscalation
		data := map[string]any{}
		for k, v := range st.Message.Data {
			data[k] = v
		}
		data["level"] = s.Level
		data["step"] = st.Fired + 1
		data["steps"] = len(l.Steps)
		data["elapsed_minutes"] = int(now.Sub(st.Started).Minutes())
		if len(st.Notified) > 0 {
			data["notified"] = strings.Join(st.Notified, "、")
		}
		m.Data = data
		if _, err := d.SendTo(ctx, s.Route, m); err != nil {
			return err
		}
		st.Fired++
		st.Notified = append(st.Notified, s.Level)
		d.escalations.Add(1)
		if err := writeDurable(d.dir, dirLadder, st.Key+".json", st); err != nil {
			return err
		}
		d.log.Info("notify: escalated", "ladder", st.Ladder, "ref", st.Ref.String(), "level", s.Level, "step", st.Fired)
	}
	if st.Fired >= len(l.Steps) {
		d.log.Info("notify: last escalation level notified", "ladder", st.Ladder, "ref", st.Ref.String())
		return d.dropLadder(st)
	}
	return nil
}
