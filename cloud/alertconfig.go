package cloud

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/notify"
	"github.com/kyojin/kyojin/strictyaml"
)

// Duration is a time.Duration written as "10m", "1h".
type Duration struct{ time.Duration }

// UnmarshalText parses a positive Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil || v <= 0 {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("期間 %q を読めません", b), fmt.Sprintf("cannot read duration %q", b)),
			Hint: diag.T("10m、1h のように正の期間を書いてください", "write a positive duration such as 10m or 1h")}
	}
	d.Duration = v
	return nil
}

// IsPostgres tells whether db names a PostgreSQL database.
func IsPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// checkAlerts validates the alert storage settings: db, dedup_window,
// dedup_by and alert_queue.
func (c *Config) checkAlerts(base string, diags *diag.List) {
	if c.DB != "" && !IsPostgres(c.DB) && !filepath.IsAbs(c.DB) {
		c.DB = filepath.Join(base, c.DB)
	}
	if c.DedupWindow.Duration > 7*24*time.Hour {
		diags.Add(cfgErr(&c.Meta, "", "dedup_window", "dedup_window", "dedup_window は 7 日以内にしてください", "dedup_window must be at most 7 days"))
	}
	for _, f := range c.DedupBy {
		if !slices.Contains(DedupFields, f) {
			diags.Add(cfgErr(&c.Meta, "", "dedup_by", "dedup_by", "dedup_by に使えない項目: "+f, "dedup_by: unknown field "+f+" (one of "+strings.Join(DedupFields, ", ")+")"))
		}
	}
	if c.AlertQueue < 0 {
		diags.Add(cfgErr(&c.Meta, "", "alert_queue", "alert_queue", "alert_queue は正の数です", "alert_queue must be positive"))
	}
	c.checkNotify(base, diags)
	if c.DB != "" {
		return
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"dedup_window", c.DedupWindow.Duration > 0}, {"dedup_by", len(c.DedupBy) > 0}, {"alert_queue", c.AlertQueue > 0}, {"notify", c.Notify != ""}} {
		if !f.set {
			continue
		}
		diags.Add(cfgErr(&c.Meta, "", f.name, "db", "dedup_window, dedup_by, alert_queue, notify には db が必要です", "dedup_window, dedup_by, alert_queue and notify need db"))
		return
	}
}

// checkNotify loads the notification configuration named by notify; its
// problems are reported with the cloud configuration's, each with the
// notification file's own file:line.
func (c *Config) checkNotify(base string, diags *diag.List) {
	if c.Notify == "" {
		if c.NotifyLadder != "" {
			diags.Add(cfgErr(&c.Meta, "", "notify_ladder", "notify", "notify_ladder には notify が必要です", "notify_ladder needs notify"))
		}
		return
	}
	if !filepath.IsAbs(c.Notify) {
		c.Notify = filepath.Join(base, c.Notify)
	}
	nc, nd := notify.LoadConfig(c.Notify)
	diags.Append(nd)
	if nc == nil || nd.HasErrors() {
		diags.Add(cfgErr(&c.Meta, "", "notify", "notify", "通知設定にエラーがあります: "+c.Notify, "the notification configuration has errors: "+c.Notify+" (kyojin notify validate)"))
		return
	}
	c.NotifyConfig = nc
	if c.NotifyLadder != "" && !slices.ContainsFunc(nc.Ladders, func(l notify.LadderConfig) bool { return l.Name == c.NotifyLadder }) {
		diags.Add(cfgErr(&c.Meta, "", "notify_ladder", "notify_ladder", "通知設定にこのエスカレーションがありません: "+c.NotifyLadder, "no ladder "+c.NotifyLadder+" in "+c.Notify))
	}
}
