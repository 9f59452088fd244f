package cli

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/sqlite"
)

// The demo's security cloud: every demo log line is parsed and stored, and
// each model-generated rule fires once on the example city.
func TestSeedDemoCloud(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(filepath.Join(dir, "kyojin.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	m, d := model.Load("../examples/kakuu-city")
	if m == nil {
		t.Fatal(d.Err())
	}
	now := time.Now()
	n, err := seedDemoCloud(ctx, nil, st, m, filepath.Join(dir, "events"), now)
	if err != nil {
		t.Fatal(err)
	}
	alerts, _, err := st.ListAlerts(ctx, store.AlertFilter{Tenants: store.OneTenant(demoTenant), Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range alerts {
		got = append(got, a.Rule+" "+a.Level)
	}
	slices.Sort(got)
	want := []string{"MODEL-LG-COMM-PORT low", "MODEL-LG-DIRECT high", "MODEL-MAIL-UNSANITIZED critical", "MODEL-MN-COMM-PORT high", "MODEL-MN-SEEN critical"}
	if !slices.Equal(got, want) || n != int64(len(want)) {
		t.Errorf("alerts %v (created %d), want %v", got, n, want)
	}
	es, err := eventstore.Open(filepath.Join(dir, "events"))
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	var events, failed int
	err = es.Search(eventstore.Query{Tenant: demoTenant, From: now.Add(-time.Hour)}, func(ev *event.Event) bool {
		events++
		if ev.Failed() {
			failed++
		}
		return true
	})
	if err != nil || events != len(demoLogs) || failed != 0 {
		t.Errorf("events stored %d (failed %d), want %d: %v", events, failed, len(demoLogs), err)
	}
}
