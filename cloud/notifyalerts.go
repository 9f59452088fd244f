package cloud

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/store"
)

// Notifier is what AlertNotifier needs of a notify.Dispatcher.
type Notifier interface {
	EnqueueBatch(ctx context.Context, ms []notify.Message) (int, error)
	Escalate(ctx context.Context, ladder string, m notify.Message) error
}

// AlertNotifierOptions configure an AlertNotifier.
type AlertNotifierOptions struct {
	// ConsoleURL, when set, links each notification to the alert's page
	// (CONSOLE/alerts/ID).
	ConsoleURL string
	// Ladder, when set, is the escalation ladder started for every new
	// alert of level high or critical (guideline 1(9), 7.3: who is told
	// next when nobody acknowledges).
	Ladder string
	// Queue bounds the batches waiting to be notified; default 64.
	Queue int
	Log   *slog.Logger
}

// AlertNotifier turns the alerts a StoreSink opens into notifications
// (issue 8 §3 "sent by mail and webhook"). Its Created method is the
// StoreSinkOptions.Created hook: it only queues the batch of ids, and one
// goroutine reads the rows and enqueues one notify batch per stored batch,
// so the alert writer never waits for the outbox's fsync. Merged and
// suppressed hits never reach it: a dedup merge notifies nobody again.
type AlertNotifier struct {
	st   store.AlertStore
	n    Notifier
	o    AlertNotifierOptions
	ch   chan []int64
	done chan struct{}

	mu       sync.Mutex
	overflow []int64 // ids that found the queue full (Created)

	notified, escalated, lost atomic.Int64
}

// NewAlertNotifier starts the notifier; Close stops it after the queue.
func NewAlertNotifier(st store.AlertStore, n Notifier, o AlertNotifierOptions) *AlertNotifier {
	if o.Queue <= 0 {
		o.Queue = 64
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	o.ConsoleURL = strings.TrimRight(o.ConsoleURL, "/")
	a := &AlertNotifier{st: st, n: n, o: o, ch: make(chan []int64, o.Queue), done: make(chan struct{})}
	go a.run()
	return a
}

// maxOverflow bounds the alert ids held back while the queue is full
// (8 bytes each): beyond it notifications are lost, counted and logged.
const maxOverflow = 1 << 20

// Created queues the ids of newly created alerts without blocking. When
// the queue is full (the outbox is slower than a burst of alerts) the ids
// wait in an overflow list that the notifier takes up as soon as the
// queue drains; only beyond maxOverflow ids is a notification lost
// (counted and logged: the alerts are stored and shown in the console all
// the same).
func (a *AlertNotifier) Created(ids []int64) {
	select {
	case a.ch <- append([]int64(nil), ids...):
		return
	default:
	}
	a.mu.Lock()
	room := maxOverflow - len(a.overflow)
	take := min(room, len(ids))
	a.overflow = append(a.overflow, ids[:take]...)
	a.mu.Unlock()
	if lost := len(ids) - take; lost > 0 {
		if n := a.lost.Add(int64(lost)); n&(n-1) == 0 {
			a.o.Log.Warn("cloud: notification backlog full, alerts not notified", "alerts", lost, "lost", n)
		}
	}
	// wake the notifier if it is idle with an empty queue
	select {
	case a.ch <- nil:
	default:
	}
}

// takeOverflow returns and clears the held-back ids.
func (a *AlertNotifier) takeOverflow() []int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := a.overflow
	a.overflow = nil
	return ids
}

// Close notifies what is queued and held back, and stops. Created must
// not be called after Close.
func (a *AlertNotifier) Close() {
	close(a.ch)
	<-a.done
}

// Counts returns the alerts notified, the ladders started and the alerts
// not notified (backlog beyond maxOverflow, or the outbox failed).
func (a *AlertNotifier) Counts() (notified, escalated, lost int64) {
	return a.notified.Load(), a.escalated.Load(), a.lost.Load()
}

func (a *AlertNotifier) run() {
	defer close(a.done)
	for ids := range a.ch {
		if len(ids) > 0 {
			a.notify(ids)
		}
		// held-back ids go out once the queue has room again, in batches
		// of the outbox's size
		for over := a.takeOverflow(); len(over) > 0; over = over[min(len(over), overflowBatch):] {
			a.notify(over[:min(len(over), overflowBatch)])
		}
	}
	for over := a.takeOverflow(); len(over) > 0; over = over[min(len(over), overflowBatch):] {
		a.notify(over[:min(len(over), overflowBatch)])
	}
}

// overflowBatch is the most held-back alerts notified in one batch.
const overflowBatch = 256

// notify reads the alerts of one stored batch and enqueues them together.
func (a *AlertNotifier) notify(ids []int64) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	msgs := make([]notify.Message, 0, len(ids))
	var escalate []notify.Message
	for _, id := range ids {
		al, err := a.st.Alert(ctx, store.AllTenants, id)
		if err != nil {
			a.lost.Add(1)
			a.o.Log.Error("cloud: reading alert for notification", "alert", id, "err", err)
			continue
		}
		m := a.message(al)
		msgs = append(msgs, m)
		if a.o.Ladder != "" && m.Severity >= notify.SevHigh {
			escalate = append(escalate, m)
		}
	}
	if len(msgs) == 0 {
		return
	}
	if _, err := a.n.EnqueueBatch(ctx, msgs); err != nil {
		a.lost.Add(int64(len(msgs)))
		a.o.Log.Error("cloud: notifying alerts", "alerts", len(msgs), "err", err)
	} else {
		a.notified.Add(int64(len(msgs)))
	}
	for _, m := range escalate {
		if err := a.n.Escalate(ctx, a.o.Ladder, m); err != nil {
			a.o.Log.Error("cloud: starting escalation", "alert", m.Ref.ID, "ladder", a.o.Ladder, "err", err)
			continue
		}
		a.escalated.Add(1)
	}
}

// message describes a stored alert for notify; the rule's credit is the
// author line the Detection Rule License asks for.
func (a *AlertNotifier) message(al *store.Alert) notify.Message {
	sev, err := notify.ParseSeverity(al.Level)
	if err != nil {
		sev = notify.SevMedium // an unknown level is neither ignored nor inflated
	}
	id := strconv.FormatInt(al.ID, 10)
	link := ""
	if a.o.ConsoleURL != "" {
		link = a.o.ConsoleURL + "/alerts/" + id
	}
	title := al.Title
	if title == "" {
		title = al.Rule
	}
	summary := al.Rule
	if len(al.Events) > 0 {
		summary = al.Events[0].Raw
	}
	return notify.Alert{ID: id, Tenant: al.Tenant, Severity: sev, Rule: title, RuleAuthor: al.Credit,
		Host: al.Host, Summary: summary, Events: int(al.Count), Link: link, Time: al.FirstSeen}.Message()
}

// AlertAcker tells notify's escalation ladders whether an alert was
// handled: acknowledged, closed or suppressed in the console stops the
// ladder; an alert no longer stored (retention) has nothing to escalate.
func AlertAcker(st store.AlertStore) notify.Acker {
	return notify.AckerFunc(func(ctx context.Context, ref notify.Ref) (bool, error) {
		id, err := strconv.ParseInt(ref.ID, 10, 64)
		if err != nil {
			return true, nil
		}
		al, err := st.Alert(ctx, store.OneTenant(ref.Tenant), id)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		return al.Status != store.AlertNew, nil
	})
}
