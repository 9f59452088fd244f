package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/cloud"
	"github.com/kyojin/kyojin/eventstore/pgevents"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/web"
)

// incidentService builds the console's incident handling. Evidence is
// sealed with data/evidence.key (created on first use, mode 0600), kept
// apart from the database like secret.key. Incidents are opened from the
// console's alert store (incident.StoreAlerts); notices go to notifier
// (package notify when the configuration names one, else the log);
// indicators are published to the threat-intelligence list when hub is
// set (configuration intel: or events:).
func incidentService(cfg *web.Config, s store.Store, al *audit.Log, log *slog.Logger, m *model.Model, cat *catalog.Catalog, hub *intel.Hub, notifier incident.Notifier) (*incident.Service, error) {
	sealer, err := incident.LoadKey(filepath.Join(cfg.Data, "evidence.key"))
	if err != nil {
		return nil, fmt.Errorf("evidence key: %w", err)
	}
	var models incident.ModelSource
	if m != nil && cfg.HomeTenant != "" {
		models = incident.SingleModel{Tenant: cfg.HomeTenant, M: m}
	}
	var pub incident.IndicatorPublisher
	if hub != nil {
		pub = incident.IntelPublisher{Hub: hub, Log: log}
	}
	return incident.New(incident.Options{Store: s, Audit: al, Sealer: sealer, Log: log, Models: models, Catalog: cat,
		Alerts: incident.StoreAlerts{Store: s}, Notify: notifier, Publisher: pub})
}

// consoleIntel opens the prefecture's threat-intelligence list the console
// publishes incident indicators to: the intel directory of the console
// configuration, or its events directory (the cloud's store, where
// kyojin cloud serve and kyojin cloud intel keep the list) when that is
// a directory — with events in PostgreSQL the list is beside the cloud's
// configuration (cloud.Config.FileDir), so intel must name it. nil when
// neither gives a directory: publishing is then off.
func consoleIntel(ctx context.Context, env *Env, cfg *web.Config) (*intel.Hub, error) {
	dir := cfg.Intel
	if ev, err := cloud.ResolveStore(cfg.Events); dir == "" && err == nil && !pgevents.IsDSN(ev) {
		dir = ev
	}
	if dir == "" {
		return nil, nil
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, &ExitError{Code: 2, Err: fmt.Errorf("intel: %w", err), Hint: "intel（既定は events）はクラウド設定の store を指定します"}
	}
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: intel.Path(dir)}, env.Log, nil)
	if err != nil {
		return nil, fmt.Errorf("intel: %w", err)
	}
	fmt.Fprintf(env.Stdout, "脅威情報リスト: %s\n", intel.Path(dir))
	return hub, nil
}

// notifyIncidentWarnings sends the incidents' SLA warnings every minute.
func notifyIncidentWarnings(ctx context.Context, svc *incident.Service, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := svc.NotifyWarnings(ctx); err != nil {
				log.Warn("incident SLA sweep failed", "err", err)
			} else if n > 0 {
				log.Info("incident SLA warnings sent", "n", n)
			}
		}
	}
}
