package cloud

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
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
	if c.DB != "" {
		return
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"dedup_window", c.DedupWindow.Duration > 0}, {"dedup_by", len(c.DedupBy) > 0}, {"alert_queue", c.AlertQueue > 0}} {
		if !f.set {
			continue
		}
		diags.Add(cfgErr(&c.Meta, "", f.name, "db", "dedup_window, dedup_by, alert_queue には db が必要です", "dedup_window, dedup_by and alert_queue need db"))
		return
	}
}
