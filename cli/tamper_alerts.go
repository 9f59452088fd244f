package cli

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/cloud"
	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/tamper"
)

// tamperDedupWindow is how long repeated reports of one path or URL stay
// one alert (the cloud's default dedup_window).
const tamperDedupWindow = 10 * time.Minute

// tamperAlerts raises tamper changes as console alerts (issue 9 §2: changes
// raise alerts that can open incidents) and, when a dispatcher is given,
// as "tamper" notifications. Either may be nil.
type tamperAlerts struct {
	st         store.AlertStore
	d          *notify.Dispatcher
	consoleURL string
	now        func() time.Time
}

// alert is the store's form of a change: one alert per site and path or
// URL within the window; the change itself (details, hashes before and
// after, restore action) is the alert's event.
func tamperAlert(c tamper.Change) (store.Alert, error) {
	raw, err := json.Marshal(c)
	if err != nil {
		return store.Alert{}, fmt.Errorf("encode change: %w", err)
	}
	return store.Alert{Tenant: c.Tenant, Rule: c.Rule(), Title: c.Title("ja"), Level: c.Severity, Source: "tamper",
		Credit: "kyojin tamper", DedupKey: c.Site + "|" + cmp.Or(c.Path, c.URL),
		Events: []store.AlertEvent{{Time: c.Time, Source: "tamper/" + c.Detector, Host: c.Site, Raw: string(raw)}}}, nil
}

// Raise implements tamper.Alerter. A change the store cannot take is an
// error (the monitor logs it; the JSON line is already written); a failed
// notification is only logged by the dispatcher's retries.
func (t *tamperAlerts) Raise(ctx context.Context, c tamper.Change) error {
	ref, isNew := c.Site+"|"+cmp.Or(c.Path, c.URL), true
	var link string
	if t.st != nil {
		a, err := tamperAlert(c)
		if err != nil {
			return err
		}
		stats, err := store.RaiseAlert(ctx, t.st, a, tamperDedupWindow, t.now().UTC())
		if err != nil {
			return fmt.Errorf("raise tamper alert: %w", err)
		}
		// A change merged into an open alert was already notified.
		isNew = stats.Created > 0
		if isNew && len(stats.CreatedIDs) > 0 {
			ref = strconv.FormatInt(stats.CreatedIDs[0], 10)
			if t.consoleURL != "" {
				link = strings.TrimSuffix(t.consoleURL, "/") + "/alerts/" + url.PathEscape(ref)
			}
		}
	}
	if t.d == nil || !isNew {
		return nil
	}
	sev, err := notify.ParseSeverity(c.Severity)
	if err != nil {
		sev = notify.SevHigh
	}
	restored := c.Restored != "" && !strings.HasPrefix(c.Restored, "failed")
	_, err = t.d.Enqueue(ctx, notify.Tamper{ID: ref, Tenant: c.Tenant, Severity: sev, Site: c.Tenant + "/" + c.Site, URL: cmp.Or(c.URL, c.Path),
		Change: c.Title("ja"), Detail: c.Details, Restored: restored, Link: link, Time: c.Time}.Message())
	if err != nil {
		return fmt.Errorf("notify tamper change: %w", err)
	}
	return nil
}

// fanout raises each change with every alerter, in order, and joins
// their errors: one failing sink does not stop the others.
type fanout []tamper.Alerter

func (f fanout) Raise(ctx context.Context, c tamper.Change) error {
	var errs []error
	for _, a := range f {
		if err := a.Raise(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// openTamperStore opens the console's store named like the cloud
// configuration's db: a postgres:// URL or the console's data directory.
func openTamperStore(ctx context.Context, db string) (store.Store, error) {
	sf := storeFlags{data: db}
	if cloud.IsPostgres(db) {
		sf = storeFlags{db: db}
	}
	st, err := sf.openMigrated(ctx)
	if err != nil {
		return nil, fmt.Errorf("alert store: %w", err)
	}
	return st, nil
}
