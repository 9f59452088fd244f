package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/kyojin/kyojin/cloud"
	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/web"
)

// cloudAlertStore opens (and migrates) the console's store named by the
// cloud configuration's db — a postgres:// URL or the console's data
// directory — and starts the alert sink writing into it. Alerts that the
// store cannot take go to FILEDIR/alerts-unstored.jsonl. With notify set,
// a notify.Dispatcher runs and every alert the sink opens is notified
// (cloudNotifier).
func cloudAlertStore(env *Env, cfg *cloud.Config) (*cloud.StoreSink, store.AlertStore, func(), error) {
	sf := storeFlags{data: cfg.DB}
	if cloud.IsPostgres(cfg.DB) {
		sf = storeFlags{db: cfg.DB}
	}
	st, err := sf.openMigrated(context.Background())
	if err != nil {
		return nil, nil, nil, err
	}
	fb, err := os.OpenFile(cfg.UnstoredAlertsPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	created, stopNotify, err := cloudNotifier(env, cfg, st)
	if err != nil {
		fb.Close()
		st.Close()
		return nil, nil, nil, err
	}
	sink := cloud.NewStoreSink(st, cloud.StoreSinkOptions{Window: cfg.DedupWindow.Duration, DedupBy: cfg.DedupBy,
		Queue: cfg.AlertQueue, Fallback: fb, Log: env.Log, Created: created})
	// The sink is closed (its last batch notified) before this runs.
	return sink, st, func() { stopNotify(); fb.Close(); st.Close() }, nil
}

// cloudNotifier starts the dispatcher of cfg.NotifyConfig (nil hook
// without one) and returns the StoreSink's Created hook; the returned stop
// notifies what is queued, then stops the dispatcher.
func cloudNotifier(env *Env, cfg *cloud.Config, st store.AlertStore) (func([]int64), func(), error) {
	if cfg.NotifyConfig == nil {
		return nil, func() {}, nil
	}
	d, err := notify.New(cfg.NotifyConfig, notify.Options{Log: env.Log, Acker: cloud.AlertAcker(st)})
	if err != nil {
		return nil, nil, fmt.Errorf("notify: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		if err := d.Run(ctx); err != nil && ctx.Err() == nil {
			env.Log.Error("notify: dispatcher stopped", "err", err)
		}
	}()
	an := cloud.NewAlertNotifier(st, d, cloud.AlertNotifierOptions{ConsoleURL: cfg.NotifyConfig.ConsoleURL, Ladder: cfg.NotifyLadder, Log: env.Log})
	fmt.Fprintf(env.Stderr, "アラートの通知: %s\n", cfg.Notify)
	return an.Created, func() {
		an.Close()
		n, e, lost := an.Counts()
		c := d.Counters()
		env.Log.Info("cloud: notifications", "alerts", n, "escalations", e, "lost", lost, "delivered", c.Delivered, "pending", c.Pending, "dead", c.Dead)
		cancel()
		<-ran
		d.Close()
	}, nil
}

// cloudAlertRetention applies the tenants' retention to the alerts of st
// and logs what it removed.
func cloudAlertRetention(env *Env, cfg *cloud.Config, st store.AlertStore) func(time.Time) {
	return func(now time.Time) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		removed, err := cfg.ApplyAlertRetention(ctx, st, now)
		if err != nil {
			env.Log.Error("cloud: alert retention", "err", err)
		}
		for tenant, n := range removed {
			if n > 0 {
				env.Log.Info("cloud: retention removed alerts", "tenant", tenant, "alerts", n)
			}
		}
	}
}

// cloudDBLabel names the alert store for the operator without the
// password a postgres URL may carry.
func cloudDBLabel(db string) string {
	if !cloud.IsPostgres(db) {
		return filepath.Join(db, "kyojin.db")
	}
	u, err := url.Parse(db)
	if err != nil {
		return "postgres"
	}
	return u.Redacted()
}

// consoleEvents opens the security cloud's event store named by the
// console configuration's events — the cloud's store directory or its
// postgres:// DSN ("env:NAME" reads $NAME, as in the cloud configuration)
// — for /events (nil when unset).
func consoleEvents(env *Env, cfg *web.Config) (web.EventSearcher, error) {
	if cfg.Events == "" {
		return nil, nil
	}
	loc, err := cloud.ResolveStore(cfg.Events)
	if err != nil {
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("events: %w", err)}
	}
	if !pgevents.IsDSN(loc) {
		if _, err := os.Stat(loc); err != nil {
			return nil, &ExitError{Code: 2, Err: fmt.Errorf("events: %w", err), Hint: "events はクラウド設定の store（イベントの保存先）を指定します"}
		}
	}
	st, err := (&cloud.Config{Store: loc}).OpenStore()
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	label := loc
	if pgevents.IsDSN(loc) {
		label = cloudDBLabel(loc)
	}
	fmt.Fprintf(env.Stdout, "イベントの保存先: %s\n", label)
	return st, nil
}
